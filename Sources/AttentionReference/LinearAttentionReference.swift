// The readable reference; plain loops, no BLAS. This file promises causal linear attention
// (Katharopoulos et al. 2020, "Transformers are RNNs") with φ(x) = elu(x) + 1, no RoPE, in
// two independent forms that must agree: the quadratic definition (`linear`) and the
// recurrent state S_t (d_k × d_v), z_t (d_k) (`linearRecurrent`).

import Foundation

extension ReferenceAttention {
    /// ε added to the normaliser of linear attention.
    public static let linearEpsilon = 1e-6

    /// Names and shapes of linear attention's weights ([out, in]); dk = linearFeatureDim, D = headDim.
    public static func linearWeightShapes(config: ReferenceConfig) -> [String: [Int]] {
        let C = config.hidden, H = config.heads, K = config.linearFeatureDim, D = config.headDim
        return [
            "q_proj.weight": [H * K, C],
            "k_proj.weight": [H * K, C],
            "v_proj.weight": [H * D, C],
            "o_proj.weight": [C, H * D],
        ]
    }

    /// Causal linear attention, quadratic form (the definition). x: [B, T, C]; returns [B, T, C].
    /// For head h: out_t = Σ_{s≤t} (φ(q_t)·φ(k_s)) v_s / (Σ_{s≤t} φ(q_t)·φ(k_s) + ε).
    /// positionOffset is accepted for a uniform signature and ignored (no RoPE).
    public static func linear(
        x: [Double], batch: Int, length: Int, config: ReferenceConfig, weights: ReferenceWeights,
        positionOffset: Int = 0
    ) -> [Double] {
        linearAttention(x: x, batch: batch, length: length, config: config, weights: weights) {
            phiQ, phiK, v, D in
            // phiQ, phiK: [T][dk], v: [T][D] for one head; returns [T][D].
            let T = phiQ.count
            var oTD = [[Double]]()
            for t in 0..<T {
                var numerator = [Double](repeating: 0, count: D)  // [D]
                var denominator = 0.0
                for s in 0...t {
                    let a = dot(phiQ[t], phiK[s])
                    for d in 0..<D { numerator[d] += a * v[s][d] }
                    denominator += a
                }
                oTD.append(numerator.map { $0 / (denominator + linearEpsilon) })
            }
            return oTD
        }
    }

    /// Causal linear attention, recurrent form: S_t = S_{t−1} + φ(k_t) v_tᵀ (dk × D),
    /// z_t = z_{t−1} + φ(k_t), out_t = (φ(q_t)ᵀ S_t) / (φ(q_t)·z_t + ε). Equals `linear`.
    public static func linearRecurrent(
        x: [Double], batch: Int, length: Int, config: ReferenceConfig, weights: ReferenceWeights,
        positionOffset: Int = 0
    ) -> [Double] {
        linearAttention(x: x, batch: batch, length: length, config: config, weights: weights) {
            phiQ, phiK, v, D in
            let T = phiQ.count, K = phiQ.first?.count ?? 0
            var stateKD = [[Double]](repeating: [Double](repeating: 0, count: D), count: K)  // S: [dk][D]
            var normaliserK = [Double](repeating: 0, count: K)  // z: [dk]
            var oTD = [[Double]]()
            for t in 0..<T {
                for i in 0..<K {
                    for d in 0..<D { stateKD[i][d] += phiK[t][i] * v[t][d] }
                    normaliserK[i] += phiK[t][i]
                }
                var numerator = [Double](repeating: 0, count: D)  // φ(q_t)ᵀ S_t: [D]
                for i in 0..<K {
                    for d in 0..<D { numerator[d] += phiQ[t][i] * stateKD[i][d] }
                }
                let denominator = dot(phiQ[t], normaliserK)
                oTD.append(numerator.map { $0 / (denominator + linearEpsilon) })
            }
            return oTD
        }
    }

    /// φ(x) = elu(x) + 1, elementwise; elu(x) = x if x > 0 else exp(x) − 1.
    static func linearFeatureMap(_ x: [Double]) -> [Double] {
        x.map { ($0 > 0 ? $0 : exp($0) - 1) + 1 }
    }

    /// Shared projections of both forms: per head, φ(q), φ(k) and v over the sequence go to
    /// `attend`, which returns the head's outputs [T][D]; then out = W_o·concat_h o_h.
    private static func linearAttention(
        x: [Double], batch: Int, length: Int, config: ReferenceConfig, weights: ReferenceWeights,
        attend: (_ phiQ: [[Double]], _ phiK: [[Double]], _ v: [[Double]], _ D: Int) -> [[Double]]
    ) -> [Double] {
        let C = config.hidden, H = config.heads, K = config.linearFeatureDim, D = config.headDim
        checkInput(x, batch: batch, length: length, hidden: C)
        checkReferenceWeights(weights, linearWeightShapes(config: config))
        let wq = weights["q_proj.weight"]!, wk = weights["k_proj.weight"]!
        let wv = weights["v_proj.weight"]!, wo = weights["o_proj.weight"]!

        var out = [Double](repeating: 0, count: batch * length * C)  // [B, T, C]
        for b in 0..<batch {
            var phiQHTK = [[[Double]]](repeating: [], count: H)  // [H][T][dk]
            var phiKHTK = [[[Double]]](repeating: [], count: H)  // [H][T][dk]
            var vHTD = [[[Double]]](repeating: [], count: H)     // [H][T][D]
            for t in 0..<length {
                let xC = tokenRow(x, b: b, t: t, length: length, hidden: C)
                let qHK = matVec(wq, xC), kHK = matVec(wk, xC), vHD = matVec(wv, xC)
                for h in 0..<H {
                    phiQHTK[h].append(linearFeatureMap(slice(qHK, h * K, K)))
                    phiKHTK[h].append(linearFeatureMap(slice(kHK, h * K, K)))
                    vHTD[h].append(slice(vHD, h * D, D))
                }
            }
            let oHTD = (0..<H).map { h in attend(phiQHTK[h], phiKHTK[h], vHTD[h], D) }  // [H][T][D]
            for t in 0..<length {
                var concatHD = [Double]()  // [H·D]
                for h in 0..<H { concatHD += oHTD[h][t] }
                let outC = matVec(wo, concatHD)
                for c in 0..<C { out[(b * length + t) * C + c] = outC[c] }
            }
        }
        return out
    }
}
