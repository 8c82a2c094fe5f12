// Multi-head latent attention (DeepSeek-V2 §2.1, as used in DeepSeek-V3), with HF's
// parameter names. Per token h (C wide), heads i = 1 … H:
//
//   c_KV = RMSNorm(W_DKV h)               d_c       [kv_a_proj_with_mqa rows 0..<d_c, kv_a_layernorm]
//   k_R  = RoPE(W_KR h)                   d_h^R     [kv_a_proj_with_mqa rows d_c..<d_c+d_h^R], one key shared by all heads
//   k_C,i = W_UK,i c_KV,  v_i = W_UV,i c_KV           [kv_b_proj: per head d_nope key rows, then d_v value rows]
//   q = W_Q h, or W_UQ RMSNorm(W_DQ h) with query compression (q_lora_rank > 0)
//   q_i = [q_C,i (d_nope), q_R,i = RoPE(·) (d_h^R)]
//   o_i = Σ_s softmax_s((q_C,i·k_C,i(s) + q_R,i·k_R(s)) / √(d_nope + d_h^R)) v_i(s)
//   out = W_O [o_1; …; o_H]
//
// The cache holds c_KV and k_R only: d_c + d_h^R elements per token.
// Two inference paths, selectable and tested equal:
//   naive:    decompress k_C and v for every cached token, then attend per head (MHA-like);
//   absorbed: q̃_i = W_UK,iᵀ q_C,i, attend over the latent itself (one shared "kv head" of
//             width d_c + d_h^R, values the latent c_KV), then o_i = W_UV,i õ_i.

import NN
import TensorCore

public enum MLAPath: String, CaseIterable, Codable, Sendable {
    case naive, absorbed
}

extension MultiHeadLatentAttention: MechanismDescriptor {
    public static let summary = "multi-head latent attention: cache c_KV and a shared RoPE key (DeepSeek-V2 §2.1)"
    public static let kvFormula = "d_c + d_h^R"
    public static let displayName = "MLA"
    public static let knobs: [Knob] = [.latent, .ropeDim]
    public static let cacheGrowth = CacheGrowth.perToken
    public static let referenceFamily = ReferenceFamily.latent
    public static let plotStyle: PlotStyle? = PlotStyle(color: "#000000", pointType: 15)  // black, filled pentagon
    /// Both decode paths share the pentagon: absorbed (how MLA is deployed) solid and
    /// filled, naive grey, dashed and open.
    public static let inferencePaths = [
        InferencePath(name: MLAPath.naive.rawValue, style: PlotStyle(color: "#7f7f7f", pointType: 14, dash: 2), deployed: false),
        InferencePath(name: MLAPath.absorbed.rawValue, style: PlotStyle(color: "#000000", pointType: 15), deployed: true),
    ]

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        try base.validateMLA()
        return base
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        MultiHeadLatentAttention(config: config, rng: &rng)
    }
}

public final class MultiHeadLatentAttention: AttentionMechanism {
    public let variant = Variant.mla
    public let config: AttentionConfig
    /// The inference path `step` takes (training `forward` is always the naive form).
    public var path: MLAPath = .absorbed

    public let qProj: Linear?         // [H·(d_nope+d_R), C] without query compression
    public let qAProj: Linear?        // [d_c', C]
    public let qALayerNorm: RMSNorm?  // [d_c']
    public let qBProj: Linear?        // [H·(d_nope+d_R), d_c']
    public let kvAProjWithMQA: Linear // [d_c + d_R, C]
    public let kvALayerNorm: RMSNorm  // [d_c]
    public let kvBProj: Linear        // [H·(d_nope+d_v), d_c]
    public let oProj: Linear          // [C, H·d_v]

