// Matrix products through OpenBLAS, forward and backward side by side.
//
//   matmul(a, b, transposeA:, transposeB:)
//     a: [..., M, K] (or [..., K, M] transposed), b: [K, N] (or [N, K] transposed)
//        — a 2-D b is shared by every leading index of a (the Linear layer case);
//     b: [..., K, N] with the same leading dims as a — one product per batch index.
//   Output: [..., M, N].

extension Tensor {
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
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

        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.data.withUnsafeMutableBufferPointer { pc in
                    if sharedB && !transposeA {
                        // All rows of a against one b: a single GEMM of (batch·M) rows.
                        BLAS.gemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k,
                                  a: pa.baseAddress!, lda: aCols, b: pb.baseAddress!, ldb: bCols,
                                  c: pc.baseAddress!, ldc: n)
                        return
                    }
                    for i in 0..<batch {
                        BLAS.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                                  a: pa.baseAddress! + i * aStride, lda: aCols,
                                  b: pb.baseAddress! + i * bStride, ldb: bCols,
                                  c: pc.baseAddress! + i * cStride, ldc: n)
                    }
                }
            }
        }

        Autograd.record(out, op: "matmul", inputs: [a, b]) { g in
            // Forward: C = op(A) · op(B). Adjoint: dop(A) = dC · op(B)ᵀ, dop(B) = op(A)ᵀ · dC.
            g.withUnsafeBufferPointer { pg in
                a.data.withUnsafeBufferPointer { pa in
                    b.data.withUnsafeBufferPointer { pb in
                        if a.requiresGrad {
                            var ga = [Float](repeating: 0, count: a.count)
                            ga.withUnsafeMutableBufferPointer { pga in
                                if sharedB && !transposeA {
                                    // As in the forward: all (batch·M) rows in one GEMM. dA = dC · op(B)ᵀ
                                    BLAS.gemm(transA: false, transB: !transposeB, m: batch * m, n: k, k: n,
                                              a: pg.baseAddress!, lda: n, b: pb.baseAddress!, ldb: bCols,
                                              c: pga.baseAddress!, ldc: aCols)
                                    return
                                }
                                for i in 0..<batch {
                                    let gC = pg.baseAddress! + i * cStride
                                    let bI = pb.baseAddress! + i * bStride
                                    let gA = pga.baseAddress! + i * aStride
                                    if !transposeA {
                                        // dA[M,K] = dC[M,N] · op(B)ᵀ
                                        BLAS.gemm(transA: false, transB: !transposeB, m: m, n: k, k: n,
                                                  a: gC, lda: n, b: bI, ldb: bCols, c: gA, ldc: aCols)
                                    } else {
                                        // A is [K,M]: dA = op(B) · dCᵀ
                                        BLAS.gemm(transA: transposeB, transB: true, m: k, n: m, k: n,
                                                  a: bI, lda: bCols, b: gC, ldb: n, c: gA, ldc: aCols)
                                    }
                                }
                            }
                            a.accumulateGrad(ga)
                        }
                        if b.requiresGrad {
                            var gb = [Float](repeating: 0, count: b.count)
                            gb.withUnsafeMutableBufferPointer { pgb in
                                if sharedB && !transposeA {
                                    // One GEMM summing over all (batch·M) rows.
                                    if !transposeB {
                                        // dB[K,N] = Aᵀ · dC
                                        BLAS.gemm(transA: true, transB: false, m: k, n: n, k: batch * m,
                                                  a: pa.baseAddress!, lda: aCols, b: pg.baseAddress!, ldb: n,
                                                  c: pgb.baseAddress!, ldc: bCols)
                                    } else {
                                        // dB[N,K] = dCᵀ · A
                                        BLAS.gemm(transA: true, transB: false, m: n, n: k, k: batch * m,
                                                  a: pg.baseAddress!, lda: n, b: pa.baseAddress!, ldb: aCols,
                                                  c: pgb.baseAddress!, ldc: bCols)
                                    }
                                    return
                                }
                                for i in 0..<batch {
                                    let gC = pg.baseAddress! + i * cStride
                                    let aI = pa.baseAddress! + i * aStride
                                    let gB = pgb.baseAddress! + i * bStride
                                    // A shared b sums its gradient over the batch (beta = 1).
                                    let beta: Float = sharedB && i > 0 ? 1 : 0
                                    if !transposeB {
                                        // dB[K,N] = op(A)ᵀ · dC
                                        BLAS.gemm(transA: !transposeA, transB: false, m: k, n: n, k: m,
                                                  a: aI, lda: aCols, b: gC, ldb: n, beta: beta, c: gB, ldc: bCols)
                                    } else {
                                        // B is [N,K]: dB = dCᵀ · op(A)
                                        BLAS.gemm(transA: true, transB: transposeA, m: n, n: k, k: m,
                                                  a: gC, lda: n, b: aI, ldb: aCols, beta: beta, c: gB, ldc: bCols)
                                    }
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
