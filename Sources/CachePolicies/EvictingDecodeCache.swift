// Generation with a cache held at a fixed budget by evicting one entry per generated token,
// the setting of StreamingLLM, H2O and TOVA in their papers (the evaluation compresses once
// at the context boundary instead: PolicyKVCache). What a policy costs per token beyond
// attending over its budget is what this measures (attnlab-bench eviction-decode): the
// attention each entry received, the scan for the entry to drop and the write of the new
// token into its slot.
//
// Rows are Float32 [budget + 1, G, D], token-major as the Float32 decode kernel reads them,
// and attended by that kernel's own pass (`FloatDecode.fold`, recording the weights for
// H2O and TOVA: `foldRecordingWeights`) over every row: the new
// token is written into the free slot, attends over the budget's entries and itself, and
// then one entry is evicted and its slot becomes the free one. The probabilities come from
// the kernel's weights: after folding a tile of rows, its weights are e^(s − m_t) for that
// tile's running maximum m_t, so p = w · e^(m_t − m) / l once the last tile has set m and l.
//
// Rules (their papers' choices; budget B):
// - streaming: the first `sinks` positions stay; the oldest other entry goes (a FIFO of
//   slots, no scores).
// - h2o: per kv head, the accumulated attention its entries received, summed over the
//   group's query heads; the most recent B/2 positions are protected, and of the others the
//   least attended goes (ties: the oldest). Each kv head evicts on its own, so a row holds
//   different tokens in different kv heads.
// - tova: the attention from the current query, averaged over all query heads; the least
//   attended entry goes, the new token included (one decision per layer, every kv head).

import Attention
import Foundation
import TensorCore

public final class EvictingDecodeCache {
    public enum Rule: String, CaseIterable, Sendable {
        case streaming, h2o, tova
    }

    public let rule: Rule
    public let budget: Int
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int
    /// StreamingLLM's attention sinks (the paper's 4).
    public let sinks: Int
    /// H2O: the most recent positions that are never evicted (half the budget, the paper's split).
    public var recent: Int { budget / 2 }
    /// Rows attended at the last step (budget + 1 once full).
    public private(set) var rows = 0
    /// The next token's position.
    public private(set) var nextPosition = 0

    private var keys: [Float], values: [Float]   // [budget + 1, G, D]
    private var positions: [Int]                 // [budget + 1, G]
    private var received: [Float]                // [G, budget + 1]: H2O's scores, contiguous per kv head
    private var tovaScores: [Float]              // [budget + 1]: TOVA's, summed over heads
    private var free: [Int]                      // [G]: the slot the next token takes
    private var fifo: [Int], fifoHead = 0, fifoCount = 0  // streaming: non-sink slots, oldest first
    /// The last step's probabilities [H, rows] (head h over the rows in slot order).
    public private(set) var probabilities: [Float]
    private var weights: [Float], tileMax: [Float]       // [H, budget + 1], [H, tiles]
    private var state: [Float], scores: [Float]           // m, l, acc; the kernel's tile
    private var scaledQuery: [Float]                      // [H, D]

    public init(rule: Rule, budget: Int, heads: Int, kvHeads: Int, headDim: Int, sinks: Int = 4) {
        precondition(budget >= 2 && heads >= kvHeads && kvHeads >= 1 && heads % kvHeads == 0 && headDim >= 1,
                     "eviction cache: budget \(budget) ≥ 2, \(heads) query heads over \(kvHeads) kv heads of \(headDim)")
        precondition(rule != .streaming || (sinks >= 0 && sinks < budget), "streaming: \(sinks) sinks must be fewer than the budget \(budget)")
        self.rule = rule; self.budget = budget; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.sinks = rule == .streaming ? sinks : 0
        let slots = budget + 1, tiles = (slots + FloatDecode.chunk - 1) / FloatDecode.chunk
        keys = [Float](repeating: 0, count: slots * kvHeads * headDim)
        values = keys
        positions = [Int](repeating: -1, count: slots * kvHeads)
        received = [Float](repeating: 0, count: slots * kvHeads)
        tovaScores = [Float](repeating: 0, count: slots)
        free = [Int](repeating: 0, count: kvHeads)
        fifo = [Int](repeating: 0, count: slots)
        probabilities = [Float](repeating: 0, count: heads * slots)
        weights = probabilities
        tileMax = [Float](repeating: 0, count: heads * tiles)
        state = [Float](repeating: 0, count: heads * (2 + headDim))
        scores = [Float](repeating: 0, count: heads * FloatDecode.chunk)
        scaledQuery = [Float](repeating: 0, count: heads * headDim)
    }

    /// Positions kv head g attended at the last step, in slot order (the order of
    /// `probabilities`' columns).
    public func attendedPositions(kvHead g: Int) -> [Int] { (0..<rows).map { positions[$0 * kvHeads + g] } }

    /// Positions kv head g holds after the last step (its evicted slot left out), ascending.
    public func heldPositions(kvHead g: Int) -> [Int] {
        (0..<rows).filter { rows < budget + 1 || $0 != free[g] }.map { positions[$0 * kvHeads + g] }.sorted()
    }

    /// Stores `count` ≤ budget tokens at positions 0 ..< count without attending (a prompt
    /// whose scores start at zero): keys and values [count, G, D].
    public func fill(keys k: [Float], values v: [Float], count n: Int) {
        precondition(rows == 0 && n <= budget && k.count == n * kvHeads * headDim && v.count == k.count,
                     "fill an empty cache with at most \(budget) tokens of [G, D] = [\(kvHeads), \(headDim)]")
        keys.replaceSubrange(0..<k.count, with: k)
        values.replaceSubrange(0..<v.count, with: v)
        for j in 0..<n {
            for kv in 0..<kvHeads { positions[j * kvHeads + kv] = j }
            if rule == .streaming && j >= sinks { fifo[fifoCount] = j; fifoCount += 1 }
        }
        rows = n
        nextPosition = n
    }