    init(config: AttentionConfig, rng: inout Xoshiro256StarStar) {
        self.config = config
        let c = config.hiddenSize, h = config.numHeads
        let qWidth = h * (config.qkNopeHeadDim + config.qkRopeHeadDim)
        if config.qLoraRank > 0 {
            qProj = nil
            qAProj = Linear(inFeatures: c, outFeatures: config.qLoraRank, rng: &rng)
            qALayerNorm = RMSNorm(dim: config.qLoraRank, eps: config.rmsNormEps)
            qBProj = Linear(inFeatures: config.qLoraRank, outFeatures: qWidth, rng: &rng)
        } else {
            qProj = Linear(inFeatures: c, outFeatures: qWidth, rng: &rng)
            qAProj = nil; qALayerNorm = nil; qBProj = nil
        }
        kvAProjWithMQA = Linear(inFeatures: c, outFeatures: config.kvLoraRank + config.qkRopeHeadDim, rng: &rng)
        kvALayerNorm = RMSNorm(dim: config.kvLoraRank, eps: config.rmsNormEps)
        kvBProj = Linear(inFeatures: config.kvLoraRank, outFeatures: h * (config.qkNopeHeadDim + config.vHeadDim), rng: &rng)
        oProj = Linear(inFeatures: h * config.vHeadDim, outFeatures: c, rng: &rng)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var ps: [(name: String, tensor: Tensor)] = []
        if let qProj { ps += prefixed("q_proj", qProj) }
        if let qAProj, let qALayerNorm, let qBProj {
            ps += prefixed("q_a_proj", qAProj) + prefixed("q_a_layernorm", qALayerNorm) + prefixed("q_b_proj", qBProj)
        }
        return ps + prefixed("kv_a_proj_with_mqa", kvAProjWithMQA) + prefixed("kv_a_layernorm", kvALayerNorm)
            + prefixed("kv_b_proj", kvBProj) + prefixed("o_proj", oProj)
    }

    var nope: Int { config.qkNopeHeadDim }
    var ropeDim: Int { config.qkRopeHeadDim }
    var latent: Int { config.kvLoraRank }
    var valueDim: Int { config.vHeadDim }
    var scale: Float { 1 / Float(nope + ropeDim).squareRoot() }

    /// Queries [B, T, H, d_nope + d_R], RoPE not yet applied.
    func queries(_ x: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[1]
        let q: Tensor
        if let qProj { q = qProj(x) } else { q = qBProj!(qALayerNorm!(qAProj!(x))) }
        return q.reshaped([b, t, config.numHeads, nope + ropeDim])
    }

