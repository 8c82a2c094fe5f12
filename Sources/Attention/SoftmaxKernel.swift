// The inference kernel of every softmax-attention mechanism (the softmax family, and
// MLA in both its naive and absorbed forms): attention of new query tokens over key rows
// under an AttentionMask (causal; a window; sinks), heads shared out over threads. Each
// head runs `FlashPrefillKernel` (fused: query × key blocks, online softmax,
// register-blocked micro-kernels) when its value dim is a multiple of 16, else two BLAS
// products per block of query rows (four when the block scores sinks apart from its
// window; scores [block, keys], never all heads' [T, T]). A decode step (one
// token) goes to `DecodeKernel`: one pass over the cache with an online softmax, each
// cached key read once for all heads of its group.

import Foundation
import TensorCore

enum SoftmaxKernel {
    /// Query rows per block: large blocks amortise OpenBLAS's packing of the keys and
    /// values over more rows (64 → 256 rows cut prefill CPU time by about a fifth here).
    /// A block of b rows also multiplies the masked half of its b × b diagonal square, a
    /// fraction of about b / t of the causal work: so b = t / 8 clamped to 64 … 256, and
    /// no more rows than keep a block's scores within `maxScoresPerBlock`.
    static let queryBlock = 256
    static let minQueryBlock = 64
    /// At most this many scores per block and worker (32 MiB of Float).
    static let maxScoresPerBlock = 8 << 20
    /// Prefill runs heads on several threads when t · keys · heads reaches this (about a
    /// millisecond of work; below it the threads' start costs more than they save).
    static let parallelMinimumWork: Double = 2_097_152

    /// Queries q [t, H, dk] (token stride ldq) at positions p0 ..< p0 + t; keys k and
    /// values v as `keyCount` rows laid out as `KeyRows(mask:firstKeyPosition:)` says (the
    /// stored sinks, then positions firstKeyPosition ... p0 + t − 1; row strides ldk, ldv;
    /// kv head g at column g·dk resp. g·dv); output out [t, H, dv] (token stride ldo).
    /// Query head h reads kv head h / (H/G).
    static func attend(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int,
        t: Int, p0: Int, firstKeyPosition: Int, keyCount: Int, heads: Int, kvHeads: Int, keyDim dk: Int, valueDim dv: Int,
        mask: AttentionMask, scale: Float, scratch: inout [Float]
    ) {
        let r = heads / kvHeads
        let rows = KeyRows(mask: mask, firstKeyPosition: firstKeyPosition)
        // A window narrower than the block would leave most of each block's keys masked:
        // blocks of at most w rows keep the masked work below the visible work.
        let rowsPerBlock = min(max(minQueryBlock, min(queryBlock, t / 8, maxScoresPerBlock / max(1, keyCount))), mask.window ?? queryBlock)
        let lastRow = rows.row(ofPosition: p0 + t - 1)
        precondition(lastRow == keyCount - 1, "\(keyCount) key rows, but the last query (position \(p0 + t - 1)) is row \(lastRow)")
        if t == 1 {
            // Decode: one pass over the visible rows, the sinks then the recent ones.
            let seen = rows.visibleRows(query: p0)
            let recent = KVSegment(k: k + seen.first * ldk, v: v + seen.first * ldv, count: seen.last - seen.first + 1)
            let sinks = seen.sinkEnd > 0 ? KVSegment(k: k, v: v, count: seen.sinkEnd) : nil
            decode(q: q, heads: heads, kvHeads: kvHeads, keyDim: dk, valueDim: dv, segments: KVSegments(sinks, recent),
                   ldk: ldk, ldv: ldv, scale: scale, out: out, scratch: &scratch)
            return
        }
        // Query heads are independent: with enough work they are shared out over threads
        // (worker w takes heads w, w + nw, …), each with its own scores and OpenBLAS on
        // one thread inside, so a head's numbers do not depend on the thread count.
        let rowsHeld = min(rowsPerBlock, t)
        let fused = FlashPrefillKernel.supports(valueDim: dv)
        let perWorker = fused
            ? FlashPrefillKernel.workspaceCount(keyCount: keyCount, keyDim: dk, valueDim: dv)
            : rowsHeld * keyCount + rowsHeld  // scores, then the rows' 1/Σ
        let work = Double(t) * Double(keyCount) * Double(heads)
        let nw = work >= parallelMinimumWork ? max(1, min(BLAS.availableThreads, heads)) : 1
        if scratch.count < nw * perWorker { scratch = [Float](repeating: 0, count: nw * perWorker) }
        scratch.withUnsafeMutableBufferPointer { s in
            let base = s.baseAddress!
            BLAS.onWorkers(nw) { w in
                let scores = base + w * perWorker, inverseSums = scores + rowsHeld * keyCount
                for h in stride(from: w, to: heads, by: nw) {
                    let g = h / r
                    let kG = k + g * dk, vG = v + g * dv
                    if fused {
                        FlashPrefillKernel.attendHead(
                            q: q + h * dk, ldq: ldq, k: kG, ldk: ldk, v: vG, ldv: ldv, out: out + h * dv, ldo: ldo,
                            t: t, p0: p0, firstKeyPosition: firstKeyPosition, keyCount: keyCount, keyDim: dk, valueDim: dv,
                            mask: mask, scale: scale, workspace: base + w * perWorker)
                        continue
                    }
                    var i0 = 0
                    while i0 < t {
                        let nq = min(rowsPerBlock, t - i0)
                        block(q: q + i0 * ldq + h * dk, ldq: ldq, rows: nq, firstRowPosition: p0 + i0,
                              k: kG, ldk: ldk, v: vG, ldv: ldv, keyRows: rows,
                              dk: dk, dv: dv, scale: scale, scores: scores, inverseSums: inverseSums,
                              out: out + i0 * ldo + h * dv, ldo: ldo)
                        i0 += nq
                    }
                }
            }
        }
    }

