// RoPE: hand-computed values for both pairings, the relative-position property, norm preservation.

import AttentionReference
import Foundation
import Testing

@Suite("RoPE reference")
struct RoPEReferenceTests {
    /// D = 4, base 10000: θ_0 = 1, θ_1 = 10000^(−1/2) = 0.01. Half-split pairs (0, 2), (1, 3);
    /// interleaved pairs (0, 1), (2, 3). (a, b) ↦ (a cos φ − b sin φ, b cos φ + a sin φ).
    @Test func handComputedValues() {
        let rope = { (x: [Double], p: Int, i: Bool) in
            ReferenceAttention.applyRoPE(x, position: p, base: 10000, interleaved: i)
        }
        let checks: [(String, [Double], [Double])] = [
            ("half e0 p1", rope([1, 0, 0, 0], 1, false), [cos(1), 0, sin(1), 0]),
            ("half e1 p1", rope([0, 1, 0, 0], 1, false), [0, cos(0.01), 0, sin(0.01)]),
            ("half e2 p1", rope([0, 0, 1, 0], 1, false), [-sin(1), 0, cos(1), 0]),
            ("interleaved e0 p1", rope([1, 0, 0, 0], 1, true), [cos(1), sin(1), 0, 0]),
            ("interleaved e2 p3", rope([0, 0, 1, 0], 3, true), [0, 0, cos(0.03), sin(0.03)]),
            ("interleaved e1 p2", rope([0, 1, 0, 0], 2, true), [-sin(2), cos(2), 0, 0]),
            ("position 0", rope([0.3, -1, 2, 5], 0, false), [0.3, -1, 2, 5]),
        ]
        for (name, got, expected) in checks {
            let r = compareClose(name, expected, got, atol: 1e-15)
            #expect(r.ok, "\(r)")
        }
    }

    /// RoPE(q, m)·RoPE(k, n) depends only on m − n.
    @Test(arguments: [false, true])
    func relativePosition(interleaved: Bool) {
        var rng = SplitMix64(seed: 90)
        for D in [2, 8, 16] {
            let q = rng.values(D), k = rng.values(D)
            func score(_ m: Int, _ n: Int) -> Double {
                let a = ReferenceAttention.applyRoPE(q, position: m, base: 10000, interleaved: interleaved)
                let b = ReferenceAttention.applyRoPE(k, position: n, base: 10000, interleaved: interleaved)
                return zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            }
            for (m, n) in [(5, 2), (2, 5), (9, 9), (0, 7)] {
                for shift in [1, 13, 500] {
                    #expect(abs(score(m, n) - score(m + shift, n + shift)) < 1e-12,
                            "D=\(D) (\(m), \(n)) shifted by \(shift)")
                }
            }
            #expect(abs(score(5, 2) - score(2, 5)) > 1e-6, "D=\(D): the score should depend on the sign of m − n")
        }
    }

    /// Rotation preserves each pair's norm, so the vector's norm.
    @Test(arguments: [false, true])
    func preservesNorm(interleaved: Bool) {
        var rng = SplitMix64(seed: 91)
        for D in [2, 6, 32] {
            let x = rng.values(D)
            let norm = x.reduce(0) { $0 + $1 * $1 }
            for p in [0, 1, 17, 4096] {
                let y = ReferenceAttention.applyRoPE(x, position: p, base: 10000, interleaved: interleaved)
                #expect(abs(y.reduce(0) { $0 + $1 * $1 } - norm) < 1e-12, "D=\(D) p=\(p)")
                if p > 0 { #expect(y != x, "D=\(D) p=\(p) did not rotate") }
            }
        }
    }

    @Test func rmsNormHandComputed() {
        // y = (3, 4): mean(y²) = 12.5; eps 0 ⇒ y / sqrt(12.5) ⊙ (1, 2).
        let got = ReferenceAttention.rmsNorm([3, 4], weight: [1, 2], eps: 0)
        let r = compareClose("rmsNorm", [3 / 12.5.squareRoot(), 8 / 12.5.squareRoot()], got, atol: 1e-15)
        #expect(r.ok, "\(r)")
    }
}
