// The softmax family (MHA, GQA, MQA, SWA) against its defining identities and hand-computed cases.

import AttentionReference
import Foundation
import Testing

@Suite("Softmax family reference")
struct SoftmaxFamilyReferenceTests {
    /// GQA with G < H equals MHA whose k/v weights are the GQA kv heads repeated per group:
    /// MHA kv head h uses the rows of GQA kv head h / (H/G) (consecutive query heads share, as repeat_kv).
    @Test(arguments: [(1, nil), (2, nil), (2, 3), (4, nil)] as [(Int, Int?)])
    func groupedEqualsRepeatedMultiHead(kvHeads G: Int, window: Int?) {
        let H = 4, D = 4, C = 10, B = 2, T = 7
        let gqa = ReferenceConfig(hidden: C, heads: H, kvHeads: G, headDim: D, window: window)
        var mha = gqa
        mha.kvHeads = H
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: gqa), seed: UInt64(30 + G))
        var mhaWeights = weights
        for name in ["k_proj.weight", "v_proj.weight"] {
            var repeated = [Double]()
            for h in 0..<H { repeated += rows(weights[name]!, (h / (H / G)) * D, D).flatMap { $0 } }
            mhaWeights[name] = ReferenceTensor(shape: [H * D, C], values: repeated)
        }
        var rng = SplitMix64(seed: 31)
        let x = rng.values(B * T * C)
        let got = ReferenceAttention.softmaxFamily(x: x, batch: B, length: T, config: gqa, weights: weights,
                                                   positionOffset: 2)
        let expected = ReferenceAttention.softmaxFamily(x: x, batch: B, length: T, config: mha, weights: mhaWeights,
                                                        positionOffset: 2)
        let r = compareClose("GQA G=\(G) w=\(String(describing: window)) vs repeated MHA", expected, got)
        #expect(r.ok, "\(r)")
    }

    /// A window of at least T keys is full causal attention.
    @Test(arguments: [7, 8, 20])
    func wideWindowIsFullCausal(window: Int) {
        let T = 7, B = 2
        let full = ReferenceConfig(hidden: 8, heads: 2, kvHeads: 1, headDim: 4)
        var windowed = full
        windowed.window = window
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: full), seed: 40)
        var rng = SplitMix64(seed: 41)
        let x = rng.values(B * T * 8)
        let expected = ReferenceAttention.softmaxFamily(x: x, batch: B, length: T, config: full, weights: weights)
        let got = ReferenceAttention.softmaxFamily(x: x, batch: B, length: T, config: windowed, weights: weights)
        #expect(got == expected, "window \(window) ≥ T = \(T) differs from full causal")
    }

    /// A narrower window really drops keys: w = T − 1 differs from full causal at the last token only.
    @Test func narrowWindowDropsOldKeys() {
        let T = 6, C = 8
        let full = ReferenceConfig(hidden: C, heads: 2, headDim: 4)
        var windowed = full
        windowed.window = T - 1
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: full), seed: 42)
        var rng = SplitMix64(seed: 43)
        let x = rng.values(T * C)
        let a = ReferenceAttention.softmaxFamily(x: x, batch: 1, length: T, config: full, weights: weights)
        let b = ReferenceAttention.softmaxFamily(x: x, batch: 1, length: T, config: windowed, weights: weights)
        #expect(Array(a[0..<((T - 1) * C)]) == Array(b[0..<((T - 1) * C)]))
        #expect(!compareClose("last token", Array(a[((T - 1) * C)...]), Array(b[((T - 1) * C)...])).ok)
    }

    /// Window 1: each token attends only to itself, so out_t = W_o·concat_h v_{h/(H/G)}(t).
    @Test(arguments: [1, 2, 4])
    func windowOneIsOwnValue(kvHeads G: Int) {
        let H = 4, D = 2, C = 6, B = 2, T = 5
        let config = ReferenceConfig(hidden: C, heads: H, kvHeads: G, headDim: D, window: 1)
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: config), seed: 50)
        var rng = SplitMix64(seed: 51)
        let x = rng.values(B * T * C)
        let got = ReferenceAttention.softmaxFamily(x: x, batch: B, length: T, config: config, weights: weights)
        let expected = ownValueOutput(x: x, tokens: B * T, config: config, weights: weights)
        let r = compareClose("window 1, G=\(G)", expected, got)
        #expect(r.ok, "\(r)")
    }

    /// T = 1: the softmax over one key is 1, so out = W_o·(v expanded over the query heads).
    @Test(arguments: [(3, 3), (4, 2), (4, 1)])
    func singleTokenIsOwnValue(heads H: Int, kvHeads G: Int) {
        let C = 9, B = 3
        let config = ReferenceConfig(hidden: C, heads: H, kvHeads: G, headDim: 6)
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: config), seed: 60)
        var rng = SplitMix64(seed: 61)
        let x = rng.values(B * C)
        let got = ReferenceAttention.softmaxFamily(x: x, batch: B, length: 1, config: config, weights: weights,
                                                   positionOffset: 5)
        let expected = ownValueOutput(x: x, tokens: B, config: config, weights: weights)
        let r = compareClose("T=1 H=\(H) G=\(G)", expected, got)
        #expect(r.ok, "\(r)")
    }

    /// Hand-computed: C = D = 2, H = 1, identity weights, x_0 = (1, 0), x_1 = (1, 2), RoPE θ_0 = 1.
    /// Token 0 is not rotated; q_1 = k_1 = R(1)·(1, 2) = (cos 1 − 2 sin 1, 2 cos 1 + sin 1), so token 1's
    /// scores are (q_1·k_0, q_1·k_1) / √2 = (cos 1 − 2 sin 1, 5) / √2 and
    /// out_1 = p_0·(1, 0) + p_1·(1, 2); out_0 = v_0 = (1, 0).
    @Test func handComputedTwoTokens() {
        let identity = ReferenceTensor(shape: [2, 2], values: [1, 0, 0, 1])
        let weights: ReferenceWeights = ["q_proj.weight": identity, "k_proj.weight": identity,
                                         "v_proj.weight": identity, "o_proj.weight": identity]
        let config = ReferenceConfig(hidden: 2, heads: 1)
        let got = ReferenceAttention.softmaxFamily(x: [1, 0, 1, 2], batch: 1, length: 2, config: config,
                                                   weights: weights)
        let s0 = (cos(1.0) - 2 * sin(1.0)) / 2.0.squareRoot(), s1 = 5 / 2.0.squareRoot()
        let p0 = exp(s0) / (exp(s0) + exp(s1)), p1 = exp(s1) / (exp(s0) + exp(s1))
        let r = compareClose("hand-computed T=2", [1, 0, p0 + p1, 2 * p1], got, atol: 1e-14)
        #expect(r.ok, "\(r)")
    }

    /// RoPE makes scores depend only on position differences, so with no past cache a shift of
    /// every position (positionOffset) leaves the outputs unchanged.
    @Test(arguments: [false, true])
    func positionOffsetShiftInvariant(interleaved: Bool) {
        let C = 8, T = 6
        let config = ReferenceConfig(hidden: C, heads: 2, kvHeads: 1, headDim: 8, window: 4,
                                     ropeInterleaved: interleaved)
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: config), seed: 70)
        var rng = SplitMix64(seed: 71)
        let x = rng.values(2 * T * C)
        let base = ReferenceAttention.softmaxFamily(x: x, batch: 2, length: T, config: config, weights: weights)
        for offset in [1, 37, 1000] {
            let shifted = ReferenceAttention.softmaxFamily(x: x, batch: 2, length: T, config: config,
                                                           weights: weights, positionOffset: offset)
            let r = compareClose("offset \(offset)", base, shifted, atol: 1e-11, rtol: 1e-9)
            #expect(r.ok, "\(r)")
        }
    }

    /// The interleaved flag is wired through: interleaved RoPE on q/k rows permuted within each head
    /// (half-split index i ↦ 2i, i + D/2 ↦ 2i + 1) equals half-split RoPE on the original rows.
    @Test func interleavedEqualsPermutedHalfSplit() {
        let C = 8, H = 2, G = 2, D = 6, T = 5
        let half = ReferenceConfig(hidden: C, heads: H, kvHeads: G, headDim: D)
        var interleaved = half
        interleaved.ropeInterleaved = true
        let weights = makeWeights(ReferenceAttention.softmaxFamilyWeightShapes(config: half), seed: 80)
        var permuted = weights
        for (name, heads) in [("q_proj.weight", H), ("k_proj.weight", G)] {
            let w = weights[name]!
            var values = w.values
            for head in 0..<heads {
                for i in 0..<(D / 2) {
                    for (from, to) in [(i, 2 * i), (i + D / 2, 2 * i + 1)] {
                        for c in 0..<C { values[(head * D + to) * C + c] = w.values[(head * D + from) * C + c] }
                    }
                }
            }
            permuted[name] = ReferenceTensor(shape: w.shape, values: values)
        }
        var rng = SplitMix64(seed: 81)
        let x = rng.values(T * C)
        let expected = ReferenceAttention.softmaxFamily(x: x, batch: 1, length: T, config: half, weights: weights,
                                                        positionOffset: 4)
        let got = ReferenceAttention.softmaxFamily(x: x, batch: 1, length: T, config: interleaved,
                                                   weights: permuted, positionOffset: 4)
        let r = compareClose("interleaved on permuted rows", expected, got)
        #expect(r.ok, "\(r)")
        let unpermuted = ReferenceAttention.softmaxFamily(x: x, batch: 1, length: T, config: interleaved,
                                                          weights: weights, positionOffset: 4)
        #expect(!compareClose("interleaved on original rows", expected, unpermuted).ok)
    }
}

/// out_t = W_o·concat_h v_{h/(H/G)}(t) for each of `tokens` rows of x: attention to oneself only.
private func ownValueOutput(x: [Double], tokens: Int, config: ReferenceConfig, weights: ReferenceWeights) -> [Double] {
    let C = config.hidden, H = config.heads, G = config.kvHeads, D = config.headDim
    var out = [Double]()
    for n in 0..<tokens {
        let v = testMatVec(weights["v_proj.weight"]!, Array(x[(n * C)..<((n + 1) * C)]))  // [G·D]
        var concat = [Double]()
        for h in 0..<H { concat += v[((h / (H / G)) * D)..<((h / (H / G) + 1) * D)] }
        out += testMatVec(weights["o_proj.weight"]!, concat)
    }
    return out
}