    /// Appends one token (key and value [G, D], already rotated), attends the query q [H, D]
    /// over every held entry and the token itself into out [H, D], then evicts one entry
    /// when the budget is exceeded.
    public func step(query q: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                     scale: Float, out: UnsafeMutablePointer<Float>) {
        let g = kvHeads, d = headDim, p = nextPosition
        nextPosition += 1
        // Store the token in each kv head's free slot.
        let full = rows == budget + 1
        for kv in 0..<g {
            let slot = full ? free[kv] : rows
            keys.withUnsafeMutableBufferPointer { k in (k.baseAddress! + (slot * g + kv) * d).update(from: key + kv * d, count: d) }
            values.withUnsafeMutableBufferPointer { v in (v.baseAddress! + (slot * g + kv) * d).update(from: value + kv * d, count: d) }
            positions[slot * g + kv] = p
            received[kv * (budget + 1) + slot] = 0
        }
        if rule == .streaming && p >= sinks {
            fifo[(fifoHead + fifoCount) % fifo.count] = full ? free[0] : rows
            fifoCount += 1
        }
        if !full { rows += 1 }
        attend(q, scale: scale, out: out)
        guard rows == budget + 1 else { return }
        switch rule {
        case .streaming:
            let slot = fifo[fifoHead]
            fifoHead = (fifoHead + 1) % fifo.count
            fifoCount -= 1
            for kv in 0..<g { free[kv] = slot }
        case .h2o:
            for kv in 0..<g {
                let sums = kv * (budget + 1)
                var best = -1
                for j in 0..<rows where positions[j * g + kv] <= p - recent {
                    if best < 0 || received[sums + j] < received[sums + best]
                        || (received[sums + j] == received[sums + best] && positions[j * g + kv] < positions[best * g + kv]) { best = j }
                }
                free[kv] = best
            }
        case .tova:
            var best = 0, bestScore = Float.infinity
            for j in 0..<rows where tovaScores[j] < bestScore || (tovaScores[j] == bestScore && positions[j * g] < positions[best * g]) {
                best = j
                bestScore = tovaScores[j]
            }
            for kv in 0..<g { free[kv] = best }
        }
    }

    /// Attention over rows 0 ..< rows with the Float32 kernel's pass, keeping each tile's
    /// weights and running maximum; then the probabilities (and H2O's or TOVA's sums).
    private func attend(_ q: UnsafePointer<Float>, scale: Float, out: UnsafeMutablePointer<Float>) {
        let h = heads, g = kvHeads, d = headDim, n = rows, chunk = FloatDecode.chunk, tiles = (n + chunk - 1) / chunk
        let needsProbabilities = rule != .streaming
        for i in 0..<(h * d) { scaledQuery[i] = q[i] * scale }
        state.withUnsafeMutableBufferPointer { st in
            let m = st.baseAddress!, l = m + h, acc = l + h
            for i in 0..<h { m[i] = -.infinity; l[i] = 0 }
            acc.update(repeating: 0, count: h * d)
            keys.withUnsafeBufferPointer { k in values.withUnsafeBufferPointer { v in scores.withUnsafeMutableBufferPointer { s in
                weights.withUnsafeMutableBufferPointer { w in tileMax.withUnsafeMutableBufferPointer { tm in scaledQuery.withUnsafeBufferPointer { qp in
                    if needsProbabilities {
                        FloatDecode.foldRecordingWeights(scaledQuery: qp.baseAddress!, heads: h, kvHeads: g, headDim: d,
                                                         keys: k.baseAddress!, values: v.baseAddress!, count: n, ld: g * d,
                                                         max: m, sum: l, acc: acc, scores: s.baseAddress!,
                                                         weights: w.baseAddress!, stride: budget + 1, chunkMax: tm.baseAddress!, chunkMaxStride: tiles)
                    } else {
                        FloatDecode.fold(scaledQuery: qp.baseAddress!, heads: h, kvHeads: g, headDim: d, keys: k.baseAddress!,
                                         values: v.baseAddress!, count: n, ld: g * d, max: m, sum: l, acc: acc, scores: s.baseAddress!)
                    }
                } } }
            } } }
            for i in 0..<h {
                let inv = 1 / l[i]
                for c in 0..<d { out[i * d + c] = acc[i * d + c] * inv }
            }
            guard needsProbabilities else { return }
            // p = w · e^(m_t − m) / l, per tile; H2O adds each head's row to its kv head's sums,
            // TOVA sums the heads.
            let r = h / g
            if rule == .tova { tovaScores.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: n) } }
            weights.withUnsafeBufferPointer { w in probabilities.withUnsafeMutableBufferPointer { pr in
                tileMax.withUnsafeBufferPointer { tm in received.withUnsafeMutableBufferPointer { rc in tovaScores.withUnsafeMutableBufferPointer { ts in
                    for i in 0..<h {
                        let src = w.baseAddress! + i * (budget + 1), dst = pr.baseAddress! + i * n
                        dst.update(from: src, count: n)
                        for t in 0..<tiles {
                            let c0 = t * chunk
                            VectorMath.scale(dst + c0, n: min(chunk, n - c0), by: Foundation.exp(tm[i * tiles + t] - m[i]) / l[i])
                        }
                        switch rule {
                        case .h2o: VectorMath.axpy(rc.baseAddress! + (i / r) * (budget + 1), n: n, 1, dst)
                        case .tova: VectorMath.axpy(ts.baseAddress!, n: n, 1, dst)
                        case .streaming: break
                        }
                    }
                } } }
            } }
        }
    }
}
