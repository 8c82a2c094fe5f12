// Causal prefill attention of one query head under an AttentionMask (a window, sinks),
// fused in the manner of FlashAttention (Dao et al. 2022): query blocks against key
// blocks, the scores of a block pair held in cache-sized tiles, an online softmax (running
// max m, sum l and unnormalised output O per row), and never a [rows, keys] score matrix
// in memory.
//
// Why not two BLAS calls per query block (SoftmaxKernel's general path): with a 64-wide
// inner dimension, OpenBLAS spends a fifth of prefill packing the keys again for every
// query block, zeroing C and writing the scores out and back. Here each head's keys and
// values are packed once, into the panels the micro-kernels read, and the scores stay in
// L1/L2. Both products run one register-blocked micro-kernel shape: 6 rows × 16 columns of
// accumulators (12 AVX registers, enough independent FMAs to cover their latency), a row
// operand broadcast from memory and a 16-wide panel of the other operand loaded per step.
//
//   S[i, j] = (scale · q_i) · k_j                 6 × 16 tiles, inner loop over dk
//   m_i' = max(m_i, max_j S[i, j]),  P = e^(S − m_i'),  l_i' = e^(m_i − m_i') l_i + Σ_j P
//   O_i ← e^(m_i − m_i') O_i + Σ_j P[i, j] v_j    6 × 16 tiles, inner loop over the keys
//   out_i = O_i / l_i
//
// Masked scores (keys after the row, or outside its window and sinks) get probability 0,
// exactly as the two-pass kernel zeros them. Requires dv to be a multiple of 16 (value panels); other
// shapes take the BLAS path.

import Foundation
import TensorCore

enum FlashPrefillKernel {
    /// Micro-tile: rows × columns of accumulators.
    static let tileRows = 6
    static let tileCols = 16
    /// Query rows per block (a multiple of tileRows) and keys per block (a multiple of
    /// tileCols): a block pair's scores (48 × 128 floats) and outputs stay in L1/L2.
    static let blockRows = 48
    static let blockKeys = 128

    static func supports(valueDim dv: Int) -> Bool { dv > 0 && dv % tileCols == 0 }

    static func roundUp(_ n: Int, _ m: Int) -> Int { (n + m - 1) / m * m }

    /// Floats of workspace for one head: packed keys and values for `keyCount` keys,
    /// then the block's scaled queries, scores, outputs and per-row m, l.
    static func workspaceCount(keyCount: Int, keyDim dk: Int, valueDim dv: Int) -> Int {
        let keys = roundUp(keyCount, tileCols)
        return keys * (dk + dv) + blockRows * (dk + blockKeys + dv + 2)
    }

