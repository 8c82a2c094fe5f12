// Causal linear attention as one differentiable op, for training (Katharopoulos et al. 2020):
//
//   out_t = Σ_{s≤t} (q_t·k_s) v_s / (Σ_{s≤t} q_t·k_s + ε)   per leading index and head,
//
// q, k: [..., T, H, Dk] (already feature-mapped), v: [..., T, H, Dv] → out [..., T, H, Dv]:
// the layout the projections produce, read and written in place with row stride H·D, so
// no permutes on either side.
//
// The fast path of the quadratic composition A = tril(Q Kᵀ), out = A V / (A 1 + ε), which it
// must match, outputs and gradients (CausalLinearAttentionTests). Chunked: the T rows go in
// chunks of c; within a chunk the masked quadratic form, across chunks the running state
//   U = Σ_{s before the chunk} k_s v'_sᵀ   [Dk, Dv+1],  v'_s = [v_s, 1],
// whose last column is the normaliser z, so numerator and denominator come out of the same
// products:  N'_I = Q_I U + tril(Q_I K_Iᵀ) V'_I  [n, Dv+1],  out = N'[:, :Dv] / (N'[:, Dv] + ε).
// Work O(T·c·(Dk + Dv) + T·Dk·Dv) per head instead of O(T²·(Dk + Dv)).
//
// Backward, with r_t = 1/(den_t + ε) and dN'_t = [dO_t r_t, −(dO_t·out_t) r_t] (the adjoint of
// [numerator, denominator]), dA_ts = dN'_t·v'_s for s ≤ t, and
//   dQ_I = tril(dN'_I V'_Iᵀ) K_I + dN'_I Uᵀ                    (U: state before chunk I)
//   dK_I = tril(dN'_I V'_Iᵀ)ᵀ Q_I + V'_I Rᵀ                     (R = Σ_{t after the chunk} q_t dN'_tᵀ)
//   dV_I = tril(Q_I K_Iᵀ)ᵀ dN_I + K_I R[:, :Dv]
// U runs forward over the chunks, R backward. Each (leading index, head) is one slice,
// whole on one thread, so the numbers do not depend on the thread count.

extension Tensor {
    /// Rows per chunk in training: the intra-chunk products are c×c, the state products
    /// Dk×(Dv+1) per row, so c near 2·D balances them.
    public static let causalLinearAttentionChunk = 64

