// The inference kernel of every softmax-attention mechanism (the softmax family, and
// MLA in both its naive and absorbed forms): causal, optionally windowed attention of
// new query tokens over key rows, with BLAS for both products. Tiled over query
// blocks, so the scores held at once are [block, keys]: O(T·block) memory, never
// all heads' [T, T]. A decode step (one token) goes to `DecodeKernel`: one pass over
// the cache with an online softmax, each cached key read once for all heads of its group.

import Foundation
import TensorCore

enum SoftmaxKernel {
    static let queryBlock = 64

    /// Queries q [t, H, dk] (token stride ldq) at positions p0 ..< p0 + t; keys k and
    /// values v as rows at positions firstKeyPosition ..< firstKeyPosition + keyCount
    /// (row strides ldk, ldv; kv head g at column g·dk resp. g·dv); output out [t, H, dv]
    /// (token stride ldo). Query head h reads kv head h / (H/G).
    static func attend(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int,
        t: Int, p0: Int, firstKeyPosition: Int, keyCount: Int, heads: Int, kvHeads: Int, keyDim dk: Int, valueDim dv: Int,
        window: Int?, scale: Float, scratch: inout [Float]
    ) {
        let r = heads / kvHeads
        // A window narrower than the block would leave most of each block's keys masked:
        // blocks of at most w rows keep the masked work below the visible work.
        let rowsPerBlock = min(queryBlock, window ?? queryBlock)
        let lastKey = firstKeyPosition + keyCount - 1
        precondition(lastKey == p0 + t - 1, "keys end at position \(lastKey) but queries at \(p0 + t - 1)")
        if t == 1 {
            // Decode: one pass over the visible rows, which are contiguous here.
            let lo = window.map { max(firstKeyPosition, p0 - $0 + 1) } ?? firstKeyPosition
            let segment = KVSegment(k: k + (lo - firstKeyPosition) * ldk, v: v + (lo - firstKeyPosition) * ldv, count: p0 - lo + 1)
            decode(q: q, heads: heads, kvHeads: kvHeads, keyDim: dk, valueDim: dv, first: segment, second: nil,
                   ldk: ldk, ldv: ldv, scale: scale, out: out, scratch: &scratch)
            return
        }
        let needed = min(rowsPerBlock, t) * keyCount
        if scratch.count < needed { scratch = [Float](repeating: 0, count: needed) }
        scratch.withUnsafeMutableBufferPointer { s in
            let scores = s.baseAddress!
            for g in 0..<kvHeads {
                let kG = k + g * dk, vG = v + g * dv
                for h in (g * r)..<((g + 1) * r) {
                    var i0 = 0
                    while i0 < t {
                        let nq = min(rowsPerBlock, t - i0)
                        block(q: q + i0 * ldq + h * dk, ldq: ldq, rows: nq, firstRowPosition: p0 + i0, rowsShareOnePosition: false,
                              k: kG, ldk: ldk, v: vG, ldv: ldv, firstKeyPosition: firstKeyPosition, lastKey: p0 + i0 + nq - 1,
                              window: window, dk: dk, dv: dv, scale: scale, scores: scores,
                              out: out + i0 * ldo + h * dv, ldo: ldo)
                        i0 += nq
                    }
                }
            }
        }
    }

    /// One query token (q [H, dk], out [H, dv], heads adjacent) over the rows of `first`
    /// then `second`: `DecodeKernel` with its workspace in `scratch`.
    static func decode(
        q: UnsafePointer<Float>, heads: Int, kvHeads: Int, keyDim dk: Int, valueDim dv: Int,
        first: KVSegment, second: KVSegment?, ldk: Int, ldv: Int, scale: Float,
        out: UnsafeMutablePointer<Float>, scratch: inout [Float]
    ) {
        let n = first.count + (second?.count ?? 0)
        let workers = DecodeKernel.workers(keys: n)
        let needed = DecodeKernel.workspaceCount(heads: heads, keyDim: dk, valueDim: dv, workers: workers)
        if scratch.count < needed { scratch = [Float](repeating: 0, count: needed) }
        scratch.withUnsafeMutableBufferPointer { s in
            DecodeKernel.attend(q: q, heads: heads, kvHeads: kvHeads, keyDim: dk, valueDim: dv, first: first, second: second,
                                ldk: ldk, ldv: ldv, scale: scale, out: out, workspace: s.baseAddress!, workers: workers)
        }
    }

    /// One block of query rows against the keys they may see. Row i sits at position
    /// firstRowPosition + i (or firstRowPosition for all rows of a decode group).
    @inline(__always)
    static func block(
        q: UnsafePointer<Float>, ldq: Int, rows: Int, firstRowPosition: Int, rowsShareOnePosition: Bool,
        k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int, firstKeyPosition: Int, lastKey: Int,
        window: Int?, dk: Int, dv: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
        out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        // Keys any row may see: from the first row's window start to the last row.
        let lo = window.map { max(firstKeyPosition, firstRowPosition - $0 + 1) } ?? firstKeyPosition
        let nk = lastKey - lo + 1
        let kRows = k + (lo - firstKeyPosition) * ldk, vRows = v + (lo - firstKeyPosition) * ldv
        // scores[rows, nk] = scale · Q Kᵀ
        BLAS.gemm(transA: false, transB: true, m: rows, n: nk, k: dk, alpha: scale,
                  a: q, lda: ldq, b: kRows, ldb: ldk, c: scores, ldc: nk)
        for i in 0..<rows {
            let p = rowsShareOnePosition ? firstRowPosition : firstRowPosition + i
            let first = window.map { max(lo, p - $0 + 1) } ?? lo
            let row = scores + i * nk
            let a = first - lo, b = p - lo  // visible columns a ... b
            var m = -Float.infinity
            for j in a...b { m = max(m, row[j]) }
            var total: Float = 0
            for j in a...b { let e = Foundation.exp(row[j] - m); row[j] = e; total += e }
            let inv = 1 / total
            for j in 0..<a { row[j] = 0 }
            for j in a...b { row[j] *= inv }
            if b + 1 < nk { for j in (b + 1)..<nk { row[j] = 0 } }
        }
        // out[rows, dv] = P V
        BLAS.gemm(transA: false, transB: false, m: rows, n: dv, k: nk,
                  a: scores, lda: nk, b: vRows, ldb: ldv, c: out, ldc: ldo)
    }
}
