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

        // One query block: rows i0 ..< i0 + nq at positions t0 ..< t0 + nq; keys lo ... t0 + nq − 1
        // (from 0 when a row of the block sees sinks beyond its window: the gap is zeroed).
        struct QueryBlock { let i0, t0, nq, lo, nk: Int }
        var blocks: [QueryBlock] = []
        if t > 0 {
            for head in 0..<(rows / t) {
                for t0 in stride(from: 0, to: t, by: qb) {
                    let nq = Swift.min(qb, t - t0)
                    let lo = mask.sinkEnd(query: t0 + nq - 1) > 0 ? 0 : mask.recentStart(query: t0)
                    blocks.append(QueryBlock(i0: head * t + t0, t0: t0, nq: nq, lo: lo, nk: t0 + nq - lo))
                }
            }
        }
        // Visible columns of row ii of a block, relative to its first key lo: the recent keys
        // a ... b and the sinks 0 ..< sinkEnd (empty unless lo = 0 and the window has moved on).
        func visible(_ blk: QueryBlock, _ ii: Int) -> (a: Int, b: Int, sinkEnd: Int) {
            let p = blk.t0 + ii
            return (Swift.max(blk.lo, mask.recentStart(query: p)) - blk.lo, p - blk.lo, Swift.max(0, mask.sinkEnd(query: p) - blk.lo))
        }
        // The probabilities, kept for the backward: [..., r·T, T], of which only each block's
        // key range lo ... t0 + nq − 1 is written (zeros at masked places) and read.
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
                                    let pBlk = pS + blk.i0 * t + blk.lo  // [nq, nk], row stride T
                                    // scores = scale · Q_blk · K[lo...]ᵀ
                                    BLAS.gemm(transA: false, transB: true, m: blk.nq, n: blk.nk, k: d, alpha: scale,
                                              a: qS + blk.i0 * d, lda: d, b: kS + blk.lo * d, ldb: d, c: pBlk, ldc: t)
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
                                        if a > e { (row + e).update(repeating: 0, count: a - e) }
                                        if b + 1 < blk.nk { (row + b + 1).update(repeating: 0, count: blk.nk - b - 1) }
                                    }
                                    // out_blk = P_blk · V[lo...]
                                    BLAS.gemm(transA: false, transB: false, m: blk.nq, n: dv, k: blk.nk,
                                              a: pBlk, lda: t, b: vS + blk.lo * dv, ldb: dv, c: oS + blk.i0 * dv, ldc: dv)
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
                                                let dS = UnsafeMutablePointer<Float>.allocate(capacity: Swift.min(qb, t) * t)  // [nq, nk]
                                                defer { dS.deallocate() }
                                                for blk in blocks {
                                                    let pBlk = pS + blk.i0 * t + blk.lo, gBlk = gS + blk.i0 * dv
                                                    // dP = dO_blk · V[lo...]ᵀ
                                                    BLAS.gemm(transA: false, transB: true, m: blk.nq, n: blk.nk, k: dv,
                                                              a: gBlk, lda: dv, b: vS + blk.lo * dv, ldb: dv, c: dS, ldc: blk.nk)
                                                    // dS = P ⊙ (dP − Σ dP·P), in place (P is 0 at masked places, so is dS)
                                                    for ii in 0..<blk.nq {
                                                        let pr = pBlk + ii * t, dr = dS + ii * blk.nk
                                                        let dot = VectorMath.dot(dr, pr, count: blk.nk)
                                                        VectorMath.productOfDifference(dr, pr, dr, minus: dot, count: blk.nk)
                                                    }
                                                    // dQ_blk = scale · dS · K[lo...]
                                                    BLAS.gemm(transA: false, transB: false, m: blk.nq, n: d, k: blk.nk, alpha: scale,
                                                              a: dS, lda: blk.nk, b: kS + blk.lo * d, ldb: d, c: gqS + blk.i0 * d, ldc: d)
                                                    // dK[lo...] += scale · dSᵀ · Q_blk
                                                    BLAS.gemm(transA: true, transB: false, m: blk.nk, n: d, k: blk.nq, alpha: scale,
                                                              a: dS, lda: blk.nk, b: qS + blk.i0 * d, ldb: d,
                                                              beta: 1, c: gkS + blk.lo * d, ldc: d)
                                                    // dV[lo...] += P_blkᵀ · dO_blk
                                                    BLAS.gemm(transA: true, transB: false, m: blk.nk, n: dv, k: blk.nq,
                                                              a: pBlk, lda: t, b: gBlk, ldb: dv,
                                                              beta: 1, c: gvS + blk.lo * dv, ldc: dv)
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
