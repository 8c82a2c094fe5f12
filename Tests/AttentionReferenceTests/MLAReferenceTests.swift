// MLA: the absorbed latent-space decode against the naive path, single-token and
// position-shift identities, and the RoPE pairing flag.

import AttentionReference
import Foundation
import Testing

private func mlaConfig(qLoraRank: Int, interleaved: Bool) -> ReferenceConfig {
    ReferenceConfig(hidden: 12, heads: 3, ropeInterleaved: interleaved, kvLoraRank: 5, qLoraRank: qLoraRank,
                    qkNopeHeadDim: 4, qkRopeHeadDim: 6, vHeadDim: 3)
}

@Suite("MLA reference")
struct MLAReferenceTests {
    /// Absorbed decode, token by token from an empty cache, equals the naive MLA on the whole
    /// sequence; the cache it builds holds each token's c_KV and rotated k_pe.
    @Test(arguments: [(0, false, 0, 7), (4, false, 3, 7), (0, true, 11, 5), (4, true, 0, 1), (4, false, 100, 16)])
    func absorbedDecodeEqualsNaive(qLoraRank: Int, interleaved: Bool, positionOffset: Int, length T: Int) {
        let config = mlaConfig(qLoraRank: qLoraRank, interleaved: interleaved)
        let C = config.hidden, B = 2
        let weights = makeWeights(ReferenceAttention.mlaWeightShapes(config: config), seed: 120)
        var rng = SplitMix64(seed: 121)
        let x = rng.values(B * T * C)
        let naive = ReferenceAttention.mla(x: x, batch: B, length: T, config: config, weights: weights,
                                           positionOffset: positionOffset)
        var decoded = [Double]()
        for b in 0..<B {
            var latents = [[Double]](), ropeKeys = [[Double]]()
            for t in 0..<T {
                let xToken = Array(x[((b * T + t) * C)..<((b * T + t + 1) * C)])
                let step = ReferenceAttention.mlaAbsorbedDecode(
                    xToken: xToken, position: positionOffset + t, cachedLatent: latents, cachedRopeKey: ropeKeys,
                    config: config, weights: weights)
                #expect(step.newLatent.count == config.kvLoraRank && step.newRopeKey.count == config.qkRopeHeadDim)
                latents.append(step.newLatent)
                ropeKeys.append(step.newRopeKey)
                decoded += step.out
            }
        }
        let r = compareClose("qLora\(qLoraRank) interleaved=\(interleaved) offset\(positionOffset) T\(T) absorbed vs naive",
                             naive, decoded)
        #expect(r.ok, "\(r)")
    }

    /// The decode step's new cache entries are c_KV = RMSNorm(first d_c of kv_a·x) and RoPE(rest) at its position.
    @Test func decodeCacheEntries() {
        let config = mlaConfig(qLoraRank: 0, interleaved: false)
        let weights = makeWeights(ReferenceAttention.mlaWeightShapes(config: config), seed: 130)
        var rng = SplitMix64(seed: 131)
        let x = rng.values(config.hidden)
        let step = ReferenceAttention.mlaAbsorbedDecode(xToken: x, position: 9, cachedLatent: [], cachedRopeKey: [],
                                                        config: config, weights: weights)
        let a = testMatVec(weights["kv_a_proj_with_mqa.weight"]!, x)
        let dc = config.kvLoraRank
        let compressed = Array(a[0..<dc])
        let rms = (compressed.reduce(0) { $0 + $1 * $1 } / Double(dc) + config.rmsEps).squareRoot()
        let gamma = weights["kv_a_layernorm.weight"]!.values
        let latent = (0..<dc).map { compressed[$0] / rms * gamma[$0] }
        let ropeKey = ReferenceAttention.applyRoPE(Array(a[dc...]), position: 9, base: 10000, interleaved: false)
        let r1 = compareClose("new latent", latent, step.newLatent), r2 = compareClose("new rope key", ropeKey, step.newRopeKey)
        #expect(r1.ok, "\(r1)")
        #expect(r2.ok, "\(r2)")
    }