    /// One query head: rows q_i (i < t, row stride ldq) at positions p0 + i attend over the
    /// `keyCount` key rows k_j / value rows v_j (row strides ldk, ldv) laid out as
    /// `KeyRows(mask:firstKeyPosition:)` says; out_i (row stride ldo). `workspace` holds at
    /// least `workspaceCount` floats.
    static func attendHead(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, t: Int, p0: Int, firstKeyPosition: Int, keyCount: Int,
        keyDim dk: Int, valueDim dv: Int, mask: AttentionMask, scale: Float, workspace: UnsafeMutablePointer<Float>
    ) {
        precondition(supports(valueDim: dv), "fused prefill needs dv a multiple of \(tileCols), got \(dv)")
        let rows = KeyRows(mask: mask, firstKeyPosition: firstKeyPosition)
        // Rows any query sees start at kLo: the first query's window start, or row 0 when the
        // last query sees sinks beyond its window. Packed key j is row kLo + j.
        let kLo = rows.visibleRows(query: p0 + t - 1).sinkEnd > 0 ? 0 : rows.visibleRows(query: p0).first
        let nKeys = keyCount - kLo                       // rows kLo ... last query
        let nPadded = roundUp(nKeys, tileCols)
        let kPacked = workspace                          // [nPadded/16][dk][16]
        let vPacked = kPacked + nPadded * dk             // [dv/16][nPadded][16]
        let qBlock = vPacked + nPadded * dv              // [blockRows][dk], scaled
        let scores = qBlock + blockRows * dk             // [blockRows][blockKeys]
        let acc = scores + blockRows * blockKeys         // [blockRows][dv]
        let rowMax = acc + blockRows * dv                // [blockRows]
        let rowSum = rowMax + blockRows                  // [blockRows]
        pack(k: k + kLo * ldk, ldk: ldk, v: v + kLo * ldv, ldv: ldv,
             count: nKeys, padded: nPadded, dk: dk, dv: dv, kPacked: kPacked, vPacked: vPacked)

        var flops = 0.0
        var i0 = 0
        while i0 < t {
            let nq = min(blockRows, t - i0)
            let nqTiles = roundUp(nq, tileRows)
            let firstRow = p0 + i0
            // The block's queries, scaled; padding rows are zero (their outputs are dropped).
            for i in 0..<nqTiles {
                let dst = qBlock + i * dk
                if i < nq {
                    let src = q + (i0 + i) * ldq
                    for d in 0..<dk { dst[d] = src[d] * scale }
                } else {
                    dst.update(repeating: 0, count: dk)
                }
            }
            for i in 0..<nqTiles { rowMax[i] = -.infinity; rowSum[i] = 0 }
            acc.update(repeating: 0, count: nqTiles * dv)

            /// Key block j0 ..< j0 + nk of the packed keys against the query block.
            func keyBlock(_ j0: Int, _ nk: Int) {
                let nkTiles = roundUp(nk, tileCols)
                // S = Q Kᵀ over the block's panels.
                for r in stride(from: 0, to: nqTiles, by: tileRows) {
                    for c in stride(from: 0, to: nkTiles, by: tileCols) {
                        tile(a: qBlock + r * dk, lda: dk, k: dk, b: kPacked + (j0 + c) * dk,
                             c: scores + r * blockKeys + c, ldc: blockKeys, accumulate: false)
                    }
                }
                flops += 2 * Double(nqTiles * nkTiles * dk)
                // Online softmax per row over the block's visible keys (sinks, then recent).
                for i in 0..<nq {
                    let seen = rows.visibleRows(query: firstRow + i)
                    let row = scores + i * blockKeys
                    let local = 0..<nk, shift = kLo + j0
                    let sinks = (-shift..<(seen.sinkEnd - shift)).clamped(to: local)
                    let recent = ((seen.first - shift)..<(seen.last + 1 - shift)).clamped(to: local)
                    if sinks.isEmpty && recent.isEmpty {
                        row.update(repeating: 0, count: nkTiles)
                        continue
                    }
                    let m = max(rowMax[i], SoftmaxKernel.maskedMax(row, sinks, recent))
                    if m != rowMax[i] {
                        // Rescale what is held so far (e^(−inf) = 0 before the first key).
                        let beta = Foundation.exp(rowMax[i] - m)
                        rowSum[i] *= beta
                        VectorMath.scale(acc + i * dv, n: dv, by: beta)
                        rowMax[i] = m
                    }
                    rowSum[i] += SoftmaxKernel.maskedExp(row, count: nkTiles, sinks, recent, shift: m)
                }
                // Padding rows: probabilities 0.
                for i in nq..<nqTiles { (scores + i * blockKeys).update(repeating: 0, count: nkTiles) }
                // O += P V over the block's keys.
                for r in stride(from: 0, to: nqTiles, by: tileRows) {
                    for c in stride(from: 0, to: dv, by: tileCols) {
                        tile(a: scores + r * blockKeys, lda: blockKeys, k: nkTiles, b: vPacked + c * nPadded + j0 * tileCols,
                             c: acc + r * dv + c, ldc: dv, accumulate: true)
                    }
                }
                flops += 2 * Double(nqTiles * nkTiles * dv)
            }
            /// Key blocks over the packed keys lo ..< end (lo panel aligned).
            func keyBlocks(from lo: Int, to end: Int) {
                var j0 = lo
                while j0 < end {
                    let nk = min(blockKeys, end - j0)
                    keyBlock(j0, nk)
                    j0 += nk
                }
            }
            // The keys the block's rows see: the sinks of its last row (if beyond the
            // window), then from its first row's window start (panel aligned) to its last
            // row; one pass where the two meet.
            let lastSeen = rows.visibleRows(query: firstRow + nq - 1)
            let sinkEnd = max(0, lastSeen.sinkEnd - kLo)
            let recentLo = (rows.visibleRows(query: firstRow).first - kLo) / tileCols * tileCols
            let jEnd = lastSeen.last - kLo + 1
            if sinkEnd > 0 && roundUp(sinkEnd, tileCols) < recentLo {
                keyBlocks(from: 0, to: sinkEnd)
                keyBlocks(from: recentLo, to: jEnd)
            } else {
                keyBlocks(from: sinkEnd > 0 ? 0 : recentLo, to: jEnd)
            }
            for i in 0..<nq {
                let inv = 1 / rowSum[i]
                let src = acc + i * dv, dst = out + (i0 + i) * ldo
                for d in 0..<dv { dst[d] = src[d] * inv }
            }
            i0 += nq
        }
        BLAS.flopCounter?.flops += flops
    }

