// Shape ops: reshape, permute/transpose, slice, concat, split. Tensors stay contiguous,
// so every op except reshape copies; the backward of each is the inverse data movement.

extension Tensor {
    /// The same elements in a new shape; one extent may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.product
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[inferred] = count / known
        }
        precondition(target.product == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let out = Tensor(shape: target, data: data)
        Autograd.record(out, op: "reshape", inputs: [self]) { [self] g in
            // Forward: same buffer, new shape. Adjoint: the gradient, old shape.
            self.accumulateGrad(g)
        }
        return out
    }

    /// Reorders the axes: output axis i is input axis `dims[i]`.
    public func permuted(_ dims: [Int]) -> Tensor {
        precondition(dims.count == rank && Set(dims) == Set(0..<rank),
                     "permutation \(dims) is not a permutation of 0..<\(rank)")
        let outShape = dims.map { shape[$0] }
        let inStrides = contiguousStrides(shape)
        // When the last axis stays last (heads ↔ tokens: [0, 2, 1, 3]), rows of that many
        // elements stay contiguous and move as whole runs; otherwise runs of one element.
        let run = rank > 0 && dims[rank - 1] == rank - 1 ? Swift.max(shape[rank - 1], 1) : 1
        let runAxes = run > 1 ? rank - 1 : rank
        let runShape = Array(outShape.prefix(runAxes))
        // Input offsets of the runs, in output order.
        let stridesInOut = dims.prefix(runAxes).map { inStrides[$0] }
        let n = count, runs = n / run
        var offsets = [Int](repeating: 0, count: runs)
        var index = [Int](repeating: 0, count: runAxes)
        var off = 0
        for i in 0..<runs {
            offsets[i] = off
            var d = runAxes - 1
            while d >= 0 {
                index[d] += 1; off += stridesInOut[d]
                if index[d] < runShape[d] { break }
                off -= stridesInOut[d] * runShape[d]; index[d] = 0
                d -= 1
            }
        }
        let out = Tensor.uninitialized(outShape)
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                guard runs > 0 else { return }
                let po = po.baseAddress!, px = px.baseAddress!
                if run == 1 {
                    for i in 0..<runs { po[i] = px[offsets[i]] }
                } else {
                    for i in 0..<runs { (po + i * run).update(from: px + offsets[i], count: run) }
                }
            }
        }
        Autograd.record(out, op: "permute", inputs: [self]) { [self] g in
            // Forward: out[run i] = x[run at offsets[i]]. Adjoint: dx[run at offsets[i]] = g[run i]
            // (a bijection: every element is written, so no zero-fill).
            var gx = Tensor.uninitializedStorage(n)
            gx.withUnsafeMutableBufferPointer { pgx in
                g.withUnsafeBufferPointer { pg in
                    guard runs > 0 else { return }
                    let pgx = pgx.baseAddress!, pg = pg.baseAddress!
                    if run == 1 {
                        for i in 0..<runs { pgx[offsets[i]] = pg[i] }
                    } else {
                        for i in 0..<runs { (pgx + offsets[i]).update(from: pg + i * run, count: run) }
                    }
                }
            }
            self.accumulateGrad(gx)
        }
        return out
    }

    /// Swaps two axes.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var dims = Array(0..<rank)
        dims.swapAt(normalizedAxis(a), normalizedAxis(b))
        return permuted(dims)
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "slice \(range) out of bounds for axis \(ax) of shape \(shape)")
        let outer = shape[..<ax].product, n = shape[ax], inner = shape[(ax + 1)...].product
        let m = range.count
        var outShape = shape
        outShape[ax] = m
        let out = Tensor.uninitialized(outShape)
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                for o in 0..<outer {
                    let src = px.baseAddress! + (o * n + range.lowerBound) * inner
                    (po.baseAddress! + o * m * inner).update(from: src, count: m * inner)
                }
            }
        }
        Autograd.record(out, op: "slice", inputs: [self]) { [self] g in
            // Forward: out = x[..., range, ...]. Adjoint: dx[..., range, ...] = g, zero elsewhere.
            var gx = [Float](repeating: 0, count: self.count)
            for o in 0..<outer {
                for j in 0..<(m * inner) {
                    gx[(o * n + range.lowerBound) * inner + j] = g[o * m * inner + j]
                }
            }
            self.accumulateGrad(gx)
        }
        return out
    }

    /// Joins tensors along `axis`; all other extents must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of no tensors")
        let first = parts[0]
        let ax = first.normalizedAxis(axis)
        for p in parts {
            precondition(p.rank == first.rank && (0..<first.rank).allSatisfy { $0 == ax || p.shape[$0] == first.shape[$0] },
                         "concat along axis \(ax): shape \(p.shape) does not match \(first.shape)")
        }
        let outer = first.shape[..<ax].product, inner = first.shape[(ax + 1)...].product
        let widths = parts.map { $0.shape[ax] }
        let total = widths.reduce(0, +)
        var outShape = first.shape
        outShape[ax] = total
        let out = Tensor.uninitialized(outShape)
        out.data.withUnsafeMutableBufferPointer { po in
            var start = 0
            for (p, w) in zip(parts, widths) {
                p.data.withUnsafeBufferPointer { px in
                    for o in 0..<outer {
                        (po.baseAddress! + (o * total + start) * inner)
                            .update(from: px.baseAddress! + o * w * inner, count: w * inner)
                    }
                }
                start += w
            }
        }
        Autograd.record(out, op: "concat", inputs: parts) { g in
            // Forward: out[..., start_p + j, ...] = p[..., j, ...]. Adjoint: the matching slice of g.
            var start = 0
            for (p, w) in zip(parts, widths) {
                if p.requiresGrad {
                    var gp = [Float](repeating: 0, count: p.count)
                    for o in 0..<outer {
                        for j in 0..<(w * inner) { gp[o * w * inner + j] = g[(o * total + start) * inner + j] }
                    }
                    p.accumulateGrad(gp)
                }
                start += w
            }
        }
        return out
    }

    /// Cuts along `axis` into consecutive pieces of the given sizes (which must add up).
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        let ax = normalizedAxis(axis)
        precondition(sizes.reduce(0, +) == shape[ax] && sizes.allSatisfy { $0 >= 0 },
                     "split sizes \(sizes) do not add up to extent \(shape[ax]) of axis \(ax) in \(shape)")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return slice(axis: ax, start..<(start + s))
        }
    }
}
