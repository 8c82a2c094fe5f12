// Softmax and log-softmax over the last axis, numerically stable (the row maximum is
// subtracted before exponentiating), and a fused cross-entropy (log-sum-exp per row).

import Foundation

extension Tensor {
    /// softmax(x + mask) over the last axis. `mask` is additive (0 to keep, −∞ to drop),
    /// constant (no gradient), of shape [M, N] with N the last extent of x: row r of x
    /// (counting over all leading axes) adds mask row r mod M. So a [T, T] causal mask
    /// serves scores [B, H, T, T], and also grouped-query scores [B, G, r·T, T].
    /// A row whose entries are all −∞ yields zeros, not NaN.
    public func softmax(mask: Tensor? = nil) -> Tensor {
        let n = shape.last ?? 1
        let rows = count / Swift.max(n, 1)
        var maskRows = 0
        if let mask {
            precondition(mask.rank == 2 && mask.shape[1] == n && mask.shape[0] > 0 && rows % mask.shape[0] == 0,
                         "softmax mask shape \(mask.shape) must be [M, \(n)] with M dividing the \(rows) rows of input \(shape)")
            maskRows = mask.shape[0]
        }
        let out = Tensor.uninitialized(shape)
        let maskData = mask?.data ?? []
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                maskData.withUnsafeBufferPointer { pm in
                    for r in 0..<rows {
                        let x = px.baseAddress! + r * n, y = po.baseAddress! + r * n
                        var rowMax = -Float.infinity
                        if maskRows > 0 {
                            let m = pm.baseAddress! + (r % maskRows) * n
                            for j in 0..<n { let v = x[j] + m[j]; y[j] = v; rowMax = Swift.max(rowMax, v) }
                        } else {
                            for j in 0..<n { y[j] = x[j]; rowMax = Swift.max(rowMax, x[j]) }
                        }
                        if rowMax == -.infinity {
                            for j in 0..<n { y[j] = 0 }
                            continue
                        }
                        // e^(y − max) eight lanes at a time (masked −∞ entries give exactly 0).
                        let total = VectorMath.expShiftedSum(y, count: n, shift: rowMax)
                        VectorMath.scale(y, n: n, by: 1 / total)
                    }
                }
            }
        }
        Autograd.record(out, op: "softmax", inputs: [self]) { [self, unowned out] g in
            // Forward: y = softmax(x). Adjoint: dx_j = y_j · (g_j − Σ_k g_k y_k).
            // Every element is written, so the buffer needs no zero-fill.
            var gx = Tensor.uninitializedStorage(self.count)
            out.data.withUnsafeBufferPointer { y in
                g.withUnsafeBufferPointer { pg in
                    gx.withUnsafeMutableBufferPointer { px in
                        for r in 0..<rows {
                            let yr = y.baseAddress! + r * n, gr = pg.baseAddress! + r * n, xr = px.baseAddress! + r * n
                            let dot = VectorMath.dot(gr, yr, count: n)
                            VectorMath.productOfDifference(xr, yr, gr, minus: dot, count: n)
                        }
                    }
                }
            }
            self.accumulateGrad(gx)
        }
        return out
    }

    /// log softmax(x) over the last axis: x − max − log Σ exp(x − max).
    public func logSoftmax() -> Tensor {
        let n = shape.last ?? 1
        let rows = count / Swift.max(n, 1)
        let out = Tensor.uninitialized(shape)
        for r in 0..<rows {
            let base = r * n
            var rowMax = -Float.infinity
            for j in 0..<n { rowMax = Swift.max(rowMax, data[base + j]) }
            var total: Float = 0
            for j in 0..<n { total += Foundation.exp(data[base + j] - rowMax) }
            let lse = rowMax + Foundation.log(total)
            for j in 0..<n { out.data[base + j] = data[base + j] - lse }
        }
        Autograd.record(out, op: "logSoftmax", inputs: [self]) { [self, unowned out] g in
            // Forward: y = x − lse(x). Adjoint: dx_j = g_j − softmax_j · Σ_k g_k.
            var gx = [Float](repeating: 0, count: self.count)
            for r in 0..<rows {
                var gSum: Float = 0
                for j in 0..<n { gSum += g[r * n + j] }
                for j in 0..<n { gx[r * n + j] = g[r * n + j] - Foundation.exp(out.data[r * n + j]) * gSum }
            }
            self.accumulateGrad(gx)
        }
        return out
    }

    /// Weighted mean cross-entropy of `logits` [N, V] against `targets` (N class ids).
    ///
    ///     loss = Σ_i w_i · (−log softmax(logits_i)[t_i]) / Σ_i w_i
    ///
    /// over positions whose target is not `ignoreIndex` (w_i = 1 when `weights` is nil).
    /// With no counted position (or zero total weight) the loss is 0 with zero gradient.
    /// Targets outside 0..<V other than `ignoreIndex` are a programmer error.
    public static func crossEntropy(
        logits: Tensor, targets: [Int], ignoreIndex: Int = -100, weights: [Float]? = nil
    ) -> Tensor {
        let v = logits.shape.last ?? 1
        let rows = logits.count / Swift.max(v, 1)
        precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits \(logits.shape)")
        if let weights { precondition(weights.count == rows, "crossEntropy: \(weights.count) weights for \(rows) rows") }
        var totalWeight: Double = 0
        for i in 0..<rows where targets[i] != ignoreIndex {
            precondition(targets[i] >= 0 && targets[i] < v, "crossEntropy: target \(targets[i]) at row \(i) outside 0..<\(v)")
            totalWeight += Double(weights?[i] ?? 1)
        }
        // Per-row log-sum-exp, kept for the backward. The exponentials (rows × V, the
        // vocabulary-wide part of the cost) go eight lanes at a time through a scratch row.
        var lse = [Float](repeating: 0, count: rows)
        var loss: Double = 0
        var scratch = Tensor.uninitializedStorage(v)  // [V]
        logits.data.withUnsafeBufferPointer { px in
            scratch.withUnsafeMutableBufferPointer { ps in
                for i in 0..<rows where targets[i] != ignoreIndex {
                    let x = px.baseAddress! + i * v
                    let rowMax = VectorMath.max(x, count: v)
                    ps.baseAddress!.update(from: x, count: v)
                    let total = VectorMath.expShiftedSum(ps.baseAddress!, count: v, shift: rowMax)
                    lse[i] = rowMax + Foundation.log(total)
                    loss += Double(weights?[i] ?? 1) * Double(lse[i] - x[targets[i]])
                }
            }
        }
        let out = Tensor.scalar(totalWeight > 0 ? Float(loss / totalWeight) : 0)
        Autograd.record(out, op: "crossEntropy", inputs: [logits]) { g in
            // Forward: loss = Σ w_i (lse_i − x_i[t_i]) / W.
            // Adjoint: dx_i[j] = g · w_i / W · (softmax_i[j] − [j = t_i]).
            // Every row is written: ignored rows (and all, when W = 0) get zeros.
            var gx = Tensor.uninitializedStorage(logits.count)
            gx.withUnsafeMutableBufferPointer { pgx in
                logits.data.withUnsafeBufferPointer { px in
                    for i in 0..<rows {
                        let dst = pgx.baseAddress! + i * v
                        guard totalWeight > 0, targets[i] != ignoreIndex else { dst.update(repeating: 0, count: v); continue }
                        let scale = g[0] * (weights?[i] ?? 1) / Float(totalWeight)
                        VectorMath.scaledExpShifted(px.baseAddress! + i * v, dst, count: v, shift: lse[i], scale: scale)
                        dst[targets[i]] -= scale
                    }
                }
            }
            logits.accumulateGrad(gx)
        }
        return out
    }
}

extension Tensor {
    /// Additive causal mask [T, T]: 0 where query t may see key s (s ≤ t, and with a
    /// window w also s ≥ t − w + 1), −∞ elsewhere.
    public static func causalMask(_ t: Int, window: Int? = nil) -> Tensor {
        let m = Tensor.full([t, t], -.infinity)
        for i in 0..<t {
            let first = window.map { Swift.max(0, i - $0 + 1) } ?? 0
            for j in first...i { m.data[i * t + j] = 0 }
        }
        return m
    }
}
