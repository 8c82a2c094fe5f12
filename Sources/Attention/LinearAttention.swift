// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"), causal:
//
//   φ(x) = elu(x) + 1,  q_t = φ(W_q x_t), k_t = φ(W_k x_t) ∈ R^{d_k} per head, v_t = W_v x_t ∈ R^{d_v}
//   out_t = φ(q_t)ᵀ S_t / (φ(q_t)ᵀ z_t + ε),  S_t = Σ_{s≤t} k_s v_sᵀ (d_k × d_v),  z_t = Σ_{s≤t} k_s
//
// with ε = 1e-6 as in the authors' code. No positional encoding (the paper uses none).
// Training runs `Tensor.causalLinearAttention`: chunks of 64 tokens, the masked quadratic
// form within a chunk and the running state across chunks, with its own backward; it is
// tested against the quadratic form A = tril(φQ φKᵀ), out = A V / (A 1 + ε)
// (`forwardQuadratic`). Inference runs the same chunked form on the cache's state (BLAS
// within a chunk), which for one token is exactly the recurrence. The cache is the state
// (S, z): constant in context.

import NN
import TensorCore

extension LinearAttention: MechanismDescriptor {
    public static let summary = "linear attention, phi(x) = elu(x)+1, recurrent state (Katharopoulos et al. 2020)"
    public static let kvFormula = "0 per token; fixed state n_h·(d_k·d_v + d_k)"
    public static let displayName = "Linear"
    public static let knobs: [Knob] = [.featureDim]
    public static let cacheGrowth = CacheGrowth.fixed
    public static let referenceFamily = ReferenceFamily.linear
    public static let plotStyle: PlotStyle? = PlotStyle(color: "#D55E00", pointType: 13)  // vermillion, filled diamond

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        try base.validateLinear()
        return base
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        LinearAttention(config: config, rng: &rng)
    }
}

public final class LinearAttention: AttentionMechanism {
    public let variant = Variant.linear
    public let config: AttentionConfig
    public let qProj: Linear  // [H·d_k, C]
    public let kProj: Linear  // [H·d_k, C]
    public let vProj: Linear  // [H·d_v, C]
    public let oProj: Linear  // [C, H·d_v]
    /// ε in the normaliser.
    public static let eps: Float = 1e-6
    static let chunk = 64

