// Embedding lookup: rows of a table gathered by integer ids; backward scatter-adds.

extension Tensor {
    /// table: [V, C]; ids: any count N (laid out as `idsShape`). Output: idsShape + [C].
    public static func embedding(_ table: Tensor, ids: [Int], idsShape: [Int]? = nil) -> Tensor {
        precondition(table.rank == 2, "embedding table must be [V, C], got \(table.shape)")
        let v = table.shape[0], c = table.shape[1]
        let leading = idsShape ?? [ids.count]
        precondition(leading.product == ids.count, "ids shape \(leading) does not hold \(ids.count) ids")
        let out = Tensor.uninitialized(leading + [c])
        out.data.withUnsafeMutableBufferPointer { po in
            table.data.withUnsafeBufferPointer { pt in
                for (i, id) in ids.enumerated() {
                    precondition(id >= 0 && id < v, "embedding id \(id) at position \(i) outside 0..<\(v)")
                    (po.baseAddress! + i * c).update(from: pt.baseAddress! + id * c, count: c)
                }
            }
        }
        Autograd.record(out, op: "embedding", inputs: [table]) { g in
            // Forward: out[i] = table[ids[i]]. Adjoint: table.grad[ids[i]] += g[i] (repeats add up).
            var gt = [Float](repeating: 0, count: table.count)
            gt.withUnsafeMutableBufferPointer { pt in
                g.withUnsafeBufferPointer { pg in
                    guard c > 0 else { return }
                    for (i, id) in ids.enumerated() { VectorMath.axpy(pt.baseAddress! + id * c, n: c, 1, pg.baseAddress! + i * c) }
                }
            }
            table.accumulateGrad(gt)
        }
        return out
    }
}
