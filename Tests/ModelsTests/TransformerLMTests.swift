import Attention
import Models
import NN
import Testing
import TensorCore
import TestSupport

func tinyModel(_ variants: [Variant], mlp: Int = 24, tied: Bool = false, seed: UInt64 = 1) throws -> TransformerLM {
    let attention = AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4, slidingWindow: 3,
                                    linearFeatureDim: 4, kvLoraRank: 8, qkNopeHeadDim: 4, qkRopeHeadDim: 2, vHeadDim: 4)
    var rng = Xoshiro256StarStar(seed: seed)
    return try TransformerLM(config: ModelConfig(vocabSize: 23, attention: attention, layerVariants: variants,
                                                 mlpHidden: mlp, tiedEmbeddings: tied), rng: &rng)
}

func randomIDs(_ n: Int, vocab: Int, seed: UInt64) -> [Int] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<n).map { _ in rng.nextInt(below: vocab) }
}

@Suite("Transformer LM")
struct TransformerLMTests {
    /// Every variant, and a Gemma-like pattern (sliding window with a full layer every 2nd).
    static let patterns: [[Variant]] = Variant.allCases.map { [$0, $0] }
        + [ModelConfig.pattern(layers: 3, local: .swa, global: .mha, every: 2)]

    @Test(arguments: patterns, [false, true])
    func cachedGenerationEqualsFullForward(_ variants: [Variant], tied: Bool) throws {
        let m = try tinyModel(variants, tied: tied)
        let b = 2, t = 11
        let ids = randomIDs(b * t, vocab: 23, seed: 2)
        let full = Autograd.inference { m.logits(ids: ids, batch: b, length: t) }  // [B, T, V]
        let caches = m.makeCaches(batch: b, capacity: t)
        let prompt = 4
        func columns(_ r: Range<Int>) -> [Int] { (0..<b).flatMap { bi in r.map { ids[bi * t + $0] } } }
        var parts = [m.step(ids: columns(0..<prompt), batch: b, length: prompt, caches: caches)]
        for i in prompt..<t { parts.append(m.step(ids: columns(i..<(i + 1)), batch: b, length: 1, caches: caches)) }
        let stepped = Tensor.concat(parts, axis: 1)
        var num: Float = 0, den: Float = 0
        for i in 0..<full.count { num = max(num, abs(stepped.data[i] - full.data[i])); den = max(den, abs(full.data[i])) }
        #expect(num / den <= 1e-4, "\(variants) tied=\(tied): relative error \(num / den)")
    }

    @Test func greedyGenerationMatchesArgmaxOfFullForward() throws {
        let m = try tinyModel([.mla, .gqa])
        let prompt = randomIDs(5, vocab: 23, seed: 3)
        let generated = m.generate(prompt: prompt, batch: 1, count: 6)
        // Re-run the whole sequence without a cache: each generated token is the argmax there.
        let seq = prompt + generated
        let logits = Autograd.inference { m.logits(ids: seq, batch: 1, length: seq.count) }
        let argmax = argmaxRows(logits.reshaped([seq.count, -1]))
        #expect(Array(argmax[4..<(seq.count - 1)]) == generated)
    }

    @Test func lossOnScoredPositionsEqualsFullLogitsLoss() throws {
        let m = try tinyModel([.gqa, .gqa])
        let b = 2, t = 7
        let ids = randomIDs(b * t, vocab: 23, seed: 4)
        var targets = [Int](repeating: -100, count: b * t)
        targets[3] = 5; targets[6] = 9; targets[7 + 2] = 1
        let (loss, predictions, scored) = m.loss(ids: ids, targets: targets, batch: b, length: t)
        let full = Tensor.crossEntropy(logits: m.logits(ids: ids, batch: b, length: t).reshaped([b * t, -1]), targets: targets)
        #expect(abs(loss.item() - full.item()) < 1e-5)
        #expect(scored == [5, 9, 1] && predictions.count == 3)
        // Training skips the argmax: same loss, bit for bit, no predictions.
        let (trainLoss, none, scoredAgain) = m.loss(ids: ids, targets: targets, batch: b, length: t, predictions: false)
        #expect(trainLoss.item().bitPattern == loss.item().bitPattern && none.isEmpty && scoredAgain == scored)
    }

    @Test(arguments: [[Variant.mha, .mha], [.linear, .mla]])
    func lossGradientsMatchFiniteDifferences(_ variants: [Variant]) throws {
        let m = try tinyModel(variants, mlp: 8)
        let b = 1, t = 5
        let ids = randomIDs(b * t, vocab: 23, seed: 5)
        let targets = [-100, 3, -100, 7, 11]
        let r = gradCheck("lm loss \(variants)", inputs: m.parameters, eps: 1e-2, atol: 3e-3, rtol: 2e-2, maxCoordinates: 12) { _ in
            m.loss(ids: ids, targets: targets, batch: b, length: t).loss
        }
        #expect(r.ok, "\(r)")
    }

    @Test func namesCountsAndCacheBytes() throws {
        let m = try tinyModel([.mla, .swa], mlp: 24, tied: true)
        let names = m.namedParameters.map(\.name)
        #expect(names.first == "model.embed_tokens.weight")
        #expect(names.contains("model.layers.0.self_attn.kv_b_proj.weight"))
        #expect(names.contains("model.layers.1.mlp.down_proj.weight"))
        #expect(names.contains("model.layers.1.post_attention_layernorm.weight"))
        #expect(names.last == "model.norm.weight")  // tied: no lm_head
        #expect(try tinyModel([.gqa], tied: false).namedParameters.last?.name == "lm_head.weight")
        // Counted by hand (C 16, V 23, H 4, MLP 24, tied head):
        let embedding = 23 * 16
        let mlaLayer = 16 + 24 * 16 + 10 * 16 + 8 + 32 * 8 + 16 * 16   // norm, q_proj, kv_a, kv_a_norm, kv_b, o_proj
        let swaLayer = 16 + 16 * 16 + 8 * 16 + 8 * 16 + 16 * 16        // norm, q, k, v (G 2 × D 4), o
        let mlpBlock = 16 + 3 * 16 * 24                                // post-attention norm, gate/up/down
        #expect(m.parameterCount == embedding + mlaLayer + swaLayer + 2 * mlpBlock + 16)  // + final norm
        // Per token: MLA's d_c + d_R = 10 elements plus the window layer's 2·G·D = 16.
        #expect(m.kvBytesPerToken == (10 + 2 * 2 * 4) * 4)
        let noMLP = try tinyModel([.gqa], mlp: 0)
        #expect(!noMLP.namedParameters.map(\.name).contains { $0.contains("mlp") })
    }

    @Test func invalidModelConfigsAreRejected() throws {
        #expect(throws: ModelConfigError.self) { try tinyModel([]) }
        #expect(throws: ModelConfigError.self) { try tinyModel([.gqa], mlp: -1) }
        #expect(ModelConfig.pattern(layers: 6, local: .swa, global: .mha, every: 3) == [.swa, .swa, .mha, .swa, .swa, .mha])
    }
}
