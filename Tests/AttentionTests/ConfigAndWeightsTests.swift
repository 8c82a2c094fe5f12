// Configuration validation, weight interchange through safetensors, and the layer I/O
// behind `attnlab forward`.

import Attention
import Foundation
import NN
import Testing
import TensorCore
import TestSupport

@Suite("Configuration and weights")
struct ConfigAndWeightsTests {
    /// Each impossible configuration names its field and value.
    @Test(arguments: [
        (Variant.gqa, AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 3, headDim: 4), "num_key_value_heads = 3"),
        (Variant.gqa, AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 0, headDim: 4), "num_key_value_heads = 0"),
        (Variant.mha, AttentionConfig(hiddenSize: 15, numHeads: 3, headDim: 5), "head_dim = 5"),
        (Variant.mha, AttentionConfig(hiddenSize: 16, numHeads: 0, headDim: 4), "num_attention_heads = 0"),
        (Variant.swa, AttentionConfig(hiddenSize: 16, numHeads: 4, headDim: 4, slidingWindow: 0), "sliding_window = 0"),
        (Variant.swa, AttentionConfig(hiddenSize: 16, numHeads: 4, headDim: 4), "sliding_window = absent"),
        (Variant.linear, AttentionConfig(hiddenSize: 16, numHeads: 4, headDim: 4, linearFeatureDim: 0), "linear_feature_dim = 0"),
        (Variant.mla, AttentionConfig(hiddenSize: 16, numHeads: 4, headDim: 4, kvLoraRank: 0), "kv_lora_rank = 0"),
        (Variant.mla, AttentionConfig(hiddenSize: 16, numHeads: 4, headDim: 4, qkRopeHeadDim: 3), "qk_rope_head_dim = 3"),
        (Variant.mla, AttentionConfig(hiddenSize: 16, numHeads: 4, headDim: 4, qLoraRank: -1), "q_lora_rank = -1"),
    ])
    func impossibleConfigsAreRejected(_ v: Variant, _ config: AttentionConfig, _ named: String) {
        var rng = Xoshiro256StarStar(seed: 0)
        do {
            _ = try v.make(config: config, rng: &rng)
            Issue.record("\(v) accepted an impossible config (\(named))")
        } catch {
            #expect("\(error)".contains(named), "message '\(error)' does not name \(named)")
        }
    }

    @Test func divisorsAreListedForKVHeads() {
        var rng = Xoshiro256StarStar(seed: 0)
        let e = #expect(throws: AttentionConfigError.self) {
            _ = try Variant.gqa.make(config: AttentionConfig(hiddenSize: 24, numHeads: 6, numKVHeads: 4, headDim: 4), rng: &rng)
        }
        #expect(e?.description.contains("valid: 1, 2, 3, 6") == true)
    }

    /// The divisor list of the message, against trial division up to n.
    @Test func divisorListsAreComplete() {
        for n in 1...72 {
            let config = AttentionConfig(hiddenSize: 2 * n, numHeads: n, numKVHeads: 0, headDim: 2)
            let e = #expect(throws: AttentionConfigError.self) { _ = try Variant.gqa.resolve(config) }
            let expected = (1...n).filter { n % $0 == 0 }.map(String.init).joined(separator: ", ")
            #expect(e?.reason.hasSuffix("valid: \(expected)") == true, "\(n): \(e.map(String.init(describing:)) ?? "")")
        }
    }

    /// Fuzzing regression (docs/reliability.md): 6,655,362 heads with num_key_value_heads 0
    /// took 15 s, listing the divisors by trial division up to n. Now up to √n: the largest
    /// head count a config may give, 2^24, is answered at once.
    @Test func fuzzSlowUnitDivisorsAreQuick() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/attention-config")
        let config = try LayerIO.readConfig(path: corpus.appendingPathComponent("slow-unit-79d9744a0d1bd191e6ab9c9a8f3e06c9464c9097").path)
        let start = Date()
        for heads in [config.numHeads, 1 << 24] {
            var c = config
            c.numHeads = heads
            let e = #expect(throws: AttentionConfigError.self) { _ = try Variant.gqa.resolve(c) }
            #expect(e?.field == "num_key_value_heads")
        }
        #expect(Date().timeIntervalSince(start) < 1, "divisor lists took \(Date().timeIntervalSince(start)) s")
    }

    @Test func unknownVariantListsValidIds() {
        let e = #expect(throws: UnknownVariant.self) { try Variant.parse("flash") }
        #expect(e?.description == "unknown attention variant 'flash'; valid: " + Variant.allCases.map(\.rawValue).joined(separator: ", "))
        #expect(e?.description.contains("mha, gqa") == true)
    }

    @Test func configJSONUsesHFNamesAndDefaults() throws {
        let json = #"{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "rope_theta": 500000, "rope_pairing": "interleaved"}"#
        let c = try JSONDecoder().decode(AttentionConfig.self, from: Data(json.utf8))
        #expect(c.headDim == 16 && c.numKVHeads == 2 && c.ropeTheta == 500000 && c.ropePairing == .interleaved)
        #expect(c.kvLoraRank == 64 && c.qkRopeHeadDim == 8)  // DeepSeek-V2 proportions 4·D, D/2
        let indivisible = #"{"hidden_size": 30, "num_attention_heads": 4}"#
        #expect(throws: AttentionConfigError.self) { try JSONDecoder().decode(AttentionConfig.self, from: Data(indivisible.utf8)) }
    }

    /// Fuzzing regression (docs/reliability.md): hidden_size 2^61 with one head and no
    /// kv_lora_rank made the default d_c = 4·D overflow while decoding. Every integer field
    /// is now bounded by ±2^24 at decode time, with an error naming the field and value.
    @Test func fuzzCrashHugeWidthIsAnError() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/attention-config")
        let path = corpus.appendingPathComponent("crash-b52c1bb512848797dc288364bba94cdf1f0f8f3b").path
        let e = #expect(throws: LayerIOError.self) { try LayerIO.readConfig(path: path) }
        #expect(e?.description.contains("hidden_size = 2305843009213693952") == true, "\(e.map(String.init(describing:)) ?? "")")
        #expect(e?.description.contains("±16777216") == true)
    }

    /// Each integer field beyond ±2^24 is named with its value; 2^24 itself is read.
    @Test(arguments: ["hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "sliding_window",
                      "attention_sinks", "linear_feature_dim", "kv_lora_rank", "q_lora_rank", "qk_nope_head_dim",
                      "qk_rope_head_dim", "v_head_dim"])
    func integerFieldsAreBounded(_ field: String) throws {
        func decode(_ value: Int) throws -> AttentionConfig {
            var object: [String: Any] = ["hidden_size": 64, "num_attention_heads": 4, "head_dim": 16]
            object[field] = value
            return try LayerIO.decodeConfig(JSONSerialization.data(withJSONObject: object), path: "c.json")
        }
        for bad in [(1 << 24) + 1, -(1 << 24) - 1, Int.max, Int.min] {
            let e = #expect(throws: LayerIOError.self) { try decode(bad) }
            #expect(e?.description.contains("\(field) = \(bad)") == true, "\(e.map(String.init(describing:)) ?? "")")
        }
        _ = try decode(1 << 24)
    }

    @Test(arguments: allCases)
    func weightsRoundTripThroughSafetensors(_ c: Case) throws {
        let a = try c.make(seed: 30), b = try c.make(seed: 31)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-w-\(c.testDescription).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try a.weightsFile().write(to: path)
        try b.loadWeights(from: SafeTensorsFile.read(from: path))
        let x = randomX(1, 5, tiny.hiddenSize, seed: 32)
        #expect(a.forward(x).data == b.forward(x).data)
    }

    @Test func missingOrMisshapedWeightsAreNamed() throws {
        var rng = Xoshiro256StarStar(seed: 33)
        let m = try Variant.gqa.make(config: tiny, rng: &rng)
        var tensors = m.namedParameters.filter { $0.name != "k_proj.weight" }
        let missing = try SafeTensorsFile(tensors: tensors)
        let e1 = #expect(throws: SafeTensorsError.self) { try m.loadWeights(from: missing) }
        #expect("\(e1!)".contains("k_proj.weight"))
        tensors.append((name: "k_proj.weight", tensor: Tensor.zeros([16, 16])))
        let misshaped = try SafeTensorsFile(tensors: tensors)
        let before = m.parameters.map(\.data)
        let e2 = #expect(throws: SafeTensorsError.self) { try m.loadWeights(from: misshaped) }
        #expect("\(e2!)".contains("k_proj.weight") && "\(e2!)".contains("[8, 16]"))
        #expect(m.parameters.map(\.data) == before, "a failed load must not modify any parameter")
    }

    @Test func hfParameterNames() throws {
        var rng = Xoshiro256StarStar(seed: 34)
        let names = { (v: Variant, q: Int) -> [String] in
            var c = tiny
            c.qLoraRank = q
            return try v.make(config: c, rng: &rng).namedParameters.map(\.name)
        }
        #expect(try names(.gqa, 0) == ["q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight"])
        #expect(try names(.linear, 0) == ["q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight"])
        #expect(try names(.mla, 0) == ["q_proj.weight", "kv_a_proj_with_mqa.weight", "kv_a_layernorm.weight",
                                       "kv_b_proj.weight", "o_proj.weight"])
        #expect(try names(.mla, 6) == ["q_a_proj.weight", "q_a_layernorm.weight", "q_b_proj.weight", "kv_a_proj_with_mqa.weight",
                                       "kv_a_layernorm.weight", "kv_b_proj.weight", "o_proj.weight"])
        let mla = try Variant.mla.make(config: tiny, rng: &rng)
        let shapes = Dictionary(uniqueKeysWithValues: mla.namedParameters.map { ($0.name, $0.tensor.shape) })
        #expect(shapes["kv_a_proj_with_mqa.weight"] == [8 + 2, 16])      // [d_c + d_R, C]
        #expect(shapes["kv_b_proj.weight"] == [4 * (4 + 4), 8])           // [H·(d_nope + d_v), d_c]
        #expect(shapes["q_proj.weight"] == [4 * (4 + 2), 16])             // [H·(d_nope + d_R), C]
    }

    @Test(arguments: allCases)
    func layerIOWritesForwardAndDecode(_ c: Case) throws {
        let m = try c.make(seed: 35)
        let x = randomX(2, 6, tiny.hiddenSize, seed: 36)
        let file = try LayerIO.run(m, input: x, decode: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-io-\(c.testDescription)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try file.write(to: dir.appendingPathComponent("y.safetensors").path)
        let back = try SafeTensorsFile.read(from: dir.appendingPathComponent("y.safetensors").path)
        let y = try back.tensor(named: "y", expectedShape: [2, 6, tiny.hiddenSize])
        let yd = try back.tensor(named: "y_decode", expectedShape: [2, 6, tiny.hiddenSize])
        #expect(y.data == Autograd.inference { m.forward(x) }.data)
        #expect(relativeError(yd.data, y.data) <= 1e-4)
        #expect(back.metadata["variant"] == m.variant.rawValue)
    }
}