    init(config: AttentionConfig, rng: inout Xoshiro256StarStar) {
        self.config = config
        let c = config.hiddenSize, h = config.numHeads
        qProj = Linear(inFeatures: c, outFeatures: h * config.linearFeatureDim, rng: &rng)
        kProj = Linear(inFeatures: c, outFeatures: h * config.linearFeatureDim, rng: &rng)
        vProj = Linear(inFeatures: c, outFeatures: h * config.headDim, rng: &rng)
        oProj = Linear(inFeatures: h * config.headDim, outFeatures: c, rng: &rng)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        prefixed("q_proj", qProj) + prefixed("k_proj", kProj) + prefixed("v_proj", vProj) + prefixed("o_proj", oProj)
    }

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == config.hiddenSize, "attention input must be [B, T, \(config.hiddenSize)], got \(x.shape)")
        let b = x.shape[0], t = x.shape[1], h = config.numHeads, dk = config.linearFeatureDim, dv = config.headDim
        let fq = qProj(x).reshaped([b, t, h, dk]).eluPlusOne()  // [B, T, H, dk]
        let fk = kProj(x).reshaped([b, t, h, dk]).eluPlusOne()  // [B, T, H, dk]
        let v = vProj(x).reshaped([b, t, h, dv])                 // [B, T, H, dv]
        // The chunked causal form (the fast path of tril(φQ φKᵀ) V / (tril(φQ φKᵀ) 1 + ε),
        // tested against it): [B, T, H, dv], read and written in the projections' layout.
        let o = Tensor.causalLinearAttention(q: fq, k: fk, v: v, eps: Self.eps).reshaped([b, t, h * dv])
        return oProj(o)
    }

    /// The quadratic form the chunked `forward` replaces, A = tril(φQ φKᵀ), out = A V / (A 1 + ε),
    /// as a composition of differentiable ops: the reference its outputs and gradients are tested against.
    public func forwardQuadratic(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == config.hiddenSize, "attention input must be [B, T, \(config.hiddenSize)], got \(x.shape)")
        let b = x.shape[0], t = x.shape[1], h = config.numHeads, dk = config.linearFeatureDim, dv = config.headDim
        let fq = (qProj(x).reshaped([b, t, h, dk]).permuted([0, 2, 1, 3]).elu() + 1)  // [B, H, T, dk]
        let fk = (kProj(x).reshaped([b, t, h, dk]).permuted([0, 2, 1, 3]).elu() + 1)  // [B, H, T, dk]
        let v = vProj(x).reshaped([b, t, h, dv]).permuted([0, 2, 1, 3])              // [B, H, T, dv]
        let a = Tensor.matmul(fq, fk, transposeB: true) * Self.lowerTriangle(t)       // [B, H, T, T]
        let numerator = Tensor.matmul(a, v)                                           // [B, H, T, dv]
        let denominator = a.sum(axis: -1, keepDims: true) + Self.eps                  // [B, H, T, 1]
        let o = (numerator / denominator).permuted([0, 2, 1, 3]).reshaped([b, t, h * dv])
        return oProj(o)
    }

    /// [T, T] with ones where s ≤ t: the causal mask as a factor.
    static func lowerTriangle(_ t: Int) -> Tensor {
        let m = Tensor.zeros([t, t])
        for i in 0..<t { for j in 0...i { m.data[i * t + j] = 1 } }
        return m
    }

    public func makeCache(batch: Int, capacity: Int) -> AttentionCache {
        LinearAttentionState(batch: batch, heads: config.numHeads, featureDim: config.linearFeatureDim, valueDim: config.headDim)
    }

    public func step(_ x: Tensor, cache: AttentionCache) -> Tensor {
        guard let state = cache as? LinearAttentionState else {
            preconditionFailure("linear attention needs the state made by its makeCache, got \(type(of: cache))")
        }
        precondition(x.rank == 3 && x.shape[0] == state.batch && x.shape[2] == config.hiddenSize,
                     "step input must be [\(state.batch), T, \(config.hiddenSize)], got \(x.shape)")
        return Autograd.inference {
            let b = x.shape[0], t = x.shape[1], h = config.numHeads, dk = config.linearFeatureDim, dv = config.headDim
            let fq = qProj(x).eluPlusOne()  // [B, T, H·dk]
            let fk = kProj(x).eluPlusOne()  // [B, T, H·dk]
            let v = vProj(x)             // [B, T, H·dv]
            let o = Tensor.zeros([b, t, h * dv])
            fq.data.withUnsafeBufferPointer { pq in
                fk.data.withUnsafeBufferPointer { pk in
                    v.data.withUnsafeBufferPointer { pv in
                        o.data.withUnsafeMutableBufferPointer { po in
                            for bi in 0..<b {
                                for hi in 0..<h {
                                    state.run(sequence: bi, head: hi, t: t,
                                              q: pq.baseAddress! + bi * t * h * dk + hi * dk, ldq: h * dk,
                                              k: pk.baseAddress! + bi * t * h * dk + hi * dk, ldk: h * dk,
                                              v: pv.baseAddress! + bi * t * h * dv + hi * dv, ldv: h * dv,
                                              out: po.baseAddress! + bi * t * h * dv + hi * dv, ldo: h * dv)
                                }
                            }
                        }
                    }
                }
            }
            state.length += t
            return oProj(o)
        }
    }

    /// 0: nothing grows per token.
    public var kvElementsPerToken: Int { 0 }

    /// H·(d_k·d_v + d_k) at any context: the state S and the normaliser z.
    public func cacheElements(context n: Int) -> Int {
        config.numHeads * (config.linearFeatureDim * config.headDim + config.linearFeatureDim)
    }

    /// The matrix products of the chunked algorithm `step` runs (chunks of c = 64 tokens):
    /// per token the projections 2·C·(2·H·d_k + H·d_v) + 2·H·d_v·C, and per head and chunk
    /// of m tokens 2·m²·(d_k + d_v) (intra-chunk scores and values) + 4·m·d_k·d_v
    /// (readout of the state, and its update).
    public func prefillFLOPs(tokens n: Int) -> Double {
        let c = LinearAttention.chunk
        let chunks = (0..<((n + c - 1) / c)).map { min(c, n - $0 * c) }
        return Double(n) * projectionFLOPsPerToken + chunks.reduce(0) { $0 + chunkFLOPs(tokens: $1) }
    }

    /// Independent of the context, the point of a fixed-size state: a chunk of one token.
    public func decodeFLOPs(context n: Int) -> Double { projectionFLOPsPerToken + chunkFLOPs(tokens: 1) }

    var projectionFLOPsPerToken: Double {
        let c = Double(config.hiddenSize), h = Double(config.numHeads)
        let dk = Double(config.linearFeatureDim), dv = Double(config.headDim)
        return 2 * c * (2 * h * dk + h * dv) + 2 * h * dv * c
    }

    /// All heads, one chunk of m tokens.
    func chunkFLOPs(tokens m: Int) -> Double {
        let h = Double(config.numHeads), dk = Double(config.linearFeatureDim), dv = Double(config.headDim)
        let mm = Double(m)
        return h * (2 * mm * mm * (dk + dv) + 4 * mm * dk * dv)
    }
}