    public static func causalLinearAttention(q: Tensor, k: Tensor, v: Tensor, eps: Float,
                                             chunk: Int = causalLinearAttentionChunk) -> Tensor {
        precondition(q.rank >= 3 && k.rank == q.rank && v.rank == q.rank,
                     "causalLinearAttention needs q, k, v of one rank ≥ 3, got \(q.shape), \(k.shape), \(v.shape)")
        precondition(chunk >= 1, "causalLinearAttention chunk \(chunk) must be at least 1")
        let lead = Array(q.shape.dropLast(3)), r = q.rank
        let t = q.shape[r - 3], h = q.shape[r - 2], dk = q.shape[r - 1], dv = v.shape[r - 1]
        precondition(k.shape == q.shape && Array(v.shape.dropLast()) == Array(q.shape.dropLast()),
                     "causalLinearAttention shapes: q \(q.shape), k \(k.shape) must be [..., T, H, Dk] and v \(v.shape) [..., T, H, Dv]")
        precondition(dk > 0 && dv > 0, "causalLinearAttention head dims must be positive, got Dk \(dk), Dv \(dv)")
        let slices = lead.product * h
        let ldq = h * dk, ldv = h * dv, da = dv + 1          // row strides; width of v' = [v, 1]
        let c = Swift.max(1, Swift.min(chunk, t))
        let out = Tensor.uninitialized(lead + [t, h, dv])
        // 1/(den_t + ε) per slice and row, kept for the backward: [slices, T].
        var recip = Tensor.uninitializedStorage(slices * t)
        let flops = 2 * Double(slices) * Double(t) * (Double(c) * Double(dk + da) + 2 * Double(dk * da))

        // Base offsets of slice s = (leading index, head) in q/k and in v/out.
        func qOffset(_ s: Int) -> Int { (s / h) * t * ldq + (s % h) * dk }
        func vOffset(_ s: Int) -> Int { (s / h) * t * ldv + (s % h) * dv }
        // v'_I = [v_I, 1] for rows i0 ..< i0 + n of a slice, into vp [n, Dv+1].
        func augment(_ vS: UnsafePointer<Float>, _ i0: Int, _ n: Int, into vp: UnsafeMutablePointer<Float>) {
            for i in 0..<n {
                (vp + i * da).update(from: vS + (i0 + i) * ldv, count: dv)
                vp[i * da + dv] = 1
            }
        }
        // a[n, n] = tril(x_I y_Iᵀ) for the chunk's rows (x, y row stride lda, ldb).
        func lowerProduct(_ x: UnsafePointer<Float>, _ lda: Int, _ y: UnsafePointer<Float>, _ ldb: Int,
                          inner: Int, _ n: Int, into a: UnsafeMutablePointer<Float>) {
            BLAS.gemm(transA: false, transB: true, m: n, n: n, k: inner, a: x, lda: lda, b: y, ldb: ldb, c: a, ldc: n)
            for i in 0..<n where i + 1 < n { (a + i * n + i + 1).update(repeating: 0, count: n - i - 1) }
        }

        if slices > 0 && t > 0 {
        q.data.withUnsafeBufferPointer { pq in
            k.data.withUnsafeBufferPointer { pk in
                v.data.withUnsafeBufferPointer { pv in
                    out.data.withUnsafeMutableBufferPointer { po in
                        recip.withUnsafeMutableBufferPointer { pr in
                            let pq = pq.baseAddress!, pk = pk.baseAddress!, pv = pv.baseAddress!
                            let po = po.baseAddress!, pr = pr.baseAddress!
                            BLAS.forEachParallel(slices, flops: flops) { s in
                                let qS = pq + qOffset(s), kS = pk + qOffset(s), vS = pv + vOffset(s)
                                let oS = po + vOffset(s), rS = pr + s * t
                                // Scratch: v'_I [c, Dv+1], A [c, c], N'_I [c, Dv+1], U [Dk, Dv+1].
                                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: c * da + c * c + c * da + dk * da)
                                defer { scratch.deallocate() }
                                let vp = scratch, a = vp + c * da, np = a + c * c, u = np + c * da
                                for i0 in stride(from: 0, to: t, by: c) {
                                    let n = Swift.min(c, t - i0), first = i0 == 0
                                    let qI = qS + i0 * ldq, kI = kS + i0 * ldq
                                    augment(vS, i0, n, into: vp)
                                    lowerProduct(qI, ldq, kI, ldq, inner: dk, n, into: a)
                                    // N'_I = Q_I U (inter-chunk; U = 0 before the first) + A V'_I (intra-chunk)
                                    if !first {
                                        BLAS.gemm(transA: false, transB: false, m: n, n: da, k: dk,
                                                  a: qI, lda: ldq, b: u, ldb: da, c: np, ldc: da)
                                    }
                                    BLAS.gemm(transA: false, transB: false, m: n, n: da, k: n,
                                              a: a, lda: n, b: vp, ldb: da, beta: first ? 0 : 1, c: np, ldc: da)
                                    for i in 0..<n {
                                        let inv = 1 / (np[i * da + dv] + eps)
                                        rS[i0 + i] = inv
                                        let o = oS + (i0 + i) * ldv, row = np + i * da
                                        for j in 0..<dv { o[j] = row[j] * inv }
                                    }
                                    // U += K_Iᵀ V'_I
                                    BLAS.gemm(transA: true, transB: false, m: dk, n: da, k: n,
                                              a: kI, lda: ldq, b: vp, ldb: da, beta: first ? 0 : 1, c: u, ldc: da)
                                }
                            }
                        }
                    }
                }
            }
        }
        }

