// The readable reference; plain loops, no BLAS. This file promises the softmax-attention
// family: MHA (G = H), GQA (G | H, query head h reads kv head h / (H/G): consecutive query
// heads share a kv head, as HF repeat_kv), MQA (G = 1) and sliding-window attention
// (window w: token t attends to t−w+1 … t, w keys including itself), with RoPE on q and k.

extension ReferenceAttention {
    /// Names and shapes of the softmax family's weights ([out, in]).
    public static func softmaxFamilyWeightShapes(config: ReferenceConfig) -> [String: [Int]] {
        let C = config.hidden, H = config.heads, G = config.kvHeads, D = config.headDim
        return [
            "q_proj.weight": [H * D, C],
            "k_proj.weight": [G * D, C],
            "v_proj.weight": [G * D, C],
            "o_proj.weight": [C, H * D],
        ]
    }

    /// Causal softmax attention over the whole sequence at once.
    ///
    /// x: [B, T, C] flattened row-major; returns [B, T, C]. Token t sits at absolute position
    /// positionOffset + t (for RoPE); the keys are only this call's tokens (no past cache).
    /// For query head h, kv head g = h / (H/G):
    ///   s(t, s') = RoPE(q_h(t))·RoPE(k_g(s')) / sqrt(D) for s' ≤ t (and s' ≥ t − w + 1 with a window),
    ///   o_h(t) = Σ_s' softmax(s)(s')·v_g(s'),  out(t) = W_o·concat_h o_h(t).
    public static func softmaxFamily(
        x: [Double], batch: Int, length: Int, config: ReferenceConfig, weights: ReferenceWeights,
        positionOffset: Int = 0
    ) -> [Double] {
        let C = config.hidden, H = config.heads, G = config.kvHeads, D = config.headDim
        precondition(G > 0 && H % G == 0, "heads \(H) not divisible by kv heads \(G)")
        precondition(D % 2 == 0, "RoPE needs an even head dim, got \(D)")
        if let w = config.window { precondition(w >= 1, "window \(w) must be at least 1") }
        checkInput(x, batch: batch, length: length, hidden: C)
        checkReferenceWeights(weights, softmaxFamilyWeightShapes(config: config))
        let wq = weights["q_proj.weight"]!, wk = weights["k_proj.weight"]!
        let wv = weights["v_proj.weight"]!, wo = weights["o_proj.weight"]!
        let queryHeadsPerKVHead = H / G

        var out = [Double](repeating: 0, count: batch * length * C)  // [B, T, C]
        for b in 0..<batch {
            // Project every token and rotate queries and keys at their absolute positions.
            var qTHD = [[[Double]]]()  // [T][H][D]
            var kTGD = [[[Double]]]()  // [T][G][D]
            var vTGD = [[[Double]]]()  // [T][G][D]
            for t in 0..<length {
                let xC = tokenRow(x, b: b, t: t, length: length, hidden: C)  // [C]
                let position = positionOffset + t
                let qHD = matVec(wq, xC)  // [H·D]
                let kGD = matVec(wk, xC)  // [G·D]
                let vGD = matVec(wv, xC)  // [G·D]
                qTHD.append((0..<H).map { h in
                    applyRoPE(slice(qHD, h * D, D), position: position, base: config.ropeBase,
                              interleaved: config.ropeInterleaved)
                })
                kTGD.append((0..<G).map { g in
                    applyRoPE(slice(kGD, g * D, D), position: position, base: config.ropeBase,
                              interleaved: config.ropeInterleaved)
                })
                vTGD.append((0..<G).map { g in slice(vGD, g * D, D) })
            }

            for t in 0..<length {
                // Keys visible to token t: causal, and at most w of them with a window, plus the
                // first s tokens (attention sinks) where the window has moved past them.
                let firstKey = config.window.map { max(0, t - $0 + 1) } ?? 0
                let keys = Array(0..<min(config.sinks, firstKey)) + Array(firstKey...t)
                var concatHD = [Double]()  // [H·D]
                for h in 0..<H {
                    let g = h / queryHeadsPerKVHead
                    let scores = keys.map { s in dot(qTHD[t][h], kTGD[s][g]) / Double(D).squareRoot() }
                    let probs = softmax(scores)
                    var oD = [Double](repeating: 0, count: D)  // [D]
                    for (k, s) in keys.enumerated() {
                        for d in 0..<D { oD[d] += probs[k] * vTGD[s][g][d] }
                    }
                    concatHD += oD
                }
                let outC = matVec(wo, concatHD)  // [C]
                for c in 0..<C { out[(b * length + t) * C + c] = outC[c] }
            }
        }
        return out
    }
}