    /// Hand-computed: C = 3, H = 1, dn = 1, dr = 2, dv = 1, dc = 1, eps = 0, q_proj = kv_a = I₃,
    /// kv_a_layernorm = 1, kv_b_proj = (2, 3)ᵀ, o_proj = (1, 0, 0)ᵀ; x_0 = (1, 1, 0), x_1 = (−1, 0, 1).
    /// c_KV = sign(x[0]): c_0 = 1, c_1 = −1, so k_nope = (2, −2), v = (3, −3);
    /// k_pe_0 = (1, 0); q_pe_1 = k_pe_1 = R(1)·(0, 1) = (−sin 1, cos 1); q_nope_1 = −1.
    /// Token 1: s_0 = (−1·2 − sin 1)/√3, s_1 = (−1·−2 + 1)/√3 = 3/√3; out_1 = (3p_0 − 3p_1, 0, 0); out_0 = (3, 0, 0).
    @Test func handComputedTwoTokens() {
        var config = ReferenceConfig(hidden: 3, heads: 1, kvLoraRank: 1, qkNopeHeadDim: 1, qkRopeHeadDim: 2,
                                     vHeadDim: 1)
        config.rmsEps = 0
        let identity = ReferenceTensor(shape: [3, 3], values: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let weights: ReferenceWeights = [
            "q_proj.weight": identity, "kv_a_proj_with_mqa.weight": identity,
            "kv_a_layernorm.weight": ReferenceTensor(shape: [1], values: [1]),
            "kv_b_proj.weight": ReferenceTensor(shape: [2, 1], values: [2, 3]),
            "o_proj.weight": ReferenceTensor(shape: [3, 1], values: [1, 0, 0]),
        ]
        let x: [Double] = [1, 1, 0, -1, 0, 1]
        let s0 = (-2 - sin(1.0)) / 3.0.squareRoot(), s1 = 3 / 3.0.squareRoot()
        let p0 = exp(s0) / (exp(s0) + exp(s1)), p1 = exp(s1) / (exp(s0) + exp(s1))
        let expected = [3, 0, 0, 3 * p0 - 3 * p1, 0, 0]
        let naive = ReferenceAttention.mla(x: x, batch: 1, length: 2, config: config, weights: weights)
        let r = compareClose("MLA hand-computed T=2", expected, naive, atol: 1e-14)
        #expect(r.ok, "\(r)")
        let first = ReferenceAttention.mlaAbsorbedDecode(xToken: [1, 1, 0], position: 0, cachedLatent: [],
                                                         cachedRopeKey: [], config: config, weights: weights)
        let second = ReferenceAttention.mlaAbsorbedDecode(xToken: [-1, 0, 1], position: 1,
                                                          cachedLatent: [first.newLatent],
                                                          cachedRopeKey: [first.newRopeKey],
                                                          config: config, weights: weights)
        let rd = compareClose("MLA absorbed hand-computed T=2", expected, first.out + second.out, atol: 1e-14)
        #expect(rd.ok, "\(rd)")
    }

    /// T = 1: softmax over one key is 1, so out = W_o·concat_h W_UV_h·c_KV.
    @Test(arguments: [0, 4])
    func singleTokenIsOwnValue(qLoraRank: Int) {
        let config = mlaConfig(qLoraRank: qLoraRank, interleaved: false)
        let C = config.hidden, H = config.heads, dn = config.qkNopeHeadDim, dv = config.vHeadDim
        let dc = config.kvLoraRank
        let weights = makeWeights(ReferenceAttention.mlaWeightShapes(config: config), seed: 140)
        var rng = SplitMix64(seed: 141)
        let x = rng.values(C)
        let a = testMatVec(weights["kv_a_proj_with_mqa.weight"]!, x)
        let rms = (a[0..<dc].reduce(0) { $0 + $1 * $1 } / Double(dc) + config.rmsEps).squareRoot()
        let gamma = weights["kv_a_layernorm.weight"]!.values
        let latent = (0..<dc).map { a[$0] / rms * gamma[$0] }
        let kv = testMatVec(weights["kv_b_proj.weight"]!, latent)  // [H·(dn+dv)]
        var concat = [Double]()
        for h in 0..<H { concat += kv[(h * (dn + dv) + dn)..<((h + 1) * (dn + dv))] }
        let expected = testMatVec(weights["o_proj.weight"]!, concat)
        let got = ReferenceAttention.mla(x: x, batch: 1, length: 1, config: config, weights: weights, positionOffset: 3)
        let r = compareClose("MLA T=1 qLora\(qLoraRank)", expected, got)
        #expect(r.ok, "\(r)")
    }

    /// With eps = 0, RMSNorm makes c_Q and c_KV invariant to scaling their down-projections:
    /// scaling q_a_proj, or the d_c latent rows of kv_a_proj_with_mqa, by 7 leaves the output unchanged,
    /// while scaling the norm weights (which RMSNorm does not undo) changes it.
    @Test func latentsAreRMSNormalised() {
        var config = mlaConfig(qLoraRank: 4, interleaved: false)
        config.rmsEps = 0
        let T = 5, C = config.hidden, dc = config.kvLoraRank
        let weights = makeWeights(ReferenceAttention.mlaWeightShapes(config: config), seed: 170)
        var rng = SplitMix64(seed: 171)
        let x = rng.values(T * C)
        let run = { (w: ReferenceWeights) in
            ReferenceAttention.mla(x: x, batch: 1, length: T, config: config, weights: w, positionOffset: 1)
        }
        let expected = run(weights)
        func scaled(_ name: String, rows: Range<Int>? = nil, by factor: Double) -> ReferenceWeights {
            var w = weights
            let t = weights[name]!
            let cols = t.shape.count == 2 ? t.shape[1] : 1
            let scaledRows = rows ?? 0..<t.shape[0]
            var values = t.values
            for i in scaledRows { for j in 0..<cols { values[i * cols + j] *= factor } }
            w[name] = ReferenceTensor(shape: t.shape, values: values)
            return w
        }
        for (name, w) in [("q_a_proj ×7", scaled("q_a_proj.weight", by: 7)),
                          ("kv_a latent rows ×7", scaled("kv_a_proj_with_mqa.weight", rows: 0..<dc, by: 7))] {
            let r = compareClose(name, expected, run(w))
            #expect(r.ok, "\(r)")
        }
        for (name, w) in [("q_a_layernorm ×7", scaled("q_a_layernorm.weight", by: 7)),
                          ("kv_a_layernorm ×7", scaled("kv_a_layernorm.weight", by: 7)),
                          ("kv_a rope rows ×7", scaled("kv_a_proj_with_mqa.weight", rows: dc..<(dc + config.qkRopeHeadDim), by: 7))] {
            #expect(!compareClose(name, expected, run(w)).ok, "\(name) should change the output")
        }
    }

    /// Shifting every position leaves the outputs unchanged (RoPE is relative, no past cache),
    /// while changing the RoPE base does change them (RoPE is applied).
    @Test(arguments: [false, true])
    func positionShiftInvariant(interleaved: Bool) {
        let config = mlaConfig(qLoraRank: 4, interleaved: interleaved)
        let T = 6, C = config.hidden
        let weights = makeWeights(ReferenceAttention.mlaWeightShapes(config: config), seed: 150)
        var rng = SplitMix64(seed: 151)
        let x = rng.values(T * C, scale: 2)
        let base = ReferenceAttention.mla(x: x, batch: 1, length: T, config: config, weights: weights)
        for offset in [1, 64, 2048] {
            let shifted = ReferenceAttention.mla(x: x, batch: 1, length: T, config: config, weights: weights,
                                                 positionOffset: offset)
            let r = compareClose("MLA offset \(offset)", base, shifted, atol: 1e-11, rtol: 1e-9)
            #expect(r.ok, "\(r)")
        }
        var otherBase = config
        otherBase.ropeBase = 3
        let changed = ReferenceAttention.mla(x: x, batch: 1, length: T, config: otherBase, weights: weights)
        #expect(!compareClose("MLA rope base 3", base, changed).ok)
    }

    /// The interleaved flag reaches both q_pe and k_pe: interleaved RoPE on permuted rope rows
    /// (half-split index i ↦ 2i, i + R/2 ↦ 2i + 1) equals half-split on the original rows.
    @Test func interleavedEqualsPermutedHalfSplit() {
        let half = mlaConfig(qLoraRank: 0, interleaved: false)
        let interleaved = mlaConfig(qLoraRank: 0, interleaved: true)
        let C = half.hidden, H = half.heads, dn = half.qkNopeHeadDim, dr = half.qkRopeHeadDim, dc = half.kvLoraRank
        let T = 5
        let weights = makeWeights(ReferenceAttention.mlaWeightShapes(config: half), seed: 160)
        func permuteRows(_ w: ReferenceTensor, ropeStarts: [Int]) -> ReferenceTensor {
            var values = w.values
            for start in ropeStarts {
                for i in 0..<(dr / 2) {
                    for (from, to) in [(i, 2 * i), (i + dr / 2, 2 * i + 1)] {
                        for c in 0..<C { values[(start + to) * C + c] = w.values[(start + from) * C + c] }
                    }
                }
            }
            return ReferenceTensor(shape: w.shape, values: values)
        }
        var permuted = weights
        permuted["q_proj.weight"] = permuteRows(weights["q_proj.weight"]!,
                                                ropeStarts: (0..<H).map { $0 * (dn + dr) + dn })
        permuted["kv_a_proj_with_mqa.weight"] = permuteRows(weights["kv_a_proj_with_mqa.weight"]!, ropeStarts: [dc])
        var rng = SplitMix64(seed: 161)
        let x = rng.values(T * C, scale: 2)
        let expected = ReferenceAttention.mla(x: x, batch: 1, length: T, config: half, weights: weights,
                                              positionOffset: 2)
        let got = ReferenceAttention.mla(x: x, batch: 1, length: T, config: interleaved, weights: permuted,
                                         positionOffset: 2)
        let r = compareClose("MLA interleaved on permuted rows", expected, got)
        #expect(r.ok, "\(r)")
        let unpermuted = ReferenceAttention.mla(x: x, batch: 1, length: T, config: interleaved, weights: weights,
                                                positionOffset: 2)
        #expect(!compareClose("MLA interleaved on original rows", expected, unpermuted).ok)
    }
}
