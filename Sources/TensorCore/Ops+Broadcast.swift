// Broadcasting binary ops (NumPy rules: shapes align on the right, extents of 1 stretch)
// and their backward, which sums the output gradient over the stretched dimensions.

/// Where each output element of a broadcast reads its two operands.
struct BroadcastPlan {
    let outShape: [Int]
    let sameShape: Bool
    /// a has the output's shape and b repeats along the leading axes (b's shape is a
    /// suffix of it, e.g. a bias [C] or a mask [T, T]): b's offset is i mod b.count.
    let bIsTrailing: Bool
    /// a has the output's shape and b is a with its last axis cut to 1 (a per-row
    /// divisor [..., 1]): b's offset is i / (last extent).
    let bIsPerRow: Bool
    /// Element offsets into a and b for every output element (only for the general case).
    let offsetsA: [Int]
    let offsetsB: [Int]

    init(_ a: [Int], _ b: [Int], op: String) {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        var out = [Int](repeating: 1, count: rank)
        for d in 0..<rank {
            precondition(pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1,
                         "\(op): shapes \(a) and \(b) do not broadcast (dimension \(d): \(pa[d]) vs \(pb[d]))")
            out[d] = pa[d] == 1 ? pb[d] : pa[d]
        }
        outShape = out
        sameShape = a == b
        bIsTrailing = !sameShape && a == out && b.count <= a.count && Array(a.suffix(b.count)) == b
        bIsPerRow = !sameShape && !bIsTrailing && a == out && !a.isEmpty && b == Array(a.dropLast()) + [1]
        if sameShape || bIsTrailing || bIsPerRow { offsetsA = []; offsetsB = []; return }
        // Strides of each operand in the output's index space, 0 where it is stretched.
        let sa = zip(contiguousStrides(pa), pa).map { $1 == 1 ? 0 : $0 }
        let sb = zip(contiguousStrides(pb), pb).map { $1 == 1 ? 0 : $0 }
        let n = out.product
        var oa = [Int](repeating: 0, count: n), ob = [Int](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: rank)
        var ia = 0, ib = 0
        for i in 0..<n {
            oa[i] = ia; ob[i] = ib
            // Odometer increment of the output index, updating both offsets.
            var d = rank - 1
            while d >= 0 {
                index[d] += 1; ia += sa[d]; ib += sb[d]
                if index[d] < out[d] { break }
                ia -= sa[d] * out[d]; ib -= sb[d] * out[d]; index[d] = 0
                d -= 1
            }
        }
        offsetsA = oa; offsetsB = ob
    }
}

/// The elementwise binary operations, with their partial derivatives.
public enum BinaryOp: String, Sendable {
    case add, sub, mul, div

    @inline(__always)
    func apply(_ x: Float, _ y: Float) -> Float {
        switch self {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        }
    }
}

extension Tensor {
    static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        let plan = BroadcastPlan(a.shape, b.shape, op: op.rawValue)
        let out = Tensor.uninitialized(plan.outShape)
        let n = out.count
        out.data.withUnsafeMutableBufferPointer { po in
            a.data.withUnsafeBufferPointer { pa in
                b.data.withUnsafeBufferPointer { pb in
                    if plan.sameShape {
                        for i in 0..<n { po[i] = op.apply(pa[i], pb[i]) }
                    } else if plan.bIsTrailing {
                        let m = b.count
                        for i in 0..<n { po[i] = op.apply(pa[i], pb[i % m]) }
                    } else if plan.bIsPerRow {
                        let last = a.shape.last!
                        for i in 0..<n { po[i] = op.apply(pa[i], pb[i / last]) }
                    } else {
                        for i in 0..<n { po[i] = op.apply(pa[plan.offsetsA[i]], pb[plan.offsetsB[i]]) }
                    }
                }
            }
        }
        Autograd.record(out, op: op.rawValue, inputs: [a, b]) { g in
            // Forward: out[i] = a[ia(i)] ∘ b[ib(i)].
            // Adjoint: a.grad[ia(i)] += g[i] · ∂∘/∂a, b.grad[ib(i)] += g[i] · ∂∘/∂b.
            if op == .add && plan.sameShape {
                // The residual sum: both adjoints are g itself, handed over without a pass.
                if a.requiresGrad { a.accumulateGrad(g) }
                if b.requiresGrad { b.accumulateGrad(g) }
                return
            }
            let sameA = plan.sameShape || plan.bIsTrailing || plan.bIsPerRow
            let bCount = b.count, last = a.shape.last ?? 1
            func offsetB(_ i: Int) -> Int {
                plan.sameShape ? i : plan.bIsTrailing ? i % bCount : plan.bIsPerRow ? i / last : plan.offsetsB[i]
            }
            if a.requiresGrad {
                var ga = [Float](repeating: 0, count: a.count)
                for i in 0..<n {
                    let ia = sameA ? i : plan.offsetsA[i], ib = offsetB(i)
                    switch op {
                    case .add, .sub: ga[ia] += g[i]
                    case .mul: ga[ia] += g[i] * b.data[ib]
                    case .div: ga[ia] += g[i] / b.data[ib]
                    }
                }
                a.accumulateGrad(ga)
            }
            if b.requiresGrad {
                var gb = [Float](repeating: 0, count: b.count)
                for i in 0..<n {
                    let ia = sameA ? i : plan.offsetsA[i], ib = offsetB(i)
                    switch op {
                    case .add: gb[ib] += g[i]
                    case .sub: gb[ib] -= g[i]
                    case .mul: gb[ib] += g[i] * a.data[ia]
                    // d(x/y)/dy = −x/y²
                    case .div: gb[ib] -= g[i] * a.data[ia] / (b.data[ib] * b.data[ib])
                    }
                }
                b.accumulateGrad(gb)
            }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }

    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }

    /// scale · self + shift, elementwise with constants.
    public func affine(scale: Float, shift: Float) -> Tensor {
        let out = Tensor.uninitialized(shape)
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                for i in 0..<px.count { po[i] = scale * px[i] + shift }
            }
        }
        Autograd.record(out, op: "affine", inputs: [self]) { [self] g in
            // Forward: out = s·x + c. Adjoint: dx = s·g.
            self.accumulateGrad(g.map { $0 * scale })
        }
        return out
    }
}
