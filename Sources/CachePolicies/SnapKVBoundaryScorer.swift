// SnapKV's one-off decision at the end of a long prompt, at the speed a deployment would
// make it: what compress-once policies cost before decoding starts (attnlab-bench
// eviction-decode times it). The rule is SnapKV's as the evaluation applies it
// (SnapKV.swift): the prompt's last w queries attend over the keys up to their own
// positions; per kv head, each prefix key's score is the attention it receives, summed
// over those queries and the group's query heads, average-pooled over the prefix (kernel
// k, zero padding, divided by k); the top-scored prefix keys (ties: the earlier) and the
// w window keys are kept, budget in all.
//
// Keys are token-major [n, G, D] (rotated), as the Float32 cache holds them; queries
// [w, H, D], already multiplied by the score scale. The scores of a head are one sgemm,
// w × n.

import Foundation
import TensorCore

public enum SnapKVBoundaryScorer {
    /// Kept positions per kv head, ascending.
    public static func kept(scaledQueries q: [Float], window w: Int, heads: Int, keys: [Float], tokens n: Int, kvHeads g: Int,
                            headDim d: Int, kernel: Int, budget: Int) -> [[Int]] {
        precondition(w >= 1 && w < n && budget >= w && budget <= n && heads % g == 0, "SnapKV at the boundary: window \(w), budget \(budget), \(n) tokens")
        precondition(q.count == w * heads * d && keys.count == n * g * d, "queries [w, H, D] and keys [n, G, D]")
        let r = heads / g, prefix = n - w
        var raw = [Double](repeating: 0, count: g * prefix)
        var s = [Float](repeating: 0, count: w * n)
        for h in 0..<heads {
            let kv = h / r
            q.withUnsafeBufferPointer { pq in keys.withUnsafeBufferPointer { pk in s.withUnsafeMutableBufferPointer { ps in
                // s[i, j] = q_{i,h} · k_{j,g}: A = the window's rows of head h (stride H·D), B = keys of kv head g (stride G·D).
                BLAS.gemm(transA: false, transB: true, m: w, n: n, k: d, a: pq.baseAddress! + h * d, lda: heads * d,
                          b: pk.baseAddress! + kv * d, ldb: g * d, c: ps.baseAddress!, ldc: n)
            } } }
            s.withUnsafeMutableBufferPointer { ps in raw.withUnsafeMutableBufferPointer { pr in
                for i in 0..<w {
                    let visible = prefix + i + 1  // the query at position n − w + i sees keys 0 ... n − w + i
                    let row = ps.baseAddress! + i * n, sums = pr.baseAddress! + kv * prefix
                    // The row becomes e^(s − max) in place; the probabilities are those over the total.
                    let total = VectorMath.expShiftedSum(row, count: visible, shift: VectorMath.max(row, count: visible))
                    let inverse = 1 / Double(total)
                    for j in 0..<prefix { sums[j] += Double(row[j]) * inverse }
                }
            } }
        }
        let half = kernel / 2
        return (0..<g).map { kv in
            let base = kv * prefix
            let pooled = (0..<prefix).map { j -> Double in
                let lo = max(0, j - half), hi = min(prefix - 1, j + half)
                return raw[(base + lo)...(base + hi)].reduce(0, +) / Double(kernel)
            }
            let top = (0..<prefix).sorted { pooled[$0] != pooled[$1] ? pooled[$0] > pooled[$1] : $0 < $1 }.prefix(budget - w)
            return top.sorted() + Array(prefix..<n)
        }
    }
}