    func rope(_ x: Tensor, offset: Int) -> Tensor {
        x.rope(positionOffset: offset, base: config.ropeTheta, pairing: config.ropePairing)
    }

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == config.hiddenSize, "attention input must be [B, T, \(config.hiddenSize)], got \(x.shape)")
        let b = x.shape[0], t = x.shape[1], h = config.numHeads
        let q = queries(x)
        let qC = q.slice(axis: 3, 0..<nope)                                                         // [B, T, H, d_nope]
        let qR = rope(q.slice(axis: 3, nope..<(nope + ropeDim)), offset: 0)                         // [B, T, H, d_R]
        let a = kvAProjWithMQA(x)                                                                    // [B, T, d_c + d_R]
        let cKV = kvALayerNorm(a.slice(axis: 2, 0..<latent))                                         // [B, T, d_c]
        let kR = rope(a.slice(axis: 2, latent..<(latent + ropeDim)).reshaped([b, t, 1, ropeDim]), offset: 0)  // [B, T, 1, d_R]
        let kv = kvBProj(cKV).reshaped([b, t, h, nope + valueDim])                                   // [B, T, H, d_nope + d_v]
        let kC = kv.slice(axis: 3, 0..<nope)                                                         // [B, T, H, d_nope]
        let v = kv.slice(axis: 3, nope..<(nope + valueDim)).permuted([0, 2, 1, 3])                   // [B, H, T, d_v]
        // Head i's query is [q_C,i | q_R,i] and its key [k_C,i | k_R] (k_R shared, repeated per
        // head; its gradient sums over the copies), so q·k = q_C·k_C + q_R·k_R, DeepSeek-V2's
        // score, in one product: the fused causal op, which skips masked key blocks.
        let queries = Tensor.concat([qC, qR], axis: 3).permuted([0, 2, 1, 3])                     // [B, H, T, d_nope + d_R]
        let keys = Tensor.concat([kC, Tensor.concat(Array(repeating: kR, count: h), axis: 2)], axis: 3)
            .permuted([0, 2, 1, 3])                                                                  // [B, H, T, d_nope + d_R]
        let o = Tensor.causalAttention(q: queries, k: keys, v: v, scale: scale)                     // [B, H, T, d_v]
        return oProj(o.permuted([0, 2, 1, 3]).reshaped([b, t, h * valueDim]))
    }

    public func makeCache(batch: Int, capacity: Int) -> AttentionCache {
        MLACache(batch: batch, capacity: capacity, rowWidth: latent + ropeDim)
    }

    public func step(_ x: Tensor, cache: AttentionCache) -> Tensor {
        if let managed = cache as? SoftmaxFamilyCache { return stepManaged(x, cache: managed) }
        guard let cache = cache as? MLACache else {
            preconditionFailure("mla needs the cache made by its makeCache, got \(type(of: cache))")
        }
        precondition(x.rank == 3 && x.shape[0] == cache.batch && x.shape[2] == config.hiddenSize,
                     "step input must be [\(cache.batch), T, \(config.hiddenSize)], got \(x.shape)")
        return Autograd.inference {
            let b = x.shape[0], t = x.shape[1], h = config.numHeads, p0 = cache.length
            let q = queries(x)                                                                       // [B, T, H, d_nope + d_R]
            let qR = rope(q.slice(axis: 3, nope..<(nope + ropeDim)), offset: p0)                     // [B, T, H, d_R]
            let a = kvAProjWithMQA(x)
            let cKV = kvALayerNorm(a.slice(axis: 2, 0..<latent))                                     // [B, T, d_c]
            let kR = rope(a.slice(axis: 2, latent..<(latent + ropeDim)).reshaped([b, t, 1, ropeDim]), offset: p0)
            let rows = Tensor.concat([cKV, kR.reshaped([b, t, ropeDim])], axis: 2)                    // [B, T, d_c + d_R]
            let o = Tensor.zeros([b, t, h * valueDim])                                               // [B, T, H·d_v]
            for bi in 0..<b {
                cache.append(sequence: bi, rows: rows.data[(bi * t * (latent + ropeDim))..<((bi + 1) * t * (latent + ropeDim))])
                switch path {
                case .naive: attendNaive(sequence: bi, t: t, p0: p0, q: q, qR: qR, cache: cache, out: o)
                case .absorbed: attendAbsorbed(sequence: bi, t: t, p0: p0, q: q, qR: qR, cache: cache, out: o)
                }
            }
            cache.length += t
            return oProj(o)
        }
    }

    /// Decompresses every cached token's keys and values, then attends per head.
    func attendNaive(sequence bi: Int, t: Int, p0: Int, q: Tensor, qR: Tensor, cache: MLACache, out: Tensor) {
        let h = config.numHeads, n = p0 + t, row = latent + ropeDim, dqk = nope + ropeDim
        // kv[n, H·(d_nope + d_v)] = c_KV · W_kv_bᵀ for all n cached tokens.
        var kv = [Float](repeating: 0, count: n * h * (nope + valueDim))
        cache.withRows(sequence: bi) { latentRows in
            kvBProj.weight.data.withUnsafeBufferPointer { w in
                kv.withUnsafeMutableBufferPointer { pkv in
                    BLAS.gemm(transA: false, transB: true, m: n, n: h * (nope + valueDim), k: latent,
                              a: latentRows, lda: row, b: w.baseAddress!, ldb: latent, c: pkv.baseAddress!, ldc: h * (nope + valueDim))
                }
            }
        }
        // Per-head keys [k_C,i | k_R] [n, H, d_nope + d_R] and values [n, H, d_v].
        var keys = [Float](repeating: 0, count: n * h * dqk)
        var values = [Float](repeating: 0, count: n * h * valueDim)
        cache.withRows(sequence: bi) { latentRows in
            for s in 0..<n {
                for i in 0..<h {
                    let src = (s * h + i) * (nope + valueDim)
                    for j in 0..<nope { keys[(s * h + i) * dqk + j] = kv[src + j] }
                    for j in 0..<ropeDim { keys[(s * h + i) * dqk + nope + j] = latentRows[s * row + latent + j] }
                    for j in 0..<valueDim { values[(s * h + i) * valueDim + j] = kv[src + nope + j] }
                }
            }
        }
        // Queries [t, H, d_nope + d_R] with the rotated rope part.
        var queries = Array(q.data[(bi * t * h * dqk)..<((bi + 1) * t * h * dqk)])
        for s in 0..<t {
            for i in 0..<h {
                for j in 0..<ropeDim { queries[(s * h + i) * dqk + nope + j] = qR.data[((bi * t + s) * h + i) * ropeDim + j] }
            }
        }
        queries.withUnsafeBufferPointer { pq in
            keys.withUnsafeBufferPointer { pk in
                values.withUnsafeBufferPointer { pv in
                    out.data.withUnsafeMutableBufferPointer { po in
                        SoftmaxKernel.attend(q: pq.baseAddress!, ldq: h * dqk, k: pk.baseAddress!, ldk: h * dqk,
                                             v: pv.baseAddress!, ldv: h * valueDim,
                                             out: po.baseAddress! + bi * t * h * valueDim, ldo: h * valueDim,
                                             t: t, p0: p0, firstKeyPosition: 0, keyCount: n, heads: h, kvHeads: h,
                                             keyDim: dqk, valueDim: valueDim, mask: .causal, scale: scale, scratch: &cache.scratch)
                    }
                }
            }
        }
    }

    /// Attends in the latent space: W_UK folded into the query, W_UV applied after.
    func attendAbsorbed(sequence bi: Int, t: Int, p0: Int, q: Tensor, qR: Tensor, cache: MLACache, out: Tensor) {
        let h = config.numHeads, n = p0 + t, row = latent + ropeDim
        let absorbed = absorbedQueries(sequence: bi, t: t, q: q, qR: qR)
        var latentOut = [Float](repeating: 0, count: t * h * latent)  // õ [t, H, d_c]
        cache.withRows(sequence: bi) { latentRows in
            absorbed.withUnsafeBufferPointer { pq in
                latentOut.withUnsafeMutableBufferPointer { po in
                    // One shared key/value head: keys the whole row, values its first d_c entries.
                    SoftmaxKernel.attend(q: pq.baseAddress!, ldq: h * row, k: latentRows, ldk: row, v: latentRows, ldv: row,
                                         out: po.baseAddress!, ldo: h * latent, t: t, p0: p0, firstKeyPosition: 0, keyCount: n,
                                         heads: h, kvHeads: 1, keyDim: row, valueDim: latent, mask: .causal, scale: scale,
                                         scratch: &cache.scratch)
                }
            }
        }
        latentOut.withUnsafeBufferPointer { upProjectValues(sequence: bi, t: t, latentOut: $0.baseAddress!, out: out) }
    }

    /// q̃ [t, H, d_c + d_R] = [W_UK,iᵀ q_C,i | q_R,i] for sequence bi's t new tokens.
    func absorbedQueries(sequence bi: Int, t: Int, q: Tensor, qR: Tensor) -> [Float] {
        let h = config.numHeads, row = latent + ropeDim, dqk = nope + ropeDim
        var absorbed = [Float](repeating: 0, count: t * h * row)
        let w = kvBProj.weight  // [H·(d_nope + d_v), d_c]
        q.data.withUnsafeBufferPointer { pq in
            w.data.withUnsafeBufferPointer { pw in
                absorbed.withUnsafeMutableBufferPointer { pa in
                    for i in 0..<h {
                        // [t, d_nope] · W_UK,i [d_nope, d_c] → [t, d_c]
                        BLAS.gemm(transA: false, transB: false, m: t, n: latent, k: nope,
                                  a: pq.baseAddress! + bi * t * h * dqk + i * dqk, lda: h * dqk,
                                  b: pw.baseAddress! + i * (nope + valueDim) * latent, ldb: latent,
                                  c: pa.baseAddress! + i * row, ldc: h * row)
                    }
                }
            }
        }
        for s in 0..<t {
            for i in 0..<h {
                for j in 0..<ropeDim { absorbed[(s * h + i) * row + latent + j] = qR.data[((bi * t + s) * h + i) * ropeDim + j] }
            }
        }
        return absorbed
    }

    /// o_i [t, d_v] = õ_i [t, d_c] · W_UV,iᵀ for sequence bi, õ [t, H, d_c] at `latentOut`.
    func upProjectValues(sequence bi: Int, t: Int, latentOut: UnsafePointer<Float>, out: Tensor) {
        let h = config.numHeads
        kvBProj.weight.data.withUnsafeBufferPointer { pw in
            out.data.withUnsafeMutableBufferPointer { po in
                for i in 0..<h {
                    BLAS.gemm(transA: false, transB: true, m: t, n: valueDim, k: latent,
                              a: latentOut + i * latent, lda: h * latent,
                              b: pw.baseAddress! + (i * (nope + valueDim) + nope) * latent, ldb: latent,
                              c: po.baseAddress! + bi * t * h * valueDim + i * valueDim, ldc: h * valueDim)
                }
            }
        }
    }

    /// One step through a cache that another component manages (a KV-cache policy's), in
    /// the absorbed form: per token one shared key row [c_KV | k_R] and value c_KV, attended
    /// by the queries [W_UK,iᵀ q_C,i | q_R,i]; the cache decides what it keeps.
    func stepManaged(_ x: Tensor, cache: SoftmaxFamilyCache) -> Tensor {
        precondition(x.rank == 3 && x.shape[0] == cache.batch && x.shape[2] == config.hiddenSize,
                     "step input must be [\(cache.batch), T, \(config.hiddenSize)], got \(x.shape)")
        return Autograd.inference {
            let b = x.shape[0], t = x.shape[1], h = config.numHeads, p0 = cache.length, row = latent + ropeDim
            let q = queries(x)                                                                       // [B, T, H, d_nope + d_R]
            let qR = rope(q.slice(axis: 3, nope..<(nope + ropeDim)), offset: p0)                     // [B, T, H, d_R]
            let a = kvAProjWithMQA(x)
            let cKV = kvALayerNorm(a.slice(axis: 2, 0..<latent))                                     // [B, T, d_c]: the values
            let kR = rope(a.slice(axis: 2, latent..<(latent + ropeDim)).reshaped([b, t, 1, ropeDim]), offset: p0)
            let rows = Tensor.concat([cKV, kR.reshaped([b, t, ropeDim])], axis: 2)                    // [B, T, d_c + d_R]: the keys
            let absorbed = (0..<b).flatMap { absorbedQueries(sequence: $0, t: t, q: q, qR: qR) }      // [B, T, H, d_c + d_R]
            precondition(absorbed.count == b * t * h * row)
            var latentOut = [Float](repeating: 0, count: b * t * h * latent)                         // [B, T, H·d_c]
            for bi in 0..<b {
                cache.attend(sequence: bi, queries: absorbed, keys: rows.data, values: cKV.data, newTokens: t,
                             heads: h, output: &latentOut, scale: scale)
            }
            cache.advance(by: t)
            let o = Tensor.zeros([b, t, h * valueDim])
            latentOut.withUnsafeBufferPointer { pl in
                for bi in 0..<b { upProjectValues(sequence: bi, t: t, latentOut: pl.baseAddress! + bi * t * h * latent, out: o) }
            }
            return oProj(o)
        }
    }

    /// d_c + d_h^R: the latent and the shared rope key (DeepSeek-V2 Table 1).
    public var kvElementsPerToken: Int { latent + ropeDim }

    public func cacheElements(context n: Int) -> Int { n * kvElementsPerToken }

    var projectionFLOPsPerToken: Double {
        let c = Double(config.hiddenSize), h = Double(config.numHeads), dq = Double(config.qLoraRank)
        let qk = Double(nope + ropeDim)
        let queries = config.qLoraRank > 0 ? 2 * c * dq + 2 * dq * h * qk : 2 * c * h * qk
        return queries + 2 * c * Double(latent + ropeDim) + 2 * h * Double(valueDim) * c
    }

    /// Per token: projections, then per path. Naive: decompress k_C, v (2·d_c·H·(d_nope+d_v))
    /// and 2·H·(d_nope + d_R + d_v) per visible pair. Absorbed: fold W_UK (2·H·d_nope·d_c),
    /// 2·H·(2·d_c + d_R) per visible pair, and W_UV (2·H·d_c·d_v).
    public func prefillFLOPs(tokens n: Int) -> Double {
        let pairs = Double(n) * Double(n + 1) / 2
        return Double(n) * (projectionFLOPsPerToken + perTokenFLOPs) + pairs * perPairFLOPs
    }

    /// One token at context n: as above with n + 1 visible keys; the naive path also
    /// decompresses all n cached tokens again.
    public func decodeFLOPs(context n: Int) -> Double {
        let h = Double(config.numHeads)
        let redo = path == .naive ? Double(n) * 2 * Double(latent) * h * Double(nope + valueDim) : 0
        return projectionFLOPsPerToken + perTokenFLOPs + Double(n + 1) * perPairFLOPs + redo
    }

    var perTokenFLOPs: Double {
        let h = Double(config.numHeads), dc = Double(latent)
        switch path {
        case .naive: return 2 * dc * h * Double(nope + valueDim)
        case .absorbed: return 2 * h * Double(nope) * dc + 2 * h * dc * Double(valueDim)
        }
    }

    var perPairFLOPs: Double {
        let h = Double(config.numHeads)
        switch path {
        case .naive: return 2 * h * Double(nope + ropeDim + valueDim)
        case .absorbed: return 2 * h * Double(2 * latent + ropeDim)
        }
    }
}

