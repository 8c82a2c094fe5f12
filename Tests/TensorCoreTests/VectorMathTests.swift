// VectorMath (the SIMD exp, max, dot, weighted row sums of the attention kernels)
// against Foundation and plain loops.

import Foundation
import Testing
import TensorCore
import TestSupport

@Suite("VectorMath")
struct VectorMathTests {
    /// Relative error of the polynomial exp against Foundation's expf, on a dense grid of
    /// [−86.5, 88.7] and on random points: ≤ 2 ulp (2.4e−7).
    @Test func expMatchesFoundationOverItsRange() {
        var worst: Float = 0, worstX: Float = 0
        var xs: [Float] = stride(from: Float(-86.5), through: 88.7, by: 0.00123).map { $0 }
        var rng = Xoshiro256StarStar(seed: 5)
        for _ in 0..<100_000 { xs.append(Float(rng.nextDouble()) * 175.2 - 86.5) }
        xs += [0, -0.0, 1, -1, 1e-8, -1e-8, 0.5 * Float(M_LN2), -0.5 * Float(M_LN2), 88.72, -86.49]
        var i = 0
        while i < xs.count {
            var v = SIMD8<Float>(repeating: 0)
            let n = min(8, xs.count - i)
            for l in 0..<n { v[l] = xs[i + l] }
            let e = VectorMath.exp(v)
            for l in 0..<n {
                let want = Foundation.exp(Double(xs[i + l]))
                let rel = Float(abs(Double(e[l]) - want) / want)
                if !(rel <= worst) { worst = rel; worstX = xs[i + l] }
            }
            i += 8
        }
        #expect(worst <= 2.4e-7, "max relative error \(worst) at x = \(worstX)")
    }

    /// Far below the range the result is 0 (the true value is < 2.9e−38); masked scores
    /// are −inf and must give exactly 0; overflow gives +inf; NaN propagates.
    @Test func expEdgeCases() {
        for x: Float in [-86.6, -87.5, -100, -104, -1e4, -1e30, -.greatestFiniteMagnitude, -.infinity] {
            let e = VectorMath.exp(x)
            #expect(e >= 0 && e <= 2.9e-38, "exp(\(x)) = \(e)")
        }
        #expect(VectorMath.exp(-Float.infinity) == 0)
        #expect(VectorMath.exp(Float(89)) == .infinity)
        #expect(VectorMath.exp(Float.infinity) == .infinity)
        #expect(VectorMath.exp(Float.nan).isNaN)
        #expect(VectorMath.exp(Float(0)) == 1)
        // One lane per case, mixed in one vector: lanes do not leak into each other.
        let v = SIMD8<Float>(-.infinity, 0, 1, -100, 50, .nan, -3.5, 88.7)
        let e = VectorMath.exp(v)
        #expect(e[0] == 0 && e[1] == 1 && e[3] == 0 && e[5].isNaN)
        for l in [2, 4, 6, 7] {
            let want = Foundation.exp(Double(v[l]))
            #expect(abs(Double(e[l]) - want) / want <= 2.4e-7, "lane \(l): exp(\(v[l])) = \(e[l]), want \(want)")
        }
    }

    /// The softmax's exp (x ≤ 0) equals the general one bit for bit on a dense grid of
    /// [−100, 0], and keeps its edge cases: −inf → 0, 0 → 1, NaN → NaN.
    @Test func expNonPositiveEqualsExp() {
        var x: Float = -100
        while x <= 0 {
            let v = SIMD8<Float>((0..<8).map { x + Float($0) * 1e-4 })
            let a = VectorMath.expNonPositive(v), b = VectorMath.exp(v)
            for l in 0..<8 { #expect(a[l] == b[l], "exp(\(v[l])): \(a[l]) vs \(b[l])") }
            x += 0.0137
        }
        let e = VectorMath.expNonPositive(SIMD8<Float>(-.infinity, 0, -0.0, .nan, -87, -1e30, -1, -88))
        #expect(e[0] == 0 && e[1] == 1 && e[2] == 1 && e[3].isNaN && e[4] == VectorMath.exp(-87) && e[5] == 0)
        #expect(e[6] == VectorMath.exp(Float(-1)) && e[7] == VectorMath.exp(Float(-88)))
    }

    /// The softmax-row helpers at lengths that leave every tail size (0 … 7), with −inf
    /// (masked) entries: exp-shifted sums and maxima against plain loops in Double.
    @Test(arguments: [1, 7, 8, 9, 16, 63, 100])
    func rowHelpersMatchPlainLoops(count: Int) {
        var rng = Xoshiro256StarStar(seed: UInt64(count))
        var row = (0..<count).map { _ in rng.nextNormal() * 10 }
        if count > 2 { row[1] = -.infinity; row[count - 1] = -.infinity }
        let m = row.withUnsafeBufferPointer { VectorMath.max($0.baseAddress!, count: count) }
        #expect(m == row.max()!)
        let shift = m
        var got = row
        let total = got.withUnsafeMutableBufferPointer { VectorMath.expShiftedSum($0.baseAddress!, count: count, shift: shift) }
        // The shift is subtracted in Float, as the kernel does; the exp itself in Double.
        let want = row.map { Foundation.exp(Double($0 - shift)) }
        let r = compareClose("exp(row − max) length \(count)", want.map(Float.init), got, atol: 0, rtol: 3e-7)
        #expect(r.ok, "\(r)")
        let wantTotal = want.reduce(0, +)
        #expect(abs(Double(total) - wantTotal) <= 1e-6 * wantTotal, "sum \(total) vs \(wantTotal)")
        if count > 2 { #expect(got[1] == 0 && got[count - 1] == 0) }
    }

    /// dot and weightedRowSum at widths that exercise the 32-, 8- and 1-wide loops.
    @Test(arguments: [1, 5, 8, 16, 24, 37, 64, 288])
    func dotAndWeightedRowSumMatchPlainLoops(n: Int) {
        var rng = Xoshiro256StarStar(seed: UInt64(1000 + n))
        let rows = 11, ldx = n + 3
        let a = (0..<n).map { _ in rng.nextNormal() }, b = (0..<n).map { _ in rng.nextNormal() }
        let d = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { VectorMath.dot(pa.baseAddress!, $0.baseAddress!, count: n) } }
        let wantDot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(Double(d) - wantDot) <= 1e-5 * (1 + abs(wantDot)), "dot \(d) vs \(wantDot)")

        let x = (0..<(rows * ldx)).map { _ in rng.nextNormal() }, w = (0..<rows).map { _ in rng.nextNormal() }
        let y0 = (0..<n).map { _ in rng.nextNormal() }
        var y = y0
        y.withUnsafeMutableBufferPointer { py in
            w.withUnsafeBufferPointer { pw in
                x.withUnsafeBufferPointer { px in
                    VectorMath.weightedRowSum(py.baseAddress!, n: n, beta: 0.5, weights: pw.baseAddress!, rows: rows,
                                              x: px.baseAddress!, ldx: ldx)
                }
            }
        }
        let want = (0..<n).map { j in Float(0.5 * Double(y0[j]) + (0..<rows).reduce(0.0) { $0 + Double(w[$1]) * Double(x[$1 * ldx + j]) }) }
        let r = compareClose("weightedRowSum n \(n)", want, y, atol: 1e-5, rtol: 1e-5)
        #expect(r.ok, "\(r)")
    }
}