    /// Keys into panels of 16 (panel p, dimension d: 16 consecutive keys' d-th entries) and
    /// values into column panels of 16 (panel c: every key's columns 16c ..< 16c + 16), both
    /// zero-padded to `padded` keys so the micro-kernels never read past the end.
    static func pack(
        k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int, count: Int, padded: Int,
        dk: Int, dv: Int, kPacked: UnsafeMutablePointer<Float>, vPacked: UnsafeMutablePointer<Float>
    ) {
        for p in stride(from: 0, to: padded, by: tileCols) {
            let panel = kPacked + p * dk
            let n = min(tileCols, count - p)
            if n < tileCols { panel.update(repeating: 0, count: dk * tileCols) }
            for j in 0..<n {
                let row = k + (p + j) * ldk
                for d in 0..<dk { panel[d * tileCols + j] = row[d] }
            }
        }
        for c in stride(from: 0, to: dv, by: tileCols) {
            let panel = vPacked + c * padded
            for j in 0..<count {
                (panel + j * tileCols).update(from: v + j * ldv + c, count: tileCols)
            }
            if padded > count { (panel + count * tileCols).update(repeating: 0, count: (padded - count) * tileCols) }
        }
    }

    typealias V = SIMD8<Float>

    /// C[6, 16] = A[6, k] · B (or C += A · B when `accumulate`): rows of A at a + i·lda,
    /// element j broadcast from a[i·lda + j]; B a [k][16] panel; rows of C at c + i·ldc.
    /// Scores: A = the scaled queries, B = a key panel. Values: A = the probabilities,
    /// B = a value panel, C = the running outputs.
    @inline(__always)
    static func tile(a: UnsafePointer<Float>, lda: Int, k: Int, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        let y0 = c, y1 = c + ldc, y2 = y1 + ldc, y3 = y2 + ldc, y4 = y3 + ldc, y5 = y4 + ldc
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        if accumulate {
            c00 = VectorMath.load(y0); c01 = VectorMath.load(y0 + 8)
            c10 = VectorMath.load(y1); c11 = VectorMath.load(y1 + 8)
            c20 = VectorMath.load(y2); c21 = VectorMath.load(y2 + 8)
            c30 = VectorMath.load(y3); c31 = VectorMath.load(y3 + 8)
            c40 = VectorMath.load(y4); c41 = VectorMath.load(y4 + 8)
            c50 = VectorMath.load(y5); c51 = VectorMath.load(y5 + 8)
        }
        let a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
        var bp = b
        for j in 0..<k {
            let b0 = VectorMath.load(bp), b1 = VectorMath.load(bp + 8)
            var x = V(repeating: a[j]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V(repeating: a1[j]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V(repeating: a2[j]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = V(repeating: a3[j]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = V(repeating: a4[j]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = V(repeating: a5[j]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            bp += tileCols
        }
        VectorMath.store(c00, y0); VectorMath.store(c01, y0 + 8)
        VectorMath.store(c10, y1); VectorMath.store(c11, y1 + 8)
        VectorMath.store(c20, y2); VectorMath.store(c21, y2 + 8)
        VectorMath.store(c30, y3); VectorMath.store(c31, y3 + 8)
        VectorMath.store(c40, y4); VectorMath.store(c41, y4 + 8)
        VectorMath.store(c50, y5); VectorMath.store(c51, y5 + 8)
    }
}
