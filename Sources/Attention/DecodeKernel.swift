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
                    var h = g * r
                    // Four heads of a group at a time: each slice of the key is loaded once.
                    while h + 4 <= (g + 1) * r {
                        dot4(qs + h * dk, kg, dk: dk, into: scores + h * chunk + j, stride: chunk)
                        h += 4
                    }
                    while h < (g + 1) * r { scores[h * chunk + j] = VectorMath.dot(qs + h * dk, kg, count: dk); h += 1 }
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
            if r >= 4 {
                // acc[h] += Σ_j p[h, j] · v_{j, g(h)}: four heads of a group at a time, their
                // sums in registers across the chunk's rows, each value slice loaded once.
                for g in 0..<kvHeads {
                    var h = g * r
                    while h + 4 <= (g + 1) * r {
                        weightedRows4(acc + h * dv, dv: dv, weights: scores + h * chunk, stride: chunk, rows: nc,
                                      v: v + c0 * ldv + g * dv, ldv: ldv)
                        h += 4
                    }
                    while h < (g + 1) * r {
                        VectorMath.weightedRowSum(acc + h * dv, n: dv, beta: 1, weights: scores + h * chunk, rows: nc,
                                                  x: v + c0 * ldv + g * dv, ldx: ldv)
                        h += 1
                    }
                }
            } else {
                // acc[h] += Σ_j p[h, j] · v_{j, g(h)}, token-major, two rows per pass: the
                // rows stream through memory front to back (one head per row slice).
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
            }
            c0 += nc
        }
    }

    /// out[i·stride] = q_i · k for the four queries q_i = q + i·dk.
    @inline(__always)
    static func dot4(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, dk: Int,
                     into out: UnsafeMutablePointer<Float>, stride: Int) {
        typealias V = SIMD8<Float>
        let q1 = q + dk, q2 = q1 + dk, q3 = q2 + dk
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var d = 0
        while d + 8 <= dk {
            let kv = VectorMath.load(k + d)
            a0 = a0.addingProduct(VectorMath.load(q + d), kv)
            a1 = a1.addingProduct(VectorMath.load(q1 + d), kv)
            a2 = a2.addingProduct(VectorMath.load(q2 + d), kv)
            a3 = a3.addingProduct(VectorMath.load(q3 + d), kv)
            d += 8
        }
        var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
        while d < dk {
            let kd = k[d]
            s0 += q[d] * kd; s1 += q1[d] * kd; s2 += q2[d] * kd; s3 += q3[d] * kd
            d += 1
        }
        out[0] = s0; out[stride] = s1; out[2 * stride] = s2; out[3 * stride] = s3
    }

    /// acc_i[0 ..< dv] += Σ_j w_i[j] · v_j for four heads i (acc_i = acc + i·dv, w_i = weights
    /// + i·stride) over rows v_j = v + j·ldv, j < rows; 8 columns × 4 heads in registers.
    @inline(__always)
    static func weightedRows4(_ acc: UnsafeMutablePointer<Float>, dv: Int, weights w: UnsafePointer<Float>, stride: Int,
                              rows: Int, v: UnsafePointer<Float>, ldv: Int) {
        typealias V = SIMD8<Float>
        let w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride
        let y0 = acc, y1 = acc + dv, y2 = y1 + dv, y3 = y2 + dv
        var d = 0
        while d + 8 <= dv {
            var a0 = VectorMath.load(y0 + d), a1 = VectorMath.load(y1 + d)
            var a2 = VectorMath.load(y2 + d), a3 = VectorMath.load(y3 + d)
            var row = v + d
            for j in 0..<rows {
                let x = VectorMath.load(row)
                a0 = a0.addingProduct(V(repeating: w[j]), x)
                a1 = a1.addingProduct(V(repeating: w1[j]), x)
                a2 = a2.addingProduct(V(repeating: w2[j]), x)
                a3 = a3.addingProduct(V(repeating: w3[j]), x)
                row += ldv
            }
            VectorMath.store(a0, y0 + d); VectorMath.store(a1, y1 + d)
            VectorMath.store(a2, y2 + d); VectorMath.store(a3, y3 + d)
            d += 8
        }
        while d < dv {
            var s0 = y0[d], s1 = y1[d], s2 = y2[d], s3 = y3[d]
            for j in 0..<rows {
                let x = v[j * ldv + d]
                s0 += w[j] * x; s1 += w1[j] * x; s2 += w2[j] * x; s3 += w3[j] * x
            }
            y0[d] = s0; y1[d] = s1; y2[d] = s2; y3[d] = s3
            d += 1
        }
    }
}
