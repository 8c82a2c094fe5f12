// The decode kernel of every softmax-attention mechanism: one query token (all H heads)
// against n cached key/value rows, in one pass over the cache (flash-decoding style).
//
// Decode is memory-bound: each cached byte is read once, so the kernel streams the rows
// in chunks of `chunk` keys, computes the chunk's scores with SIMD dot products, folds
// them into a running (max, sum, output) per head — the online softmax — and accumulates
// the values with the sums held in registers. No BLAS, no allocation per step (the
// workspace is the caller's). The keys may sit in two contiguous segments (a sliding
// window's ring buffer after it wraps), attended in position order without copying.
// With several workers the keys are split into contiguous ranges, one per worker, and
// the partial results are merged exactly as the online softmax merges chunks; the split
// depends only on n and the worker count, so a thread count gives fixed numbers.

import Dispatch
import Foundation
import TensorCore

/// Rows of keys and values at consecutive positions: key row i at k + i·ldk, value row
/// i at v + i·ldv (kv head g at column g·dk resp. g·dv of a row).
struct KVSegment {
    var k: UnsafePointer<Float>
    var v: UnsafePointer<Float>
    var count: Int
}

enum DecodeKernel {
    /// Keys per chunk: the running maximum is updated once per chunk.
    static let chunk = 64
    /// Fewest keys worth handing to another thread.
    static let minKeysPerWorker = 1024

    /// Floats of workspace `attend` needs.
    static func workspaceCount(heads: Int, keyDim dk: Int, valueDim dv: Int, workers: Int) -> Int {
        heads * dk + workers * perWorker(heads: heads, valueDim: dv)
    }

    static func perWorker(heads: Int, valueDim dv: Int) -> Int { heads * (chunk + 2 + dv) }

    /// How many threads decode over n keys: OpenBLAS's thread count (the project's one
    /// thread knob), fewer when the keys are few.
    static func workers(keys n: Int) -> Int { max(1, min(BLAS.threads, n / minKeysPerWorker)) }

