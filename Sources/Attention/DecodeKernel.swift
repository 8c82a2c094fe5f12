// The decode kernel of every softmax-attention mechanism: one query token (all H heads)
// against n cached key/value rows, in one pass over the cache (flash-decoding style).
//
// Each cached byte is read once, so the kernel streams the rows in chunks of `chunk`
// keys (prefetched in software a few KiB ahead), computes the chunk's scores, folds them
// into a running (max, sum, output) per head — the online softmax — and accumulates the
// values. MHA and GQA are memory-bound; MQA and absorbed MLA (8 query heads on one shared
// row: ≈ 4 and 7.6 FLOP per byte) need the FMA units too, so heads sharing a row go
// through register-blocked micro-kernels (4 heads × 3 keys for scores, 4 heads × 24
// columns for values) with sums held in registers. No BLAS, no allocation per step (the
// workspace is the caller's). The keys may sit in up to three contiguous segments
// (attention sinks, then a sliding window's ring buffer in two pieces after it wraps),
// attended in position order without copying.
// With several workers the keys are split into contiguous ranges, one per worker, and
// the partial results are merged exactly as the online softmax merges chunks; the split
// depends only on n and the worker count, so a thread count gives fixed numbers.

import Dispatch
import Foundation
import CPrefetch
import TensorCore

/// Rows of keys and values at consecutive positions: key row i at k + i·ldk, value row
/// i at v + i·ldv (kv head g at column g·dk resp. g·dv of a row).
struct KVSegment {
    var k: UnsafePointer<Float>
    var v: UnsafePointer<Float>
    var count: Int
}

/// Up to three segments attended in order, held inline (no allocation per decode step);
/// empty or absent segments are dropped.
struct KVSegments {
    private var a, b, c: KVSegment?
    /// Rows in all segments together.
    let count: Int

    init(_ first: KVSegment?, _ second: KVSegment? = nil, _ third: KVSegment? = nil) {
        func nonEmpty(_ s: KVSegment?) -> KVSegment? { (s?.count ?? 0) > 0 ? s : nil }
        var (x, y, z) = (nonEmpty(first), nonEmpty(second), nonEmpty(third))
        // Move the present ones to the front (no array: this runs every decode step).
        if y == nil { (y, z) = (z, nil) }
        if x == nil { (x, y, z) = (y, z, nil) }
        (a, b, c) = (x, y, z)
        count = (x?.count ?? 0) + (y?.count ?? 0) + (z?.count ?? 0)
    }

    /// Calls `body` with each segment and the number of rows before it.
    @inline(__always) func forEach(_ body: (KVSegment, Int) -> Void) {
        guard let a else { return }
        body(a, 0)
        guard let b else { return }
        body(b, a.count)
        if let c { body(c, a.count + b.count) }
    }
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

    /// How many threads decode over n keys: `BLAS.availableThreads` (the count `setThreads`
    /// asked for, the project's one thread knob; 1 inside a single-threaded region), fewer
    /// when the keys are few.
    static func workers(keys n: Int) -> Int { max(1, min(BLAS.availableThreads, n / minKeysPerWorker)) }