/// MLA's cache: per sequence, rows [c_KV (d_c) | k_R (d_h^R)], token-major.
final class MLACache: AttentionCache {
    let batch: Int, rowWidth: Int
    var length = 0
    private var rows: [[Float]]
    var scratch: [Float] = []

    init(batch: Int, capacity: Int, rowWidth: Int) {
        self.batch = batch
        self.rowWidth = rowWidth
        rows = (0..<batch).map { _ in var a = [Float](); a.reserveCapacity(capacity * rowWidth); return a }
    }

    var bytes: Int { rows.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.size }

    func append(sequence bi: Int, rows new: ArraySlice<Float>) { rows[bi].append(contentsOf: new) }

    func rewind(to n: Int) {
        precondition(n >= 0 && n <= length, "rewind to \(n) outside 0...\(length)")
        for b in 0..<batch { rows[b].removeLast(rows[b].count - n * rowWidth) }
        length = n
    }

    func synthesize(tokens n: Int, rng: inout Xoshiro256StarStar) {
        for b in 0..<batch { rows[b] = (0..<(n * rowWidth)).map { _ in rng.nextNormal() } }
        length = n
    }

    func withRows<R>(sequence bi: Int, _ body: (UnsafePointer<Float>) -> R) -> R {
        rows[bi].withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
