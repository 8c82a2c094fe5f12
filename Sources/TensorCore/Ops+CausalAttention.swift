// Masked softmax attention as one differentiable op, for training:
//
//   out = softmax(scale · Q Kᵀ + mask) · V   per leading index (batch, kv group),
//
// q: [..., r·T, D] (the r query heads of a kv group stacked as rows: row i sits at
// position i mod T), k: [..., T, D], v: [..., T, Dv] → out [..., r·T, Dv].
// mask: an AttentionMask (causal; a window of the last w keys; attention sinks), so a row
// sees at most two segments of keys, the sinks and the recent keys.
//
// The fast path of the composition matmul(alpha:) → softmax(mask:) → matmul, which it must
// match, outputs and gradients (CausalAttentionTests). Query rows go in blocks of
// `causalAttentionQueryBlock`, each multiplied only against the keys it can see: about
// 5/8 of the T×T products of the composition at T = 256 (half as T grows), and no
// passes over masked scores. The leading indices are independent and run over threads,
// each whole on one thread, so the numbers do not depend on the thread count.

extension Tensor {
    /// Query rows per block: smaller blocks skip more masked work, larger ones keep the
    /// GEMMs efficient. 64 → 5/8 of the full products at T = 256.
    public static let causalAttentionQueryBlock = 64

