// Sums and means over one axis or over everything.

extension Tensor {
    /// Σ over `axis`. The axis is kept with extent 1 when `keepDims`, dropped otherwise.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxis(axis)
        let outer = shape[..<ax].product, n = shape[ax], inner = shape[(ax + 1)...].product
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        let out = Tensor.zeros(outShape)
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                for o in 0..<outer {
                    for j in 0..<n {
                        let src = (o * n + j) * inner
                        for i in 0..<inner { po[o * inner + i] += px[src + i] }
                    }
                }
            }
        }
        Autograd.record(out, op: "sum", inputs: [self]) { [self] g in
            // Forward: out[o, i] = Σ_j x[o, j, i]. Adjoint: dx[o, j, i] = g[o, i].
            var gx = [Float](repeating: 0, count: self.count)
            for o in 0..<outer {
                for j in 0..<n {
                    let dst = (o * n + j) * inner
                    for i in 0..<inner { gx[dst + i] = g[o * inner + i] }
                }
            }
            self.accumulateGrad(gx)
        }
        return out
    }

    /// Mean over `axis`.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let n = shape[normalizedAxis(axis)]
        return sum(axis: axis, keepDims: keepDims) * (1 / Float(n))
    }

    /// Σ of every element, as a scalar. Accumulates in Double so long sums stay exact enough.
    public func sum() -> Tensor {
        var total: Double = 0
        for x in data { total += Double(x) }
        let out = Tensor.scalar(Float(total))
        Autograd.record(out, op: "sumAll", inputs: [self]) { [self] g in
            // Forward: s = Σ x. Adjoint: dx = g.
            self.accumulateGrad([Float](repeating: g[0], count: self.count))
        }
        return out
    }

    /// Mean of every element, as a scalar.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Maps a possibly negative axis (−1 = last) into 0..<rank.
    public func normalizedAxis(_ axis: Int) -> Int {
        let ax = axis < 0 ? axis + rank : axis
        precondition(ax >= 0 && ax < rank, "axis \(axis) out of range for shape \(shape)")
        return ax
    }
}

extension ArraySlice where Element == Int {
    var product: Int { reduce(1, *) }
}
