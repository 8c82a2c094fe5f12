// The softmax-attention core behind MHA, GQA, MQA and sliding-window attention:
// one mechanism with three knobs, G key/value heads, an optional window w and, with a
// window, s attention sinks (StreamingLLM, Xiao et al. 2023).
//
//   q = RoPE(x W_qᵀ) [B, T, H, D],  k = RoPE(x W_kᵀ), v = x W_vᵀ [B, T, G, D]
//   o_h = softmax(q_h k_gᵀ / √D + mask) v_g,  g = h / (H/G)   (consecutive query heads
//   share a kv head, as HF's repeat_kv),  out = concat_h(o_h) W_oᵀ
// mask (`AttentionMask`): causal; with a window w, key j visible to query t iff
// t − w < j ≤ t, or j < s (a sink).
//
// Training (`forward`) runs `Tensor.causalAttention`, a differentiable op that keeps
// the probabilities of the visible key blocks for its backward.
// Inference (`step`) runs `SoftmaxKernel`: per head, query blocks against the cached keys
// (fused, with an online softmax), never all heads' T×T scores at once, and for a window
// a ring buffer of w entries beside the s sinks.

import NN
import TensorCore

public final class SoftmaxAttention: AttentionMechanism {
    public let variant: Variant
    public let config: AttentionConfig
    public let qProj: Linear  // [H·D, C]
    public let kProj: Linear  // [G·D, C]
    public let vProj: Linear  // [G·D, C]
    public let oProj: Linear  // [C, H·D]

    /// Use `Variant.make`; this initialiser trusts a validated config.
    init(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) {
        self.variant = variant
        self.config = config
        let c = config.hiddenSize, h = config.numHeads, g = config.numKVHeads, d = config.headDim
        qProj = Linear(inFeatures: c, outFeatures: h * d, rng: &rng)
        kProj = Linear(inFeatures: c, outFeatures: g * d, rng: &rng)
        vProj = Linear(inFeatures: c, outFeatures: g * d, rng: &rng)
        oProj = Linear(inFeatures: h * d, outFeatures: c, rng: &rng)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        prefixed("q_proj", qProj) + prefixed("k_proj", kProj) + prefixed("v_proj", vProj) + prefixed("o_proj", oProj)
    }

