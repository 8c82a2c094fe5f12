// Matrix products through OpenBLAS, forward and backward side by side.
//
//   matmul(a, b, transposeA:, transposeB:, alpha:)
//     a: [..., M, K] (or [..., K, M] transposed), b: [K, N] (or [N, K] transposed)
//        — a 2-D b is shared by every leading index of a (the Linear layer case);
//     b: [..., K, N] with the same leading dims as a — one product per batch index.
//   Output: alpha · op(a) · op(b), [..., M, N]. (alpha folds a constant scale such as
//   attention's 1/√D into the GEMM instead of a separate pass over the output.)
//
// The products of a batch are independent: they run over threads (`BLAS.forEachParallel`),
// each whole on one thread, so the numbers are those of the serial loop.

extension Tensor {
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                              alpha: Float = 1) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2 operands, got \(a.shape) and \(b.shape)")
        let aRows = a.shape[a.rank - 2], aCols = a.shape[a.rank - 1]
        let bRows = b.shape[b.rank - 2], bCols = b.shape[b.rank - 1]
        let m = transposeA ? aCols : aRows
        let k = transposeA ? aRows : aCols
        let kB = transposeB ? bCols : bRows
        let n = transposeB ? bRows : bCols
        precondition(k == kB, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batchA = Array(a.shape.dropLast(2))
        let sharedB = b.rank == 2
        if !sharedB {
            precondition(Array(b.shape.dropLast(2)) == batchA,
                         "batched matmul needs equal leading dims, got \(a.shape) and \(b.shape)")
        }
        let batch = batchA.product
        // Every output element is written by the GEMMs below (BLAS.gemm writes the zeros
        // itself when k == 0), so the release build's unfilled buffer is safe.
        let out = Tensor.uninitialized(batchA + [m, n])
        let aStride = aRows * aCols, bStride = sharedB ? 0 : bRows * bCols, cStride = m * n
        // FLOPs of the whole batch (each of the three products has the same count).
        let flops = 2 * Double(batch) * Double(m) * Double(n) * Double(k)

        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.data.withUnsafeMutableBufferPointer { pc in
                    guard pc.count > 0 else { return }
                    let pa = pa.baseAddress!, pb = pb.baseAddress!, pc = pc.baseAddress!
                    if sharedB && !transposeA {
                        // All rows of a against one b: a single GEMM of (batch·M) rows.
                        BLAS.gemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k, alpha: alpha,
                                  a: pa, lda: aCols, b: pb, ldb: bCols, c: pc, ldc: n)
                        return
                    }
                    BLAS.forEachParallel(batch, flops: flops) { i in
                        BLAS.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                  a: pa + i * aStride, lda: aCols, b: pb + i * bStride, ldb: bCols,
                                  c: pc + i * cStride, ldc: n)
                    }
                }
            }
        }

        Autograd.record(out, op: "matmul", inputs: [a, b]) { g in
            // Forward: C = α · op(A) · op(B). Adjoint: dop(A) = α · dC · op(B)ᵀ, dop(B) = α · op(A)ᵀ · dC.
            // Each gradient is written whole by GEMMs with beta = 0 (the shared-b sum starts at
            // i = 0 with beta = 0), so it needs no zero-fill.
            g.withUnsafeBufferPointer { pg in
                a.data.withUnsafeBufferPointer { pa in
                    b.data.withUnsafeBufferPointer { pb in
                        let pg = pg.baseAddress!, pa = pa.baseAddress!, pb = pb.baseAddress!
                        if a.requiresGrad {
                            var ga = Tensor.uninitializedStorage(a.count)
                            ga.withUnsafeMutableBufferPointer { pga in
                                guard let pga = pga.baseAddress, a.count > 0 else { return }
                                if sharedB && !transposeA {
                                    // As in the forward: all (batch·M) rows in one GEMM. dA = α · dC · op(B)ᵀ
                                    BLAS.gemm(transA: false, transB: !transposeB, m: batch * m, n: k, k: n, alpha: alpha,
                                              a: pg, lda: n, b: pb, ldb: bCols, c: pga, ldc: aCols)
                                    return
                                }
                                BLAS.forEachParallel(batch, flops: flops) { i in
                                    let gC = pg + i * cStride, bI = pb + i * bStride, gA = pga + i * aStride
                                    if !transposeA {
                                        // dA[M,K] = α · dC[M,N] · op(B)ᵀ
                                        BLAS.gemm(transA: false, transB: !transposeB, m: m, n: k, k: n, alpha: alpha,
                                                  a: gC, lda: n, b: bI, ldb: bCols, c: gA, ldc: aCols)
                                    } else {
                                        // A is [K,M]: dA = α · op(B) · dCᵀ
                                        BLAS.gemm(transA: transposeB, transB: true, m: k, n: m, k: n, alpha: alpha,
                                                  a: bI, lda: bCols, b: gC, ldb: n, c: gA, ldc: aCols)
                                    }
                                }
                            }
                            a.accumulateGrad(ga)
                        }
                        if b.requiresGrad {
                            var gb = Tensor.uninitializedStorage(b.count)
                            gb.withUnsafeMutableBufferPointer { pgb in
                                guard let pgb = pgb.baseAddress, b.count > 0 else { return }
                                if sharedB && !transposeA {
                                    // One GEMM summing over all (batch·M) rows.
                                    if !transposeB {
                                        // dB[K,N] = α · Aᵀ · dC
                                        BLAS.gemm(transA: true, transB: false, m: k, n: n, k: batch * m, alpha: alpha,
                                                  a: pa, lda: aCols, b: pg, ldb: n, c: pgb, ldc: bCols)
                                    } else {
                                        // dB[N,K] = α · dCᵀ · A
                                        BLAS.gemm(transA: true, transB: false, m: n, n: k, k: batch * m, alpha: alpha,
                                                  a: pg, lda: n, b: pa, ldb: aCols, c: pgb, ldc: bCols)
                                    }
                                    return
                                }
                                if sharedB && (batch == 0 || m == 0) {
                                    // No product to sum: the shared b's gradient is zero.
                                    pgb.update(repeating: 0, count: b.count)
                                    return
                                }
                                func product(_ i: Int) {
                                    let gC = pg + i * cStride, aI = pa + i * aStride, gB = pgb + i * bStride
                                    // A shared b sums its gradient over the batch (beta = 1).
                                    let beta: Float = sharedB && i > 0 ? 1 : 0
                                    if !transposeB {
                                        // dB[K,N] = α · op(A)ᵀ · dC
                                        BLAS.gemm(transA: !transposeA, transB: false, m: k, n: n, k: m, alpha: alpha,
                                                  a: aI, lda: aCols, b: gC, ldb: n, beta: beta, c: gB, ldc: bCols)
                                    } else {
                                        // B is [N,K]: dB = α · dCᵀ · op(A)
                                        BLAS.gemm(transA: true, transB: transposeA, m: n, n: k, k: m, alpha: alpha,
                                                  a: gC, lda: n, b: aI, ldb: aCols, beta: beta, c: gB, ldc: bCols)
                                    }
                                }
                                if sharedB {
                                    // Every product adds into the same b: in order, on this thread.
                                    for i in 0..<batch { product(i) }
                                } else {
                                    BLAS.forEachParallel(batch, flops: flops, product)
                                }
                            }
                            b.accumulateGrad(gb)
                        }
                    }
                }
            }
        }
        return out
    }
}
