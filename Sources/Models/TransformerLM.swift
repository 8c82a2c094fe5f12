// A tiny decoder-only transformer (Llama-style pre-norm) around any attention mechanism:
//
//   h = embed(ids)
//   per block:  h = h + attn(RMSNorm(h));  h = h + SwiGLU(RMSNorm(h))   (MLP optional)
//   logits = lm_head(RMSNorm(h))                                        (tied or untied)
//
// Parameter names follow HF Llama (`model.layers.0.self_attn.q_proj.weight`, ...).
// Training scores only some positions (the MQAR answers, the passkey), so the loss
// gathers those rows before the final norm and the LM head: with a large vocabulary
// the head at every position would dominate the cost without changing the gradient.

import Attention
import NN
import TensorCore

public final class Block: Module {
    public let inputNorm: RMSNorm
    public let attention: any AttentionMechanism
    public let postAttentionNorm: RMSNorm?
    public let mlp: SwiGLU?

    init(config: ModelConfig, variant: Variant, rng: inout Xoshiro256StarStar) throws {
        let c = config.attention.hiddenSize
        inputNorm = RMSNorm(dim: c, eps: config.normEps)
        attention = try variant.make(config: config.attention, rng: &rng)
        if config.mlpHidden > 0 {
            postAttentionNorm = RMSNorm(dim: c, eps: config.normEps)
            mlp = SwiGLU(dim: c, hidden: config.mlpHidden, rng: &rng)
        } else {
            postAttentionNorm = nil
            mlp = nil
        }
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var ps = prefixed("input_layernorm", inputNorm) + prefixed("self_attn", attention)
        if let postAttentionNorm, let mlp { ps += prefixed("post_attention_layernorm", postAttentionNorm) + prefixed("mlp", mlp) }
        return ps
    }

    /// x: [B, T, C]; `cache` nil = training forward, otherwise an inference step.
    func callAsFunction(_ x: Tensor, cache: AttentionCache?) -> Tensor {
        let normed = inputNorm(x)
        let attended = cache.map { attention.step(normed, cache: $0) } ?? attention.forward(normed)
        var h = x + attended
        if let postAttentionNorm, let mlp { h = h + mlp(postAttentionNorm(h)) }
        return h
    }
}

public final class TransformerLM: Module {
    public let config: ModelConfig
    public let embedding: Embedding      // [V, C]
    public let blocks: [Block]
    public let finalNorm: RMSNorm
    public let lmHead: Linear?           // [V, C]; nil when tied

    public init(config: ModelConfig, rng: inout Xoshiro256StarStar) throws {
        try config.validate()
        self.config = config
        let c = config.attention.hiddenSize
        embedding = Embedding(vocab: config.vocabSize, dim: c, std: config.embeddingStd, rng: &rng)
        var blocks: [Block] = []
        for v in config.layerVariants { blocks.append(try Block(config: config, variant: v, rng: &rng)) }
        self.blocks = blocks
        finalNorm = RMSNorm(dim: c, eps: config.normEps)
        lmHead = config.tiedEmbeddings ? nil : Linear(inFeatures: c, outFeatures: config.vocabSize, rng: &rng)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var ps = prefixed("model.embed_tokens", embedding)
        for (i, b) in blocks.enumerated() { ps += prefixed("model.layers.\(i)", b) }
        ps += prefixed("model.norm", finalNorm)
        if let lmHead { ps += prefixed("lm_head", lmHead) }
        return ps
    }

    /// The residual stream after the last block, [B, T, C].
    public func hidden(ids: [Int], batch: Int, length: Int, caches: [AttentionCache]? = nil) -> Tensor {
        precondition(ids.count == batch * length, "\(ids.count) ids for batch \(batch) × length \(length)")
        var h = embedding(ids, shape: [batch, length])
        for (i, block) in blocks.enumerated() { h = block(h, cache: caches?[i]) }
        return h
    }

    /// Logits of hidden rows [N, C] → [N, V].
    public func head(_ rows: Tensor) -> Tensor {
        let normed = finalNorm(rows)
        if let lmHead { return lmHead(normed) }
        return Tensor.matmul(normed, embedding.weight, transposeB: true)
    }

    /// Logits at every position, [B, T, V].
    public func logits(ids: [Int], batch: Int, length: Int) -> Tensor {
        head(hidden(ids: ids, batch: batch, length: length))
    }

    /// Mean cross-entropy over the scored positions (targets ≠ ignoreLabel) and the
    /// model's argmax predictions there, in position order. Training passes
    /// `predictions: false`: the argmax over the vocabulary of every scored row is then
    /// skipped and `predictions` is empty.
    public func loss(ids: [Int], targets: [Int], batch: Int, length: Int, ignoreLabel: Int = -100, predictions: Bool = true)
        -> (loss: Tensor, predictions: [Int], scoredTargets: [Int]) {
        let h = hidden(ids: ids, batch: batch, length: length).reshaped([batch * length, config.attention.hiddenSize])
        let scored = targets.indices.filter { targets[$0] != ignoreLabel }
        let rows = Tensor.embedding(h, ids: scored)                    // [N, C]: gathers rows; backward scatter-adds
        let logits = head(rows)                                        // [N, V]
        let scoredTargets = scored.map { targets[$0] }
        let loss = Tensor.crossEntropy(logits: logits, targets: scoredTargets)
        return (loss, predictions ? argmaxRows(logits) : [], scoredTargets)
    }

    /// One cache per layer for generation.
    public func makeCaches(batch: Int, capacity: Int) -> [AttentionCache] {
        blocks.map { $0.attention.makeCache(batch: batch, capacity: capacity) }
    }

    /// Runs new tokens [B, T] through the caches (prefill when T > 1, decode when T = 1)
    /// and returns their logits [B, T, V]. Records no graph.
    public func step(ids: [Int], batch: Int, length: Int, caches: [AttentionCache]) -> Tensor {
        Autograd.inference { head(hidden(ids: ids, batch: batch, length: length, caches: caches)) }
    }

    /// Greedy generation: prefill the prompt [B, P], then `count` decode steps.
    public func generate(prompt: [Int], batch: Int, count: Int) -> [Int] {
        let p = prompt.count / batch
        let caches = makeCaches(batch: batch, capacity: p + count)
        var next = argmaxRows(step(ids: prompt, batch: batch, length: p, caches: caches).slice(axis: 1, (p - 1)..<p).reshaped([batch, -1]))
        var out: [[Int]] = Array(repeating: [], count: batch)
        for i in 0..<count {
            for b in 0..<batch { out[b].append(next[b]) }
            if i == count - 1 { break }
            next = argmaxRows(step(ids: next, batch: batch, length: 1, caches: caches).reshaped([batch, -1]))
        }
        return out.flatMap { $0 }
    }

    /// Cached bytes per token summed over layers (Float32): each layer's
    /// kvElementsPerToken × 4. A sliding-window layer counts its per-token cost (it stops
    /// growing after w tokens); a fixed-state layer (linear attention) counts 0.
    public var kvBytesPerToken: Int { blocks.reduce(0) { $0 + $1.attention.kvElementsPerToken * 4 } }
}

/// Index of the largest entry of each row of [N, V] (first on ties; NaN never wins).
public func argmaxRows(_ logits: Tensor) -> [Int] {
    let v = logits.shape.last!, n = logits.count / v
    return logits.data.withUnsafeBufferPointer { pl in
        (0..<n).map { r in
            var best = 0
            var bestValue = -Float.infinity
            for j in 0..<v where pl[r * v + j] > bestValue { bestValue = pl[r * v + j]; best = j }
            return best
        }
    }
}