        // The backward of one slice; every row of its dQ, dK, dV is first written with beta = 0.
        func backwardSlice(_ s: Int, pg: UnsafePointer<Float>, pq: UnsafePointer<Float>, pk: UnsafePointer<Float>,
                           pv: UnsafePointer<Float>, po: UnsafePointer<Float>, pr: UnsafePointer<Float>,
                           pgq: UnsafeMutablePointer<Float>, pgk: UnsafeMutablePointer<Float>, pgv: UnsafeMutablePointer<Float>) {
            let qS = pq + qOffset(s), kS = pk + qOffset(s), vS = pv + vOffset(s)
            let gS = pg + vOffset(s), oS = po + vOffset(s), rS = pr + s * t
            let gqS = pgq + qOffset(s), gkS = pgk + qOffset(s), gvS = pgv + vOffset(s)
            // Scratch: v' [T, Dv+1], dN' [T, Dv+1], A [c, c], U or R [Dk, Dv+1].
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * t * da + c * c + dk * da)
            defer { scratch.deallocate() }
            let vp = scratch, dn = vp + t * da, a = dn + t * da, u = a + c * c
            augment(vS, 0, t, into: vp)
            // dN'_t = [dO_t r_t, −(dO_t·out_t) r_t]
            for i in 0..<t {
                let gRow = gS + i * ldv, oRow = oS + i * ldv, dRow = dn + i * da, inv = rS[i]
                var dot: Float = 0
                for j in 0..<dv { dot += gRow[j] * oRow[j]; dRow[j] = gRow[j] * inv }
                dRow[dv] = -dot * inv
            }
            // Forward over the chunks: the intra-chunk terms and dQ's inter-chunk term (state U).
            for i0 in stride(from: 0, to: t, by: c) {
                let n = Swift.min(c, t - i0), first = i0 == 0
                let qI = qS + i0 * ldq, kI = kS + i0 * ldq, vpI = vp + i0 * da, dnI = dn + i0 * da
                // dA = tril(dN'_I V'_Iᵀ)
                lowerProduct(dnI, da, vpI, da, inner: da, n, into: a)
                // dQ_I = dA K_I + dN'_I Uᵀ
                BLAS.gemm(transA: false, transB: false, m: n, n: dk, k: n, a: a, lda: n, b: kI, ldb: ldq,
                          c: gqS + i0 * ldq, ldc: ldq)
                if !first {
                    BLAS.gemm(transA: false, transB: true, m: n, n: dk, k: da, a: dnI, lda: da, b: u, ldb: da,
                              beta: 1, c: gqS + i0 * ldq, ldc: ldq)
                }
                // dK_I = dAᵀ Q_I
                BLAS.gemm(transA: true, transB: false, m: n, n: dk, k: n, a: a, lda: n, b: qI, ldb: ldq,
                          c: gkS + i0 * ldq, ldc: ldq)
                // dV_I = tril(Q_I K_Iᵀ)ᵀ dN_I
                lowerProduct(qI, ldq, kI, ldq, inner: dk, n, into: a)
                BLAS.gemm(transA: true, transB: false, m: n, n: dv, k: n, a: a, lda: n, b: dnI, ldb: da,
                          c: gvS + i0 * ldv, ldc: ldv)
                // U += K_Iᵀ V'_I
                if i0 + n < t {
                    BLAS.gemm(transA: true, transB: false, m: dk, n: da, k: n, a: kI, lda: ldq, b: vpI, ldb: da,
                              beta: first ? 0 : 1, c: u, ldc: da)
                }
            }
            // Backward over the chunks: dK's and dV's inter-chunk terms (state R, reusing u).
            let last = ((t - 1) / c) * c
            for i0 in stride(from: last, through: 0, by: -c) {
                let n = Swift.min(c, t - i0)
                let qI = qS + i0 * ldq, kI = kS + i0 * ldq, vpI = vp + i0 * da, dnI = dn + i0 * da
                if i0 != last {
                    // dK_I += V'_I Rᵀ,  dV_I += K_I R[:, :Dv]
                    BLAS.gemm(transA: false, transB: true, m: n, n: dk, k: da, a: vpI, lda: da, b: u, ldb: da,
                              beta: 1, c: gkS + i0 * ldq, ldc: ldq)
                    BLAS.gemm(transA: false, transB: false, m: n, n: dv, k: dk, a: kI, lda: ldq, b: u, ldb: da,
                              beta: 1, c: gvS + i0 * ldv, ldc: ldv)
                }
                // R += Q_Iᵀ dN'_I
                if i0 > 0 {
                    BLAS.gemm(transA: true, transB: false, m: dk, n: da, k: n, a: qI, lda: ldq, b: dnI, ldb: da,
                              beta: i0 == last ? 0 : 1, c: u, ldc: da)
                }
            }
        }
        let saved = out.data, reciprocals = recip  // share the buffers; the backward reads out_t and r_t
        Autograd.record(out, op: "causalLinearAttention", inputs: [q, k, v]) { g in
            var gq = Tensor.uninitializedStorage(q.count)
            var gk = Tensor.uninitializedStorage(k.count)
            var gv = Tensor.uninitializedStorage(v.count)
            if slices > 0 && t > 0 {
            g.withUnsafeBufferPointer { pg in
                q.data.withUnsafeBufferPointer { pq in
                    k.data.withUnsafeBufferPointer { pk in
                        v.data.withUnsafeBufferPointer { pv in
                            saved.withUnsafeBufferPointer { po in
                                reciprocals.withUnsafeBufferPointer { pr in
                                    gq.withUnsafeMutableBufferPointer { pgq in
                                        gk.withUnsafeMutableBufferPointer { pgk in
                                            gv.withUnsafeMutableBufferPointer { pgv in
                                                let pg = pg.baseAddress!, pq = pq.baseAddress!, pk = pk.baseAddress!
                                                let pv = pv.baseAddress!, po = po.baseAddress!, pr = pr.baseAddress!
                                                let pgq = pgq.baseAddress!, pgk = pgk.baseAddress!, pgv = pgv.baseAddress!
                                                BLAS.forEachParallel(slices, flops: 2 * flops) { s in
                                                    backwardSlice(s, pg: pg, pq: pq, pk: pk, pv: pv, po: po, pr: pr,
                                                                  pgq: pgq, pgk: pgk, pgv: pgv)
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