    /// q [H, dk] (head h at q + h·dk) attends over the rows of `first` then `second`
    /// (position order); out [H, dv] (head h at out + h·dv). Query head h reads kv head
    /// h / (H/G). `scores` are scale · q·k. `workspace` holds at least `workspaceCount`.
    static func attend(
        q: UnsafePointer<Float>, heads: Int, kvHeads: Int, keyDim dk: Int, valueDim dv: Int,
        first: KVSegment, second: KVSegment?, ldk: Int, ldv: Int, scale: Float,
        out: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, workers requested: Int? = nil
    ) {
        let n = first.count + (second?.count ?? 0)
        precondition(n >= 1, "decode over no keys")
        let nw = max(1, min(requested ?? workers(keys: n), n))
        // The products' FLOPs, as BLAS.gemm counts them: scores 2·dk and values 2·dv per (head, key).
        BLAS.flopCounter?.flops += 2 * Double(heads) * Double(n) * Double(dk + dv)
        // The scaled query, shared read-only by the workers.
        let qs = workspace
        for i in 0..<(heads * dk) { qs[i] = q[i] * scale }
        let states = workspace + heads * dk
        let stride = perWorker(heads: heads, valueDim: dv)
        // Worker w takes global keys [w·n/nw, (w+1)·n/nw).
        let work: (Int) -> Void = { w in
            let lo = w * n / nw, hi = (w + 1) * n / nw
            let state = states + w * stride
            let m = state, l = state + heads, acc = state + 2 * heads, scores = acc + heads * dv
            for h in 0..<heads { m[h] = -.infinity; l[h] = 0 }
            for i in 0..<(heads * dv) { acc[i] = 0 }
            // The part of [lo, hi) in each segment.
            let a0 = min(lo, first.count), a1 = min(hi, first.count)
            if a0 < a1 {
                range(qs: qs, heads: heads, kvHeads: kvHeads, dk: dk, dv: dv, k: first.k + a0 * ldk, v: first.v + a0 * ldv,
                      count: a1 - a0, ldk: ldk, ldv: ldv, m: m, l: l, acc: acc, scores: scores)
            }
            if let second {
                let b0 = max(lo, first.count) - first.count, b1 = max(hi, first.count) - first.count
                if b0 < b1 {
                    range(qs: qs, heads: heads, kvHeads: kvHeads, dk: dk, dv: dv, k: second.k + b0 * ldk, v: second.v + b0 * ldv,
                          count: b1 - b0, ldk: ldk, ldv: ldv, m: m, l: l, acc: acc, scores: scores)
                }
            }
        }
        if nw == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: nw, execute: work) }
        // Merge: out_h = Σ_w e^(m_w − M) acc_w / Σ_w e^(m_w − M) l_w, M = max_w m_w.
        for h in 0..<heads {
            var mMax = -Float.infinity
            for w in 0..<nw { mMax = max(mMax, states[w * stride + h]) }
            var total: Float = 0
            let o = out + h * dv
            for w in 0..<nw {
                let state = states + w * stride
                let c = Foundation.exp(state[h] - mMax)  // e^(−inf) = 0 for a worker with no keys
                total += c * state[heads + h]
                let acc = state + 2 * heads + h * dv
                if w == 0 { for j in 0..<dv { o[j] = c * acc[j] } } else { for j in 0..<dv { o[j] += c * acc[j] } }
            }
            let inv = 1 / total
            for j in 0..<dv { o[j] *= inv }
        }
    }

    /// Folds `count` consecutive rows into one worker's running state: per head h the
    /// largest score m[h], the sum l[h] of e^(s − m[h]) and acc[h] = Σ e^(s − m[h]) v.
    /// Rows are read token-major, front to back (all heads of a row together), so the
    /// cache streams sequentially through memory.
    @inline(__always)
    static func range(
        qs: UnsafePointer<Float>, heads: Int, kvHeads: Int, dk: Int, dv: Int,
        k: UnsafePointer<Float>, v: UnsafePointer<Float>, count: Int, ldk: Int, ldv: Int,
        m: UnsafeMutablePointer<Float>, l: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>,
        scores: UnsafeMutablePointer<Float>
    ) {
        let r = heads / kvHeads
        var c0 = 0
        while c0 < count {
            let nc = min(chunk, count - c0)
            // scores[h, j] = q_h · k_{j, g(h)}
            var row = k + c0 * ldk
            for j in 0..<nc {
                for g in 0..<kvHeads {
                    let kg = row + g * dk
                    for h in (g * r)..<((g + 1) * r) { scores[h * chunk + j] = VectorMath.dot(qs + h * dk, kg, count: dk) }
                }
                row += ldk
            }
            for h in 0..<heads {
                let s = scores + h * chunk
                let newM = max(m[h], VectorMath.max(s, count: nc))
                // Rescale what is held so far to the new maximum (e^(−inf) = 0 at the start).
                if newM != m[h] {
                    let beta = Foundation.exp(m[h] - newM)
                    l[h] *= beta
                    VectorMath.scale(acc + h * dv, n: dv, by: beta)
                    m[h] = newM
                }
                l[h] += VectorMath.expShiftedSum(s, count: nc, shift: newM)
            }
            // acc[h] += Σ_j p[h, j] · v_{j, g(h)}, two rows per pass.
            var vRow = v + c0 * ldv
            var j = 0
            while j + 2 <= nc {
                for h in 0..<heads {
                    let vg = vRow + (h / r) * dv
                    VectorMath.axpy2(acc + h * dv, n: dv, scores[h * chunk + j], vg, scores[h * chunk + j + 1], vg + ldv)
                }
                vRow += 2 * ldv
                j += 2
            }
            if j < nc {
                for h in 0..<heads { VectorMath.axpy(acc + h * dv, n: dv, scores[h * chunk + j], vRow + (h / r) * dv) }
            }
            c0 += nc
        }
    }
}
