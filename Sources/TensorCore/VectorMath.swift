// Vectorised elementwise math for the hot loops (softmax rows, dot products, axpy):
// eight lanes at a time with AVX2/FMA code generation (this module builds with
// `-target-cpu haswell`; `addingProduct` on SIMD lowers to vfmadd).
//
// `VectorMath.exp` is the Cephes single-precision polynomial (Moshier, expf.c): range
// reduction x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 split in two for Cody–Waite),
// e^r ≈ 1 + r + r²·P(r) with a degree-5 P, then scaling by 2ⁿ through the exponent
// bits. Relative error ≤ 2 ulp against Foundation's expf on [−86.5, 88.7] (tested).
// Outside: x < −86.5 gives 0 (the true value is below 2.9e−38, near where expf turns
// subnormal), x > ln(FLT_MAX) gives +inf, exp(−inf) = 0, NaN stays NaN.

public enum VectorMath {
    public typealias V = SIMD8<Float>

    @usableFromInline static let log2e: Float = 1.44269504088896341
    @usableFromInline static let ln2Hi: Float = 0.693359375
    @usableFromInline static let ln2Lo: Float = -2.12194440e-4
    /// ln(FLT_MAX): above it e^x overflows.
    @usableFromInline static let upper: Float = 88.72283905206835
    /// Below it the result is flushed to 0 (2ⁿ⁻¹ must stay a normal number).
    @usableFromInline static let lower: Float = -86.5

    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inlinable @inline(__always)
    public static func store(_ x: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: x, as: V.self) }

    /// e^x for eight lanes.
    @inlinable @inline(__always)
    public static func exp(_ x: V) -> V {
        let xc = x.replacing(with: V(repeating: upper), where: x .> upper)
            .replacing(with: V(repeating: lower), where: x .< lower)
        var result = expInRange(xc)
        result.replace(with: V(repeating: 0), where: x .< lower)
        result.replace(with: V(repeating: .infinity), where: x .> upper)
        result.replace(with: x, where: x .!= x)  // NaN in, NaN out
        return result
    }

    /// e^x for lanes x ≤ 0 (a softmax's x − max): the same polynomial without the overflow
    /// clamp and its fix-ups, six instructions of about twenty-five fewer. −inf gives 0;
    /// NaN stays NaN (it passes the clamp and poisons the polynomial); positive x is
    /// outside the contract.
    @inlinable @inline(__always)
    public static func expNonPositive(_ x: V) -> V {
        var result = expInRange(x.replacing(with: V(repeating: lower), where: x .< lower))
        result.replace(with: V(repeating: 0), where: x .< lower)
        return result
    }

    /// The polynomial for x ∈ [lower, upper].
    @inlinable @inline(__always)
    static func expInRange(_ xc: V) -> V {
        // n = round(x·log2 e) by the 1.5·2²³ trick: t's low mantissa bits hold n.
        let magic = V(repeating: 12582912)
        let t = magic.addingProduct(xc, V(repeating: log2e))
        let n = t - magic
        var r = xc.addingProduct(n, V(repeating: -ln2Hi))
        r = r.addingProduct(n, V(repeating: -ln2Lo))
        var p = V(repeating: 1.9875691500e-4)
        p = V(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = V(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = V(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = V(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = V(repeating: 5.0000001201e-1).addingProduct(p, r)
        let y = (r + 1).addingProduct(p, r * r)
        // 2ⁿ⁻¹ from the exponent bits (n ∈ [−125, 128] after the clamp), times 2 after.
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ni &+ 126) &<< 23, to: V.self)
        return (y * scale) * 2
    }

    /// e^x for one value, through the same polynomial (for tails and tests).
    @inlinable
    public static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }

    /// row[j] = e^(row[j] − shift) for j < count; returns Σ row[j] (after). `shift` is at
    /// least every row[j] (the row's maximum, as a softmax uses it; −inf entries give 0).
    @inlinable
    public static func expShiftedSum(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        let s = V(repeating: shift)
        var acc = V()
        var j = 0
        while j &+ 8 <= count {
            let e = expNonPositive(load(UnsafePointer(row + j)) - s)
            store(e, row + j)
            acc += e
            j &+= 8
        }
        if j < count {
            var tail = V(repeating: -.infinity)
            for l in 0..<(count &- j) { tail[l] = row[j &+ l] }
            let e = expNonPositive(tail - s)  // padding lanes give e^(−inf) = 0
            for l in 0..<(count &- j) { row[j &+ l] = e[l] }
            acc += e
        }
        return acc.sum()
    }

    /// dst[j] = scale · e^(src[j] − shift) for j < count (src and dst may be the same row).
    @inlinable
    public static func scaledExpShifted(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int,
                                        shift: Float, scale: Float) {
        let s = V(repeating: shift), a = V(repeating: scale)
        var j = 0
        while j &+ 8 <= count {
            store(exp(load(src + j) - s) * a, dst + j)
            j &+= 8
        }
        while j < count { dst[j] = exp(src[j] - shift) * scale; j &+= 1 }
    }

    /// out[j] = a[j] · (b[j] − c) for j < count.
    @inlinable @inline(__always)
    public static func productOfDifference(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                           _ b: UnsafePointer<Float>, minus c: Float, count: Int) {
        let cv = V(repeating: c)
        var j = 0
        while j &+ 8 <= count { store(load(a + j) * (load(b + j) - cv), out + j); j &+= 8 }
        while j < count { out[j] = a[j] * (b[j] - c); j &+= 1 }
    }

    /// y[j] = x[j] · scale · w[j] for j < count (RMSNorm's output row).
    @inlinable @inline(__always)
    public static func scaledProduct(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                     scale: Float, count: Int) {
        let s = V(repeating: scale)
        var j = 0
        while j &+ 8 <= count { store(load(x + j) * s * load(w + j), y + j); j &+= 8 }
        while j < count { y[j] = x[j] * scale * w[j]; j &+= 1 }
    }

    /// One row of RMSNorm's backward, x̂ = x·inv: dw[j] += g[j]·x̂[j];
    /// dx[j] = inv · (g[j]·w[j] − x̂[j] · mean_k(g[k]·w[k]·x̂[k])).
    @inlinable
    public static func rmsNormRowBackward(x: UnsafePointer<Float>, g: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                          inv: Float, count: Int, dx: UnsafeMutablePointer<Float>,
                                          dw: UnsafeMutablePointer<Float>) {
        let iv = V(repeating: inv)
        var acc = V()
        var j = 0
        while j &+ 8 <= count {
            let xhat = load(x + j) * iv, gj = load(g + j)
            store(load(UnsafePointer(dw) + j).addingProduct(gj, xhat), dw + j)
            acc = acc.addingProduct(gj * load(w + j), xhat)
            j &+= 8
        }
        var dot = acc.sum()
        while j < count { let xhat = x[j] * inv; dw[j] += g[j] * xhat; dot += g[j] * w[j] * xhat; j &+= 1 }
        let meanDot = dot / Float(count), md = V(repeating: meanDot)
        j = 0
        while j &+ 8 <= count {
            let xhat = load(x + j) * iv
            store(iv * (load(g + j) * load(w + j) - xhat * md), dx + j)
            j &+= 8
        }
        while j < count { let xhat = x[j] * inv; dx[j] = inv * (g[j] * w[j] - xhat * meanDot); j &+= 1 }
    }

    /// Whether every x[0 ..< count] is finite (x − x is 0 exactly for finite x, NaN for ±inf
    /// and NaN). One pass, eight lanes at a time.
    @inlinable
    public static func allFinite(_ x: UnsafePointer<Float>, count: Int) -> Bool {
        var acc = V()
        var j = 0
        while j &+ 8 <= count {
            let v = load(x + j)
            acc += v - v  // stays 0 unless some lane was ±inf or NaN
            j &+= 8
        }
        var ok = acc == V()
        while j < count { ok = ok && x[j].isFinite; j &+= 1 }
        return ok
    }

    /// Σ x[i]² over i < count, accumulated in Double: four lanes of partial sums (i mod 4), added
    /// in lane order at the end, so the result depends only on the data.
    @inlinable
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD4<Double>()
        var j = 0
        while j &+ 4 <= count {
            let v = SIMD4<Double>(Double(x[j]), Double(x[j &+ 1]), Double(x[j &+ 2]), Double(x[j &+ 3]))
            acc = acc.addingProduct(v, v)
            j &+= 4
        }
        var s = (acc[0] + acc[1]) + (acc[2] + acc[3])
        while j < count { s += Double(x[j]) * Double(x[j]); j &+= 1 }
        return s
    }

    /// The largest of row[0 ..< count] (−inf when count is 0).
    @inlinable
    public static func max(_ row: UnsafePointer<Float>, count: Int) -> Float {
        var m = V(repeating: -.infinity)
        var j = 0
        while j &+ 8 <= count {
            let x = load(row + j)
            m = m.replacing(with: x, where: x .> m)  // (pointwiseMax is not inlined)
            j &+= 8
        }
        var best = m.max()
        while j < count { best = Swift.max(best, row[j]); j &+= 1 }
        return best
    }

    /// Σ a[i]·b[i] for i < count.
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = V(), s1 = V()
        var i = 0
        while i &+ 16 <= count {
            s0 = s0.addingProduct(load(a + i), load(b + i))
            s1 = s1.addingProduct(load(a + i + 8), load(b + i + 8))
            i &+= 16
        }
        if i &+ 8 <= count {
            s0 = s0.addingProduct(load(a + i), load(b + i))
            i &+= 8
        }
        var s = (s0 + s1).sum()
        while i < count { s += a[i] * b[i]; i &+= 1 }
        return s
    }

    /// (Σ a0, Σ a1, Σ a2, Σ a3): four horizontal sums at once, by halving (shuffles and
    /// adds) instead of four serial chains of lane additions.
    @inlinable @inline(__always)
    public static func sum4(_ a0: V, _ a1: V, _ a2: V, _ a3: V) -> SIMD4<Float> {
        let s0 = a0.lowHalf + a0.highHalf, s1 = a1.lowHalf + a1.highHalf
        let s2 = a2.lowHalf + a2.highHalf, s3 = a3.lowHalf + a3.highHalf
        let t01 = V(lowHalf: s0, highHalf: s1), t23 = V(lowHalf: s2, highHalf: s3)
        // [s0₀+s0₁, s0₂+s0₃, s1₀+s1₁, s1₂+s1₃] and likewise for s2, s3
        let u = V(lowHalf: t01.evenHalf + t01.oddHalf, highHalf: t23.evenHalf + t23.oddHalf)
        return u.evenHalf + u.oddHalf
    }

    @inlinable @inline(__always)
    public static func store4(_ x: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD4<Float>.self)
    }

    /// y[0 ..< n] += a·x[0 ..< n] + b·z[0 ..< n]: two rows folded in per pass over y.
    @inlinable @inline(__always)
    public static func axpy2(_ y: UnsafeMutablePointer<Float>, n: Int, _ a: Float, _ x: UnsafePointer<Float>,
                             _ b: Float, _ z: UnsafePointer<Float>) {
        let av = V(repeating: a), bv = V(repeating: b)
        var d = 0
        while d &+ 8 <= n {
            let t = load(UnsafePointer(y) + d).addingProduct(av, load(x + d)).addingProduct(bv, load(z + d))
            store(t, y + d)
            d &+= 8
        }
        while d < n { y[d] += a * x[d] + b * z[d]; d &+= 1 }
    }

    /// y[0 ..< n] += a·x + b·z + c·u + e·w (each [0 ..< n]): four rows folded in per pass over y.
    @inlinable @inline(__always)
    public static func axpy4(_ y: UnsafeMutablePointer<Float>, n: Int, _ a: Float, _ x: UnsafePointer<Float>,
                             _ b: Float, _ z: UnsafePointer<Float>, _ c: Float, _ u: UnsafePointer<Float>,
                             _ e: Float, _ w: UnsafePointer<Float>) {
        let av = V(repeating: a), bv = V(repeating: b), cv = V(repeating: c), ev = V(repeating: e)
        var d = 0
        while d &+ 8 <= n {
            let t = load(UnsafePointer(y) + d).addingProduct(av, load(x + d)).addingProduct(bv, load(z + d))
                .addingProduct(cv, load(u + d)).addingProduct(ev, load(w + d))
            store(t, y + d)
            d &+= 8
        }
        while d < n { y[d] += a * x[d] + b * z[d] + c * u[d] + e * w[d]; d &+= 1 }
    }

    /// y[0 ..< n] += a·x[0 ..< n].
    @inlinable @inline(__always)
    public static func axpy(_ y: UnsafeMutablePointer<Float>, n: Int, _ a: Float, _ x: UnsafePointer<Float>) {
        let av = V(repeating: a)
        var d = 0
        while d &+ 8 <= n {
            store(load(UnsafePointer(y) + d).addingProduct(av, load(x + d)), y + d)
            d &+= 8
        }
        while d < n { y[d] += a * x[d]; d &+= 1 }
    }

    /// y[0 ..< n] *= a.
    @inlinable @inline(__always)
    public static func scale(_ y: UnsafeMutablePointer<Float>, n: Int, by a: Float) {
        let av = V(repeating: a)
        var d = 0
        while d &+ 8 <= n { store(load(UnsafePointer(y) + d) * av, y + d); d &+= 8 }
        while d < n { y[d] *= a; d &+= 1 }
    }

    /// y[0 ..< n] = y·beta + Σ_j w[j] · x_j[0 ..< n], with rows x_j = x + j·ldx, j < rows.
    /// The running sums stay in registers across the rows, 32 columns at a time.
    @inlinable
    public static func weightedRowSum(_ y: UnsafeMutablePointer<Float>, n: Int, beta: Float,
                                      weights w: UnsafePointer<Float>, rows: Int,
                                      x: UnsafePointer<Float>, ldx: Int) {
        let b = V(repeating: beta)
        var d = 0
        while d &+ 32 <= n {
            var a0 = load(UnsafePointer(y) + d) * b
            var a1 = load(UnsafePointer(y) + d + 8) * b
            var a2 = load(UnsafePointer(y) + d + 16) * b
            var a3 = load(UnsafePointer(y) + d + 24) * b
            var row = x + d
            for j in 0..<rows {
                let wj = V(repeating: w[j])
                a0 = a0.addingProduct(wj, load(row))
                a1 = a1.addingProduct(wj, load(row + 8))
                a2 = a2.addingProduct(wj, load(row + 16))
                a3 = a3.addingProduct(wj, load(row + 24))
                row += ldx
            }
            store(a0, y + d)
            store(a1, y + d + 8)
            store(a2, y + d + 16)
            store(a3, y + d + 24)
            d &+= 32
        }
        while d &+ 8 <= n {
            var a0 = load(UnsafePointer(y) + d) * b
            var row = x + d
            for j in 0..<rows {
                a0 = a0.addingProduct(V(repeating: w[j]), load(row))
                row += ldx
            }
            store(a0, y + d)
            d &+= 8
        }
        while d < n {
            var a = y[d] * beta
            for j in 0..<rows { a += w[j] * x[j &* ldx &+ d] }
            y[d] = a
            d &+= 1
        }
    }
}
