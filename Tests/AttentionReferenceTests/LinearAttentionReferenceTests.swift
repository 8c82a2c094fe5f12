// Linear attention: the quadratic definition against the recurrent form and a hand-computed case.

import AttentionReference
import Foundation
import Testing

@Suite("Linear attention reference")
struct LinearAttentionReferenceTests {
    /// The quadratic form (definition) equals the recurrent state form.
    @Test(arguments: [(1, 1, 4, 4), (2, 7, 3, 5), (2, 33, 8, 2), (1, 63, 1, 1)])
    func quadraticEqualsRecurrent(batch B: Int, length T: Int, featureDim K: Int, valueDim D: Int) {
        let C = 10
        let config = ReferenceConfig(hidden: C, heads: 2, headDim: D, linearFeatureDim: K)
        let weights = makeWeights(ReferenceAttention.linearWeightShapes(config: config), seed: UInt64(100 + T))
        var rng = SplitMix64(seed: UInt64(101 + T))
        let x = rng.values(B * T * C, scale: 2)
        let quadratic = ReferenceAttention.linear(x: x, batch: B, length: T, config: config, weights: weights)
        let recurrent = ReferenceAttention.linearRecurrent(x: x, batch: B, length: T, config: config, weights: weights)
        let r = compareClose("B\(B)-T\(T)-K\(K)-D\(D) quadratic vs recurrent", quadratic, recurrent)
        #expect(r.ok, "\(r)")
    }

    /// Scalars (C = H = d_k = D = 1), all weights 1, x = (0.5, −2), both φ branches:
    /// φ(0.5) = 1.5, φ(−2) = e^−2.
    ///   out_0 = 1.5·1.5·0.5 / (1.5·1.5 + ε)
    ///   out_1 = e^−2·(1.5·0.5 + e^−2·(−2)) / (e^−2·(1.5 + e^−2) + ε)
    @Test func handComputedScalars() {
        let one = ReferenceTensor(shape: [1, 1], values: [1])
        let weights: ReferenceWeights = ["q_proj.weight": one, "k_proj.weight": one,
                                         "v_proj.weight": one, "o_proj.weight": one]
        let config = ReferenceConfig(hidden: 1, heads: 1, headDim: 1, linearFeatureDim: 1)
        let eps = 1e-6, e2 = exp(-2.0)
        let expected = [1.5 * 1.5 * 0.5 / (1.5 * 1.5 + eps),
                        e2 * (1.5 * 0.5 + e2 * -2) / (e2 * (1.5 + e2) + eps)]
        for (name, got) in [
            ("quadratic", ReferenceAttention.linear(x: [0.5, -2], batch: 1, length: 2, config: config,
                                                    weights: weights)),
            ("recurrent", ReferenceAttention.linearRecurrent(x: [0.5, -2], batch: 1, length: 2, config: config,
                                                             weights: weights)),
        ] {
            let r = compareClose("hand-computed \(name)", expected, got, atol: 1e-14)
            #expect(r.ok, "\(r)")
        }
    }

    /// T = 1: out = W_o·concat_h (a_h / (a_h + ε))·v_h with a_h = φ(q_h)·φ(k_h).
    @Test func singleToken() {
        let C = 6, H = 2, K = 3, D = 4
        let config = ReferenceConfig(hidden: C, heads: H, headDim: D, linearFeatureDim: K)
        let weights = makeWeights(ReferenceAttention.linearWeightShapes(config: config), seed: 110)
        var rng = SplitMix64(seed: 111)
        let x = rng.values(C)
        let phi = { (v: [Double]) in v.map { $0 > 0 ? $0 + 1 : exp($0) } }
        let q = testMatVec(weights["q_proj.weight"]!, x), k = testMatVec(weights["k_proj.weight"]!, x)
        let v = testMatVec(weights["v_proj.weight"]!, x)
        var concat = [Double]()
        for h in 0..<H {
            let a = zip(phi(Array(q[(h * K)..<((h + 1) * K)])), phi(Array(k[(h * K)..<((h + 1) * K)])))
                .reduce(0) { $0 + $1.0 * $1.1 }
            concat += v[(h * D)..<((h + 1) * D)].map { a / (a + 1e-6) * $0 }
        }
        let expected = testMatVec(weights["o_proj.weight"]!, concat)
        let got = ReferenceAttention.linear(x: x, batch: 1, length: 1, config: config, weights: weights)
        let r = compareClose("linear T=1", expected, got)
        #expect(r.ok, "\(r)")
    }
}