    public static func causalAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float, window: Int?) -> Tensor {
        causalAttention(q: q, k: k, v: v, scale: scale, mask: AttentionMask(window: window))
    }

    public static func causalAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float, mask: AttentionMask = .causal) -> Tensor {
        precondition(q.rank >= 2 && k.rank == q.rank && v.rank == q.rank,
                     "causalAttention needs q, k, v of one rank ≥ 2, got \(q.shape), \(k.shape), \(v.shape)")
        let lead = Array(q.shape.dropLast(2))
        precondition(Array(k.shape.dropLast(2)) == lead && Array(v.shape.dropLast(2)) == lead,
                     "causalAttention leading dims differ: \(q.shape), \(k.shape), \(v.shape)")
        let t = k.shape[k.rank - 2], d = k.shape[k.rank - 1], dv = v.shape[v.rank - 1]
        let rows = q.shape[q.rank - 2]
        precondition(v.shape[v.rank - 2] == t && q.shape[q.rank - 1] == d && (t > 0 ? rows % t == 0 : rows == 0),
                     "causalAttention shapes: q \(q.shape) must be [..., r·T, D] for k \(k.shape), v \(v.shape)")
        precondition(d > 0 && dv > 0, "causalAttention head dims must be positive, got D \(d), Dv \(dv)")
        let slices = lead.product, qb = causalAttentionQueryBlock
        let out = Tensor.uninitialized(lead + [rows, dv])

        // One query block: rows i0 ..< i0 + nq at positions t0 ..< t0 + nq. Its keys: the sinks
        // its last row sees beyond the window, 0 ..< sc, then lo ... t0 + nq − 1 (nk keys); the
        // gap between is skipped. sc = 0 when there are none, and sc = lo = 0 (one range from
        // key 0) when they meet the window.
        struct QueryBlock { let i0, t0, nq, sc, lo, nk: Int }
        var blocks: [QueryBlock] = []
        if t > 0 {
            for head in 0..<(rows / t) {
                for t0 in stride(from: 0, to: t, by: qb) {
                    let nq = Swift.min(qb, t - t0)
                    var sc = mask.sinkEnd(query: t0 + nq - 1), lo = mask.recentStart(query: t0)
                    if sc >= lo { sc = 0; lo = 0 }
                    blocks.append(QueryBlock(i0: head * t + t0, t0: t0, nq: nq, sc: sc, lo: lo, nk: t0 + nq - lo))
                }
            }
        }
        // A block's key ranges (first key, count) and their columns in a [nq, sc + nk] buffer.
        func ranges(_ blk: QueryBlock) -> [(key: Int, count: Int, column: Int)] {
            blk.sc > 0 ? [(0, blk.sc, 0), (blk.lo, blk.nk, blk.sc)] : [(blk.lo, blk.nk, 0)]
        }
        // Visible keys of row ii of a block: the recent keys a ... b and the sinks 0 ..< sinkEnd.
        func visible(_ blk: QueryBlock, _ ii: Int) -> (a: Int, b: Int, sinkEnd: Int) {
            let p = blk.t0 + ii
            return (mask.recentStart(query: p), p, mask.sinkEnd(query: p))
        }
        // The probabilities, kept for the backward: [..., r·T, T], of which only each block's
        // key ranges are written (zeros at masked places) and read.
        var probs = Tensor.uninitializedStorage(slices * rows * t)
        let flops = 2 * Double(rows) * Double(t) * Double(d + dv) * Double(slices)

        if !blocks.isEmpty {
        q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    out.data.withUnsafeMutableBufferPointer { po in
                        probs.withUnsafeMutableBufferPointer { pp in
                            let pq = pq.baseAddress!, pk = pk.baseAddress!, pv = pv.baseAddress!
                            let po = po.baseAddress!, pp = pp.baseAddress!
                            BLAS.forEachParallel(slices, flops: flops) { s in
                                let qS = pq + s * rows * d, kS = pk + s * t * d, vS = pv + s * t * dv
                                let oS = po + s * rows * dv, pS = pp + s * rows * t
                                for blk in blocks {
                                    let pBlk = pS + blk.i0 * t  // [nq, T]: key j's probability in column j
                                    let keyRanges = ranges(blk)
                                    // scores = scale · Q_blk · K[range]ᵀ for each key range
                                    for r in keyRanges {
                                        BLAS.gemm(transA: false, transB: true, m: blk.nq, n: r.count, k: d, alpha: scale,
                                                  a: qS + blk.i0 * d, lda: d, b: kS + r.key * d, ldb: d, c: pBlk + r.key, ldc: t)
                                    }
                                    for ii in 0..<blk.nq {
                                        let row = pBlk + ii * t
                                        let (a, b, e) = visible(blk, ii)
                                        // A softmax over the sinks 0 ..< e and the recent keys a ... b.
                                        var m = VectorMath.max(row + a, count: b - a + 1)
                                        if e > 0 { m = Swift.max(m, VectorMath.max(row, count: e)) }
                                        var total = VectorMath.expShiftedSum(row + a, count: b - a + 1, shift: m)
                                        if e > 0 { total += VectorMath.expShiftedSum(row, count: e, shift: m) }
                                        VectorMath.scale(row + a, n: b - a + 1, by: 1 / total)
                                        if e > 0 { VectorMath.scale(row, n: e, by: 1 / total) }
                                        // Zeros at the masked keys of the block's ranges.
                                        for r in keyRanges {
                                            let end = r.key + r.count
                                            let gap = Swift.max(r.key, e), gapEnd = Swift.min(end, a)  // between sinks and window
                                            if gapEnd > gap { (row + gap).update(repeating: 0, count: gapEnd - gap) }
                                            let after = Swift.max(b + 1, r.key)                         // after the row's own key
                                            if end > after { (row + after).update(repeating: 0, count: end - after) }
                                        }
                                    }
                                    // out_blk = Σ over the ranges of P_blk[range] · V[range]
                                    for (n, r) in keyRanges.enumerated() {
                                        BLAS.gemm(transA: false, transB: false, m: blk.nq, n: dv, k: r.count,
                                                  a: pBlk + r.key, lda: t, b: vS + r.key * dv, ldb: dv,
                                                  beta: n == 0 ? 0 : 1, c: oS + blk.i0 * dv, ldc: dv)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        }

        Autograd.record(out, op: "causalAttention", inputs: [q, k, v]) { g in
            // Forward (per block): S = scale·Q Kᵀ, P = softmax(S + mask), O = P V. Adjoints:
            //   dP = dO Vᵀ,  dS = P ⊙ (dP − Σ_j dP_j P_j)  (softmax's),
            //   dQ = scale · dS K,  dK += scale · dSᵀ Q,  dV += Pᵀ dO   (summed over query blocks).
            var gq = Tensor.uninitializedStorage(q.count)
            var gk = [Float](repeating: 0, count: k.count)   // accumulated over blocks
            var gv = [Float](repeating: 0, count: v.count)
            if !blocks.isEmpty {
            g.withUnsafeBufferPointer { pg in
                q.data.withUnsafeBufferPointer { pq in
                    k.data.withUnsafeBufferPointer { pk in
                        v.data.withUnsafeBufferPointer { pv in
                            probs.withUnsafeBufferPointer { pp in
                                gq.withUnsafeMutableBufferPointer { pgq in
                                    gk.withUnsafeMutableBufferPointer { pgk in
                                        gv.withUnsafeMutableBufferPointer { pgv in
                                            let pg = pg.baseAddress!, pq = pq.baseAddress!, pk = pk.baseAddress!
                                            let pv = pv.baseAddress!, pp = pp.baseAddress!
                                            let pgq = pgq.baseAddress!, pgk = pgk.baseAddress!, pgv = pgv.baseAddress!
                                            BLAS.forEachParallel(slices, flops: 2 * flops) { s in
                                                let qS = pq + s * rows * d, kS = pk + s * t * d, vS = pv + s * t * dv
                                                let gS = pg + s * rows * dv, pS = pp + s * rows * t
                                                let gqS = pgq + s * rows * d, gkS = pgk + s * t * d, gvS = pgv + s * t * dv
                                                let dS = UnsafeMutablePointer<Float>.allocate(capacity: Swift.min(qb, t) * t)  // [nq, sc + nk]
                                                defer { dS.deallocate() }
                                                for blk in blocks {
                                                    let pBlk = pS + blk.i0 * t, gBlk = gS + blk.i0 * dv
                                                    let width = blk.sc + blk.nk, keyRanges = ranges(blk)
                                                    // dP = dO_blk · V[range]ᵀ, the ranges side by side
                                                    for r in keyRanges {
                                                        BLAS.gemm(transA: false, transB: true, m: blk.nq, n: r.count, k: dv,
                                                                  a: gBlk, lda: dv, b: vS + r.key * dv, ldb: dv, c: dS + r.column, ldc: width)
                                                    }
                                                    // dS = P ⊙ (dP − Σ dP·P), in place (P is 0 at masked places, so is dS)
                                                    for ii in 0..<blk.nq {
                                                        let pr = pBlk + ii * t, dr = dS + ii * width
                                                        var dot: Float = 0
                                                        for r in keyRanges { dot += VectorMath.dot(dr + r.column, pr + r.key, count: r.count) }
                                                        for r in keyRanges {
                                                            VectorMath.productOfDifference(dr + r.column, pr + r.key, dr + r.column, minus: dot, count: r.count)
                                                        }
                                                    }
                                                    for (n, r) in keyRanges.enumerated() {
                                                        // dQ_blk = scale · Σ over the ranges of dS[range] · K[range]
                                                        BLAS.gemm(transA: false, transB: false, m: blk.nq, n: d, k: r.count, alpha: scale,
                                                                  a: dS + r.column, lda: width, b: kS + r.key * d, ldb: d,
                                                                  beta: n == 0 ? 0 : 1, c: gqS + blk.i0 * d, ldc: d)
                                                        // dK[range] += scale · dS[range]ᵀ · Q_blk
                                                        BLAS.gemm(transA: true, transB: false, m: r.count, n: d, k: blk.nq, alpha: scale,
                                                                  a: dS + r.column, lda: width, b: qS + blk.i0 * d, ldb: d,
                                                                  beta: 1, c: gkS + r.key * d, ldc: d)
                                                        // dV[range] += P_blk[range]ᵀ · dO_blk
                                                        BLAS.gemm(transA: true, transB: false, m: r.count, n: dv, k: blk.nq,
                                                                  a: pBlk + r.key, lda: t, b: gBlk, ldb: dv,
                                                                  beta: 1, c: gvS + r.key * dv, ldc: dv)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }
            if q.requiresGrad { q.accumulateGrad(gq) }
            if k.requiresGrad { k.accumulateGrad(gk) }
            if v.requiresGrad { v.accumulateGrad(gv) }
        }
        return out
    }
}