    var groupSize: Int { config.numHeads / config.numKVHeads }

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == config.hiddenSize, "attention input must be [B, T, \(config.hiddenSize)], got \(x.shape)")
        let b = x.shape[0], t = x.shape[1]
        let h = config.numHeads, g = config.numKVHeads, d = config.headDim, r = groupSize
        func heads(_ y: Tensor, _ n: Int, rope: Bool) -> Tensor {
            var z = y.reshaped([b, t, n, d])                                        // [B, T, n, D]
            if rope { z = z.rope(positionOffset: 0, base: config.ropeTheta, pairing: config.ropePairing) }
            return z.permuted([0, 2, 1, 3])                                        // [B, n, T, D]
        }
        // Query heads of one group are adjacent: [B, H, T, D] = [B, G, r·T, D].
        let qGroups = heads(qProj(x), h, rope: true).reshaped([b, g, r * t, d])
        let k = heads(kProj(x), g, rope: true)                                     // [B, G, T, D]
        let v = heads(vProj(x), g, rope: false)                                    // [B, G, T, D]
        // softmax(q kᵀ/√D + mask) v as one op that skips the masked key blocks (the fast path
        // of matmul → softmax(mask:) → matmul, tested against it).
        let o = Tensor.causalAttention(q: qGroups, k: k, v: v, scale: 1 / Float(d).squareRoot(),
                                       mask: config.attentionMask)                 // [B, G, r·T, D]
            .reshaped([b, h, t, d]).permuted([0, 2, 1, 3]).reshaped([b, t, h * d])  // [B, T, H·D]
        return oProj(o)
    }

    public func makeCache(batch: Int, capacity: Int) -> AttentionCache {
        SoftmaxKVCache(batch: batch, capacity: capacity, kvHeads: config.numKVHeads, headDim: config.headDim,
                       mask: config.attentionMask)
    }

    public func step(_ x: Tensor, cache: AttentionCache) -> Tensor {
        guard let cache = cache as? SoftmaxFamilyCache else {
            preconditionFailure("\(variant) needs the cache made by its makeCache, got \(type(of: cache))")
        }
        precondition(x.rank == 3 && x.shape[0] == cache.batch && x.shape[2] == config.hiddenSize,
                     "step input must be [\(cache.batch), T, \(config.hiddenSize)], got \(x.shape)")
        return Autograd.inference {
            let b = x.shape[0], t = x.shape[1]
            let h = config.numHeads, g = config.numKVHeads, d = config.headDim
            let p0 = cache.length
            func project(_ layer: Linear, _ n: Int, rope: Bool) -> Tensor {
                let y = layer(x).reshaped([b, t, n, d])                            // [B, T, n, D]
                return rope ? y.rope(positionOffset: p0, base: config.ropeTheta, pairing: config.ropePairing) : y
            }
            let q = project(qProj, h, rope: true), k = project(kProj, g, rope: true), v = project(vProj, g, rope: false)
            let o = Tensor.zeros([b, t, h * d])                                    // [B, T, H·D]
            for bi in 0..<b {
                cache.attend(sequence: bi, queries: q.data, keys: k.data, values: v.data, newTokens: t,
                             heads: h, output: &o.data, scale: 1 / Float(d).squareRoot())
            }
            cache.advance(by: t)
            return oProj(o)
        }
    }

    /// 2·G·D: one key and one value vector per kv head.
    public var kvElementsPerToken: Int { 2 * config.numKVHeads * config.headDim }

    /// 2·G·D per key the mask can still show: min(n, w + s).
    public func cacheElements(context n: Int) -> Int { kvElementsPerToken * config.attentionMask.retainedKeys(context: n) }

    /// Projections 2n·C·(H·D + 2G·D) + 2n·H·D·C, plus the attention core's products.
    public func prefillFLOPs(tokens n: Int) -> Double {
        Double(n) * projectionFLOPsPerToken + attentionFLOPs(tokens: n)
    }

    /// The score and value products of a prefill of n tokens: 4·H·D per visible (query,
    /// key) pair, Σ_t (min(t + 1, w) + sinks beyond the window).
    public func attentionFLOPs(tokens n: Int) -> Double {
        let mask = config.attentionMask
        let w = mask.window ?? n
        // Σ_{t<n} min(t+1, w) in closed form; the sinks add min(s, t − w + 1) where the window has moved on.
        let full = min(n, w)
        var pairs = Double(full) * Double(full + 1) / 2 + Double(n - full) * Double(w)
        if mask.sinks > 0, n > w {
            let ramp = min(mask.sinks, n - w)  // t = w … w + ramp − 1 see 1 … ramp sinks
            pairs += Double(ramp) * Double(ramp + 1) / 2 + Double(n - w - ramp) * Double(mask.sinks)
        }
        return 4 * Double(config.numHeads * config.headDim) * pairs
    }

    /// The attention core of a prefill alone, without projections, RoPE or cache writes:
    /// q [T, H, D] attends causally (within the window) over k, v [T, G, D]; out [T, H, D].
    /// What prefill runs between its projections, for timing the kernel by itself.
    public func attentionCore(q: [Float], k: [Float], v: [Float], tokens t: Int, out: inout [Float], scratch: inout [Float]) {
        let h = config.numHeads, g = config.numKVHeads, d = config.headDim
        precondition(q.count == t * h * d && k.count == t * g * d && v.count == t * g * d && out.count == t * h * d,
                     "attentionCore: q \(q.count), k \(k.count), v \(v.count), out \(out.count) floats for T \(t), H \(h), G \(g), D \(d)")
        SoftmaxKernel.attend(q: q, ldq: h * d, k: k, ldk: g * d, v: v, ldv: g * d, out: &out, ldo: h * d,
                             t: t, p0: 0, firstKeyPosition: 0, keyCount: t, heads: h, kvHeads: g, keyDim: d, valueDim: d,
                             mask: config.attentionMask, scale: 1 / Float(d).squareRoot(), scratch: &scratch)
    }

    /// One token's projections plus 4·H·D per visible key: min(n + 1, w) and the sinks
    /// beyond the window.
    public func decodeFLOPs(context n: Int) -> Double {
        let mask = config.attentionMask
        let visible = n + 1 - mask.recentStart(query: n) + mask.sinkEnd(query: n)
        return projectionFLOPsPerToken + 4 * Double(config.numHeads * config.headDim * visible)
    }

    var projectionFLOPsPerToken: Double {
        let c = Double(config.hiddenSize), hd = Double(config.numHeads * config.headDim)
        let gd = Double(config.numKVHeads * config.headDim)
        return 2 * c * (hd + 2 * gd) + 2 * hd * c
    }
}