    /// One query token (q [H, dk], out [H, dv], heads adjacent) over the rows of the
    /// segments in order: `DecodeKernel` with its workspace in `scratch`.
    static func decode(
        q: UnsafePointer<Float>, heads: Int, kvHeads: Int, keyDim dk: Int, valueDim dv: Int,
        segments: KVSegments, ldk: Int, ldv: Int, scale: Float,
        out: UnsafeMutablePointer<Float>, scratch: inout [Float]
    ) {
        let n = segments.count
        let workers = DecodeKernel.workers(keys: n)
        let needed = DecodeKernel.workspaceCount(heads: heads, keyDim: dk, valueDim: dv, workers: workers)
        if scratch.count < needed { scratch = [Float](repeating: 0, count: needed) }
        scratch.withUnsafeMutableBufferPointer { s in
            DecodeKernel.attend(q: q, heads: heads, kvHeads: kvHeads, keyDim: dk, valueDim: dv, segments: segments,
                                ldk: ldk, ldv: ldv, scale: scale, out: out, workspace: s.baseAddress!, workers: workers)
        }
    }

    /// One block of query rows against the key rows they may see. Row i sits at position
    /// firstRowPosition + i.
    @inline(__always)
    static func block(
        q: UnsafePointer<Float>, ldq: Int, rows: Int, firstRowPosition: Int,
        k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int, keyRows: KeyRows,
        dk: Int, dv: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
        inverseSums: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        // Key rows any query row may see: the sinks its last row sees beyond the window
        // (key rows 0 ..< sinkCols), then the first row's window start `lo` to the last row.
        // The score columns are those two ranges side by side; one range from 0 where they meet.
        let lastSeen = keyRows.visibleRows(query: firstRowPosition + rows - 1)
        var lo = keyRows.visibleRows(query: firstRowPosition).first, sinkCols = lastSeen.sinkEnd
        if sinkCols >= lo { lo = 0; sinkCols = 0 }
        let recentCols = lastSeen.last - lo + 1, nk = sinkCols + recentCols
        // scores[rows, nk] = scale · Q Kᵀ over the sink rows, then over rows lo ... last
        if sinkCols > 0 {
            BLAS.gemm(transA: false, transB: true, m: rows, n: sinkCols, k: dk, alpha: scale,
                      a: q, lda: ldq, b: k, ldb: ldk, c: scores, ldc: nk)
        }
        BLAS.gemm(transA: false, transB: true, m: rows, n: recentCols, k: dk, alpha: scale,
                  a: q, lda: ldq, b: k + lo * ldk, ldb: ldk, c: scores + sinkCols, ldc: nk)
        // Unnormalised probabilities e^(s − max) over each row's visible columns and zeros
        // elsewhere (vectorised exp, one pass); each output row is divided by its sum after
        // the value product, which costs dv, not nk, multiplications per row.
        for i in 0..<rows {
            let seen = keyRows.visibleRows(query: firstRowPosition + i)
            let row = scores + i * nk
            let sinks = 0..<seen.sinkEnd, recent = (sinkCols + seen.first - lo)..<(sinkCols + seen.last - lo + 1)
            let m = maskedMax(row, sinks, recent)
            inverseSums[i] = 1 / maskedExp(row, count: nk, sinks, recent, shift: m)
        }
        // out[rows, dv] = P V (the sink columns' values, then the recent ones'), then row i times 1/Σ_i
        if sinkCols > 0 {
            BLAS.gemm(transA: false, transB: false, m: rows, n: dv, k: sinkCols,
                      a: scores, lda: nk, b: v, ldb: ldv, c: out, ldc: ldo)
        }
        BLAS.gemm(transA: false, transB: false, m: rows, n: dv, k: recentCols,
                  a: scores + sinkCols, lda: nk, b: v + lo * ldv, ldb: ldv, beta: sinkCols > 0 ? 1 : 0, c: out, ldc: ldo)
        for i in 0..<rows { VectorMath.scale(out + i * ldo, n: dv, by: inverseSums[i]) }
    }

    /// The largest score of a row over its visible columns: two ranges, the sinks before
    /// the recent keys (either may be empty; both within the row).
    @inline(__always)
    static func maskedMax(_ row: UnsafeMutablePointer<Float>, _ sinks: Range<Int>, _ recent: Range<Int>) -> Float {
        var m = -Float.infinity
        if !sinks.isEmpty { m = VectorMath.max(row + sinks.lowerBound, count: sinks.count) }
        if !recent.isEmpty { m = max(m, VectorMath.max(row + recent.lowerBound, count: recent.count)) }
        return m
    }

    /// Replaces the visible columns of a row of `count` (the two ranges, sinks before
    /// recent, each empty or within the row) by e^(s − shift), every other column by 0,
    /// and returns the sum of the exponentials.
    @inline(__always)
    static func maskedExp(_ row: UnsafeMutablePointer<Float>, count: Int, _ sinks: Range<Int>, _ recent: Range<Int>,
                          shift: Float) -> Float {
        var sum: Float = 0, done = 0  // columns before `done` are final
        @inline(__always) func visible(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            if range.lowerBound > done { (row + done).update(repeating: 0, count: range.lowerBound - done) }
            sum += VectorMath.expShiftedSum(row + range.lowerBound, count: range.count, shift: shift)
            done = range.upperBound
        }
        visible(sinks)
        visible(recent)
        if done < count { (row + done).update(repeating: 0, count: count - done) }
        return sum
    }
}