    /// q [H, dk] (head h at q + h·dk) attends over the rows of the segments (in position
    /// order); out [H, dv] (head h at out + h·dv). Query head h reads kv head
    /// h / (H/G). `scores` are scale · q·k. `workspace` holds at least `workspaceCount`.
    static func attend(
        q: UnsafePointer<Float>, heads: Int, kvHeads: Int, keyDim dk: Int, valueDim dv: Int,
        segments: KVSegments, ldk: Int, ldv: Int, scale: Float,
        out: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, workers requested: Int? = nil
    ) {
        let n = segments.count
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
            segments.forEach { segment, before in
                let a0 = min(max(lo - before, 0), segment.count), a1 = min(max(hi - before, 0), segment.count)
                if a0 < a1 {
                    range(qs: qs, heads: heads, kvHeads: kvHeads, dk: dk, dv: dv, k: segment.k + a0 * ldk, v: segment.v + a0 * ldv,
                          count: a1 - a0, ldk: ldk, ldv: ldv, m: m, l: l, acc: acc, scores: scores)
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

    /// Bytes of each stream (keys, values) prefetched ahead of the row being scored (the
    /// hardware prefetcher stops at 4 KiB pages). Measured on one core at 32k: GQA 5.7 →
    /// 3.5 ms, absorbed MLA 8.7 → 6.6 ms; MHA and MQA unchanged; 4–64 KiB all alike.
    static let prefetchBytes = 8192

    /// Folds `count` consecutive rows into one worker's running state: per head h the
    /// largest score m[h], the sum l[h] of e^(s − m[h]) and acc[h] = Σ e^(s − m[h]) v.
    /// Rows are scored front to back (all kv heads of a few rows together), prefetching
    /// the key and value rows `prefetchBytes` ahead, so each chunk's values are in cache
    /// when they are accumulated. With `record`, each chunk's weights e^(s − m) are copied
    /// to record[h·recordStride + row] and that chunk's maximum m[h] to
    /// chunkMax[h·chunkMaxStride + chunk index] (a policy's probabilities: p = weight ·
    /// e^(chunk max − final m) / final l).
    @inline(__always)
    static func range(
        qs: UnsafePointer<Float>, heads: Int, kvHeads: Int, dk: Int, dv: Int,
        k: UnsafePointer<Float>, v: UnsafePointer<Float>, count: Int, ldk: Int, ldv: Int,
        m: UnsafeMutablePointer<Float>, l: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>,
        scores: UnsafeMutablePointer<Float>,
        record: UnsafeMutablePointer<Float>? = nil, recordStride: Int = 0,
        chunkMax: UnsafeMutablePointer<Float>? = nil, chunkMaxStride: Int = 0
    ) {
        let r = heads / kvHeads
        // Rows ahead to prefetch, and the bytes of a row the kernel reads.
        let ahead = max(1, prefetchBytes / max(1, 4 * ldk))
        let keyBytes = 4 * kvHeads * dk, valueBytes = 4 * kvHeads * dv
        let valuesInKeys = v == k && ldv == ldk && valueBytes <= keyBytes  // MLA: values are the keys' first columns
        // Rows j0 ..< j1 of the range: prefetch rows j + ahead.
        @inline(__always) func prefetch(_ j0: Int, _ j1: Int) {
            var j = j0 &+ ahead
            let end = min(j1 &+ ahead, count)
            while j < end {
                let kr = UnsafeRawPointer(k + j &* ldk)
                var b = 0
                while b < keyBytes { attnlab_prefetch(kr + b); b &+= 64 }
                if !valuesInKeys {
                    let vr = UnsafeRawPointer(v + j &* ldv)
                    b = 0
                    while b < valueBytes { attnlab_prefetch(vr + b); b &+= 64 }
                }
                j &+= 1
            }
        }
        var c0 = 0
        while c0 < count {
            let nc = min(chunk, count - c0)
            // scores[h, j] = q_h · k_{j, g(h)}
            let rows = k + c0 * ldk
            if r >= 4 {
                // Four heads of a group × three keys per pass: twelve sums in registers,
                // each slice of the three keys and of the four queries loaded once.
                var j = 0
                while j + 3 <= nc {
                    prefetch(c0 + j, c0 + j + 3)
                    for g in 0..<kvHeads {
                        let kg = rows + j * ldk + g * dk
                        var h = g * r
                        while h + 4 <= (g + 1) * r {
                            dot4x3(qs + h * dk, kg, ldk: ldk, dk: dk, into: scores + h * chunk + j, stride: chunk)
                            h += 4
                        }
                        while h < (g + 1) * r {
                            for i in 0..<3 { scores[h * chunk + j + i] = VectorMath.dot(qs + h * dk, kg + i * ldk, count: dk) }
                            h += 1
                        }
                    }
                    j += 3
                }
                while j < nc {
                    prefetch(c0 + j, c0 + j + 1)
                    for g in 0..<kvHeads {
                        let kg = rows + j * ldk + g * dk
                        var h = g * r
                        while h + 4 <= (g + 1) * r {
                            dot4(qs + h * dk, kg, dk: dk, into: scores + h * chunk + j, stride: chunk)
                            h += 4
                        }
                        while h < (g + 1) * r { scores[h * chunk + j] = VectorMath.dot(qs + h * dk, kg, count: dk); h += 1 }
                    }
                    j += 1
                }
            } else {
                // One head × four keys per pass: the query slice loaded once for four keys,
                // the four sums reduced together.
                var j = 0
                while j + 4 <= nc {
                    prefetch(c0 + j, c0 + j + 4)
                    for h in 0..<heads {
                        let kg = rows + j * ldk + (h / r) * dk
                        let s = dot1x4(qs + h * dk, kg, ldk: ldk, dk: dk)
                        VectorMath.store4(s, scores + h * chunk + j)
                    }
                    j += 4
                }
                while j < nc {
                    prefetch(c0 + j, c0 + j + 1)
                    for h in 0..<heads {
                        scores[h * chunk + j] = VectorMath.dot(qs + h * dk, rows + j * ldk + (h / r) * dk, count: dk)
                    }
                    j += 1
                }
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
                if let record, let chunkMax {
                    (record + h * recordStride + c0).update(from: s, count: nc)
                    chunkMax[h * chunkMaxStride + c0 / chunk] = newM
                }
            }
            // acc[h] += Σ_j p[h, j] · v_{j, g(h)}
            if r >= 4 {
                for g in 0..<kvHeads {
                    let vg = v + c0 * ldv + g * dv
                    var h = g * r
                    // Four heads of a group at a time: each value slice loaded once for four heads.
                    while h + 4 <= (g + 1) * r {
                        weightedRows4(acc + h * dv, dv: dv, weights: scores + h * chunk, stride: chunk, rows: nc, v: vg, ldv: ldv)
                        h += 4
                    }
                    while h < (g + 1) * r {
                        VectorMath.weightedRowSum(acc + h * dv, n: dv, beta: 1, weights: scores + h * chunk, rows: nc, x: vg, ldx: ldv)
                        h += 1
                    }
                }
            } else {
                // Token-major, four rows per pass over each head's sums (which stay in L1):
                // the rows stream through memory front to back, as the hardware prefetcher
                // likes them (head by head over the chunk measured no faster here).
                var vRow = v + c0 * ldv
                var j = 0
                while j + 4 <= nc {
                    for h in 0..<heads {
                        let vg = vRow + (h / r) * dv, w = scores + h * chunk + j
                        VectorMath.axpy4(acc + h * dv, n: dv, w[0], vg, w[1], vg + ldv, w[2], vg + 2 * ldv, w[3], vg + 3 * ldv)
                    }
                    vRow += 4 * ldv
                    j += 4
                }
                while j < nc {
                    for h in 0..<heads { VectorMath.axpy(acc + h * dv, n: dv, scores[h * chunk + j], vRow + (h / r) * dv) }
                    vRow += ldv
                    j += 1
                }
            }
            c0 += nc
        }
    }

    /// out[i·stride + j] = q_i · k_j for the four queries q_i = q + i·dk and the three keys
    /// k_j = k + j·ldk: twelve accumulators, so the loop issues 12 FMAs per 7 loads.
    @inline(__always)
    static func dot4x3(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, ldk: Int, dk: Int,
                       into out: UnsafeMutablePointer<Float>, stride: Int) {
        typealias V = SIMD8<Float>
        let q1 = q + dk, q2 = q1 + dk, q3 = q2 + dk
        let k1 = k + ldk, k2 = k1 + ldk
        var a00 = V(), a01 = V(), a02 = V(), a10 = V(), a11 = V(), a12 = V()
        var a20 = V(), a21 = V(), a22 = V(), a30 = V(), a31 = V(), a32 = V()
        var d = 0
        while d &+ 8 <= dk {
            let x0 = VectorMath.load(k + d), x1 = VectorMath.load(k1 + d), x2 = VectorMath.load(k2 + d)
            let y0 = VectorMath.load(q + d)
            a00 = a00.addingProduct(y0, x0); a01 = a01.addingProduct(y0, x1); a02 = a02.addingProduct(y0, x2)
            let y1 = VectorMath.load(q1 + d)
            a10 = a10.addingProduct(y1, x0); a11 = a11.addingProduct(y1, x1); a12 = a12.addingProduct(y1, x2)
            let y2 = VectorMath.load(q2 + d)
            a20 = a20.addingProduct(y2, x0); a21 = a21.addingProduct(y2, x1); a22 = a22.addingProduct(y2, x2)
            let y3 = VectorMath.load(q3 + d)
            a30 = a30.addingProduct(y3, x0); a31 = a31.addingProduct(y3, x1); a32 = a32.addingProduct(y3, x2)
            d &+= 8
        }
        // Lane i of s_j is q_i · k_j over the columns so far.
        var s0 = VectorMath.sum4(a00, a10, a20, a30)
        var s1 = VectorMath.sum4(a01, a11, a21, a31)
        var s2 = VectorMath.sum4(a02, a12, a22, a32)
        while d < dk {
            let x = SIMD4<Float>(k[d], k1[d], k2[d], 0)
            let y = SIMD4<Float>(q[d], q1[d], q2[d], q3[d])
            s0 += y * x[0]; s1 += y * x[1]; s2 += y * x[2]
            d &+= 1
        }
        for i in 0..<4 { out[i &* stride] = s0[i]; out[i &* stride &+ 1] = s1[i]; out[i &* stride &+ 2] = s2[i] }
    }

    /// (q · k_0, q · k_1, q · k_2, q · k_3) for the keys k_j = k + j·ldk.
    @inline(__always)
    static func dot1x4(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, ldk: Int, dk: Int) -> SIMD4<Float> {
        typealias V = SIMD8<Float>
        let k1 = k + ldk, k2 = k1 + ldk, k3 = k2 + ldk
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var d = 0
        while d &+ 8 <= dk {
            let y = VectorMath.load(q + d)
            a0 = a0.addingProduct(y, VectorMath.load(k + d))
            a1 = a1.addingProduct(y, VectorMath.load(k1 + d))
            a2 = a2.addingProduct(y, VectorMath.load(k2 + d))
            a3 = a3.addingProduct(y, VectorMath.load(k3 + d))
            d &+= 8
        }
        var s = VectorMath.sum4(a0, a1, a2, a3)
        while d < dk {
            s += q[d] * SIMD4<Float>(k[d], k1[d], k2[d], k3[d])
            d &+= 1
        }
        return s
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
        var s = VectorMath.sum4(a0, a1, a2, a3)
        while d < dk {
            s += SIMD4<Float>(q[d], q1[d], q2[d], q3[d]) * k[d]
            d += 1
        }
        out[0] = s[0]; out[stride] = s[1]; out[2 * stride] = s[2]; out[3 * stride] = s[3]
    }

    /// acc_i[0 ..< dv] += Σ_j w_i[j] · v_j for four heads i (acc_i = acc + i·dv, w_i = weights
    /// + i·stride) over rows v_j = v + j·ldv, j < rows. 24 columns × 4 heads in registers
    /// (12 FMAs per 3 loads and 4 broadcasts), then 8 columns × 4 heads, then single columns.
    @inline(__always)
    static func weightedRows4(_ acc: UnsafeMutablePointer<Float>, dv: Int, weights w: UnsafePointer<Float>, stride: Int,
                              rows: Int, v: UnsafePointer<Float>, ldv: Int) {
        typealias V = SIMD8<Float>
        let w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride
        let y0 = acc, y1 = acc + dv, y2 = y1 + dv, y3 = y2 + dv
        var d = 0
        while d &+ 24 <= dv {
            var a00 = VectorMath.load(y0 + d), a01 = VectorMath.load(y0 + d + 8), a02 = VectorMath.load(y0 + d + 16)
            var a10 = VectorMath.load(y1 + d), a11 = VectorMath.load(y1 + d + 8), a12 = VectorMath.load(y1 + d + 16)
            var a20 = VectorMath.load(y2 + d), a21 = VectorMath.load(y2 + d + 8), a22 = VectorMath.load(y2 + d + 16)
            var a30 = VectorMath.load(y3 + d), a31 = VectorMath.load(y3 + d + 8), a32 = VectorMath.load(y3 + d + 16)
            var row = v + d
            for j in 0..<rows {
                let x0 = VectorMath.load(row), x1 = VectorMath.load(row + 8), x2 = VectorMath.load(row + 16)
                let b0 = V(repeating: w[j])
                a00 = a00.addingProduct(b0, x0); a01 = a01.addingProduct(b0, x1); a02 = a02.addingProduct(b0, x2)
                let b1 = V(repeating: w1[j])
                a10 = a10.addingProduct(b1, x0); a11 = a11.addingProduct(b1, x1); a12 = a12.addingProduct(b1, x2)
                let b2 = V(repeating: w2[j])
                a20 = a20.addingProduct(b2, x0); a21 = a21.addingProduct(b2, x1); a22 = a22.addingProduct(b2, x2)
                let b3 = V(repeating: w3[j])
                a30 = a30.addingProduct(b3, x0); a31 = a31.addingProduct(b3, x1); a32 = a32.addingProduct(b3, x2)
                row += ldv
            }
            VectorMath.store(a00, y0 + d); VectorMath.store(a01, y0 + d + 8); VectorMath.store(a02, y0 + d + 16)
            VectorMath.store(a10, y1 + d); VectorMath.store(a11, y1 + d + 8); VectorMath.store(a12, y1 + d + 16)
            VectorMath.store(a20, y2 + d); VectorMath.store(a21, y2 + d + 8); VectorMath.store(a22, y2 + d + 16)
            VectorMath.store(a30, y3 + d); VectorMath.store(a31, y3 + d + 8); VectorMath.store(a32, y3 + d + 16)
            d &+= 24
        }
        while d &+ 8 <= dv {
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

/// The Float32 decode kernel on caller-held rows: keys and values [n, G, D], one query
/// token q [H, D] → out [H, D], with `workers` threads. The baseline another cache layout's
/// kernel is timed against in the same run (attnlab-bench policy-decode); and its inner
/// step, `fold`, for kernels that produce Float32 rows a tile at a time (a quantised cache
/// restoring them as it reads).
public enum FloatDecode {
    /// Rows per tile that `fold` takes in one online-softmax step.
    public static let chunk = DecodeKernel.chunk

    /// Folds `count` rows of keys and values (row i at keys + i·ld, values + i·ld; kv head
    /// g at column g·D) into a running state per head h: max m[h], sum l[h] and
    /// acc[h·D ..< (h+1)·D] (start from −∞, 0, 0; the result is acc[h] / l[h]). `qs` is the
    /// query already multiplied by the score scale; `scores` holds heads · chunk floats.
    @inline(__always)
    public static func fold(scaledQuery qs: UnsafePointer<Float>, heads: Int, kvHeads: Int, headDim d: Int,
                            keys: UnsafePointer<Float>, values: UnsafePointer<Float>, count: Int, ld: Int,
                            max m: UnsafeMutablePointer<Float>, sum l: UnsafeMutablePointer<Float>,
                            acc: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        DecodeKernel.range(qs: qs, heads: heads, kvHeads: kvHeads, dk: d, dv: d, k: keys, v: values, count: count,
                           ldk: ld, ldv: ld, m: m, l: l, acc: acc, scores: scores)
    }

    /// `fold` over rows that it also records the weights of, for a policy that scores
    /// entries by the attention they receive: after the call, weights[h·stride + j] ·
    /// e^(chunkMax[h·chunkMaxStride + j / chunk] − m[h]) / l[h] is head h's probability of
    /// row j (when the state started empty). The rows stream in one pass, prefetched across
    /// chunks, as `attend` reads them.
    public static func foldRecordingWeights(scaledQuery qs: UnsafePointer<Float>, heads: Int, kvHeads: Int, headDim d: Int,
                                            keys: UnsafePointer<Float>, values: UnsafePointer<Float>, count: Int, ld: Int,
                                            max m: UnsafeMutablePointer<Float>, sum l: UnsafeMutablePointer<Float>,
                                            acc: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>,
                                            weights: UnsafeMutablePointer<Float>, stride: Int,
                                            chunkMax: UnsafeMutablePointer<Float>, chunkMaxStride: Int) {
        DecodeKernel.range(qs: qs, heads: heads, kvHeads: kvHeads, dk: d, dv: d, k: keys, v: values, count: count,
                           ldk: ld, ldv: ld, m: m, l: l, acc: acc, scores: scores,
                           record: weights, recordStride: stride, chunkMax: chunkMax, chunkMaxStride: chunkMaxStride)
    }

    public static func attend(query q: UnsafePointer<Float>, heads: Int, kvHeads: Int, headDim d: Int,
                              keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens n: Int, scale: Float,
                              out: UnsafeMutablePointer<Float>, workers: Int = 1, scratch: inout [Float]) {
        precondition(heads >= kvHeads && heads % kvHeads == 0 && n >= 1, "decode of \(heads) heads over \(kvHeads) kv heads, \(n) keys")
        let needed = DecodeKernel.workspaceCount(heads: heads, keyDim: d, valueDim: d, workers: workers)
        if scratch.count < needed { scratch = [Float](repeating: 0, count: needed) }
        let segments = KVSegments(KVSegment(k: keys, v: values, count: n))
        scratch.withUnsafeMutableBufferPointer { s in
            DecodeKernel.attend(q: q, heads: heads, kvHeads: kvHeads, keyDim: d, valueDim: d, segments: segments,
                                ldk: kvHeads * d, ldv: kvHeads * d, scale: scale, out: out, workspace: s.baseAddress!, workers: workers)
        }
    }
}