/// Linear attention's cache: per sequence and head the state S [d_k, d_v] and z [d_k].
final class LinearAttentionState: AttentionCache {
    let batch: Int, heads: Int, featureDim: Int, valueDim: Int
    var length = 0
    private var s: [Float]  // [B, H, d_k, d_v]
    private var z: [Float]  // [B, H, d_k]
    private var scores: [Float]  // [chunk, chunk], reused

    init(batch: Int, heads: Int, featureDim: Int, valueDim: Int) {
        self.batch = batch; self.heads = heads; self.featureDim = featureDim; self.valueDim = valueDim
        s = [Float](repeating: 0, count: batch * heads * featureDim * valueDim)
        z = [Float](repeating: 0, count: batch * heads * featureDim)
        scores = [Float](repeating: 0, count: LinearAttention.chunk * LinearAttention.chunk)
    }

    var bytes: Int { (s.count + z.count) * MemoryLayout<Float>.size }

    func rewind(to n: Int) {
        precondition(n >= 0 && n <= length, "rewind to \(n) outside 0...\(length)")
        length = n
    }

    func synthesize(tokens n: Int, rng: inout Xoshiro256StarStar) {
        // Sums of n positive features: positive and growing with n, like the real state.
        for i in 0..<s.count { s[i] = Float(n) * rng.nextNormal() }
        for i in 0..<z.count { z[i] = Float(n) * (1 + rng.nextFloat()) }
        length = n
    }

    /// Chunked causal linear attention of t tokens of one (sequence, head), continuing the state.
    /// Per chunk c:  out = (Q_c S + tril(Q_c K_cᵀ) V_c) / (Q_c z + tril(Q_c K_cᵀ) 1 + ε);
    /// then S += K_cᵀ V_c, z += Σ K_c.
    func run(sequence bi: Int, head hi: Int, t: Int,
             q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int,
             v: UnsafePointer<Float>, ldv: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
        let dk = featureDim, dv = valueDim
        let stateOffset = (bi * heads + hi) * dk * dv, zOffset = (bi * heads + hi) * dk
        s.withUnsafeMutableBufferPointer { ps in
            z.withUnsafeMutableBufferPointer { pz in
                scores.withUnsafeMutableBufferPointer { pa in
                    let state = ps.baseAddress! + stateOffset, norm = pz.baseAddress! + zOffset, a = pa.baseAddress!
                    var i0 = 0
                    while i0 < t {
                        let n = min(LinearAttention.chunk, t - i0)
                        let qc = q + i0 * ldq, kc = k + i0 * ldk, vc = v + i0 * ldv, oc = out + i0 * ldo
                        // a[n, n] = tril(Q_c K_cᵀ)
                        BLAS.gemm(transA: false, transB: true, m: n, n: n, k: dk, a: qc, lda: ldq, b: kc, ldb: ldk, c: a, ldc: n)
                        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { a[i * n + j] = 0 } }
                        // out = Q_c S (inter-chunk) + a V_c (intra-chunk)
                        BLAS.gemm(transA: false, transB: false, m: n, n: dv, k: dk, a: qc, lda: ldq, b: state, ldb: dv, c: oc, ldc: ldo)
                        BLAS.gemm(transA: false, transB: false, m: n, n: dv, k: n, a: a, lda: n, b: vc, ldb: ldv, beta: 1, c: oc, ldc: ldo)
                        for i in 0..<n {
                            var den: Float = 0
                            for j in 0...i { den += a[i * n + j] }
                            for j in 0..<dk { den += qc[i * ldq + j] * norm[j] }
                            let inv = 1 / (den + LinearAttention.eps)
                            for j in 0..<dv { oc[i * ldo + j] *= inv }
                        }
                        // S += K_cᵀ V_c, z += Σ_i K_c[i]
                        BLAS.gemm(transA: true, transB: false, m: dk, n: dv, k: n, a: kc, lda: ldk, b: vc, ldb: ldv, beta: 1, c: state, ldc: dv)
                        for i in 0..<n { for j in 0..<dk { norm[j] += kc[i * ldk + j] } }
                        i0 += n
                    }
                }
            }
        }
    }
}
