// The KV cache of the softmax family (MHA, GQA, MQA, sliding window, and a window with
// attention sinks).
//
// Layout per sequence: token-major [slots, G, D] for keys and values, so one kv head's
// keys are rows with stride G·D — exactly what sgemm/sgemv take as a leading dimension.
// Without a window the cache grows by appending (sinks change nothing then). With a window
// w and s sinks it holds two stores: the first s positions, kept for good, and a ring
// buffer of exactly w entries for the positions after them (position p ≥ s in slot
// (p − s) mod w), so memory stops growing at s + w entries, the keys the mask can still
// show (`AttentionMask.retainedKeys`).

import Foundation
import TensorCore

final class SoftmaxKVCache: SoftmaxFamilyCache {
    let batch: Int
    let kvHeads: Int   // G
    let headDim: Int   // D
    let mask: AttentionMask
    private(set) var length = 0
    private var keys: [[Float]]    // per sequence [slots, G, D]: every position, or the ring
    private var values: [[Float]]  // per sequence [slots, G, D]
    private var sinkKeys: [[Float]], sinkValues: [[Float]]  // window only: positions 0 ..< s
    /// Scores of one query block, reused across calls (no per-token allocation).
    private var scratch: [Float] = []
    /// Window only: the sinks, the old ring entries in position order, then the new ones.
    private var orderedKeys: [Float] = [], orderedValues: [Float] = []

    var window: Int? { mask.window }
    /// Positions kept apart from the ring (0 without a window, where every position is kept).
    var sinks: Int { mask.window == nil ? 0 : mask.sinks }

    init(batch: Int, capacity: Int, kvHeads: Int, headDim: Int, mask: AttentionMask) {
        precondition(batch >= 1 && capacity >= 0, "cache for batch \(batch), capacity \(capacity)")
        self.batch = batch
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.mask = mask
        let slots = min(capacity, mask.window ?? capacity)
        keys = (0..<batch).map { _ in var a = [Float](); a.reserveCapacity(slots * kvHeads * headDim); return a }
        values = keys
        sinkKeys = Array(repeating: [], count: batch)
        sinkValues = sinkKeys
    }

    var rowWidth: Int { kvHeads * headDim }

    var bytes: Int {
        let floats = [keys, values, sinkKeys, sinkValues].reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        return floats * MemoryLayout<Float>.size
    }

    func advance(by t: Int) { length += t }

    /// Entries of the sink store and of the ring (or the plain store) after n tokens.
    private func entries(tokens n: Int) -> (sinks: Int, main: Int) {
        guard let w = window else { return (0, n) }
        return (min(n, sinks), min(max(0, n - sinks), w))
    }

    func rewind(to n: Int) {
        precondition(n >= 0 && n <= length, "rewind to \(n) outside 0...\(length)")
        let e = entries(tokens: n)
        for b in 0..<batch {
            keys[b].removeLast(keys[b].count - e.main * rowWidth)
            values[b].removeLast(values[b].count - e.main * rowWidth)
            sinkKeys[b].removeLast(sinkKeys[b].count - e.sinks * rowWidth)
            sinkValues[b].removeLast(sinkValues[b].count - e.sinks * rowWidth)
        }
        length = n
    }

    func synthesize(tokens n: Int, rng: inout Xoshiro256StarStar) {
        let e = entries(tokens: n)
        for b in 0..<batch {
            keys[b] = (0..<(e.main * rowWidth)).map { _ in rng.nextNormal() }
            values[b] = (0..<(e.main * rowWidth)).map { _ in rng.nextNormal() }
            sinkKeys[b] = (0..<(e.sinks * rowWidth)).map { _ in rng.nextNormal() }
            sinkValues[b] = (0..<(e.sinks * rowWidth)).map { _ in rng.nextNormal() }
        }
        length = n
    }

    /// Stores the key and value rows of position p (window only): in the sink store while
    /// p < s, else in ring slot (p − s) mod w, appending while the ring fills.
    private func store(sequence bi: Int, position p: Int, key: ArraySlice<Float>, value: ArraySlice<Float>) {
        let w = window!, rw = rowWidth
        if p < sinks {
            sinkKeys[bi].append(contentsOf: key)
            sinkValues[bi].append(contentsOf: value)
        } else if p - sinks < w {
            keys[bi].append(contentsOf: key)
            values[bi].append(contentsOf: value)
        } else {
            let slot = ((p - sinks) % w) * rw
            keys[bi].replaceSubrange(slot..<(slot + rw), with: key)
            values[bi].replaceSubrange(slot..<(slot + rw), with: value)
        }
    }

    /// Attends the `newTokens` queries of sequence `sequence` (positions length ..< length + T)
    /// over the cached keys and the new ones, stores the new keys and values, and writes
    /// the outputs into `output`. All arrays hold the whole batch: queries [B, T, H, D],
    /// keys/values [B, T, G, D], output [B, T, H·D].
    func attend(sequence bi: Int, queries: [Float], keys newKeys: [Float], values newValues: [Float],
                newTokens t: Int, heads: Int, output: inout [Float], scale: Float) {
        let rw = rowWidth, p0 = length
        let newK = newKeys[(bi * t * rw)..<((bi + 1) * t * rw)]
        let newV = newValues[(bi * t * rw)..<((bi + 1) * t * rw)]
        let qOffset = bi * t * heads * headDim
        if let w = window, t == 1 {
            // Decode: store the new token first (over the ring entry of position p0 − w, which
            // the query no longer sees); then every stored sink and every ring entry is
            // visible, attended in position order as up to three runs of rows, without copying.
            store(sequence: bi, position: p0, key: newK, value: newV)
            let ringFilled = min(max(0, p0 + 1 - sinks), w)
            let oldest = p0 + 1 - sinks <= w ? 0 : (p0 + 1 - sinks) % w  // slot of the oldest ring position
            let sinkCount = min(sinks, p0 + 1)
            keys[bi].withUnsafeBufferPointer { k in
                values[bi].withUnsafeBufferPointer { v in
                    sinkKeys[bi].withUnsafeBufferPointer { sk in
                        sinkValues[bi].withUnsafeBufferPointer { sv in
                            queries.withUnsafeBufferPointer { q in
                                output.withUnsafeMutableBufferPointer { o in
                                    let segments = KVSegments(
                                        sinkCount > 0 ? KVSegment(k: sk.baseAddress!, v: sv.baseAddress!, count: sinkCount) : nil,
                                        ringFilled > 0 ? KVSegment(k: k.baseAddress! + oldest * rw, v: v.baseAddress! + oldest * rw,
                                                                   count: ringFilled - oldest) : nil,
                                        oldest > 0 ? KVSegment(k: k.baseAddress!, v: v.baseAddress!, count: oldest) : nil)
                                    SoftmaxKernel.decode(q: q.baseAddress! + qOffset, heads: heads, kvHeads: kvHeads, keyDim: headDim,
                                                         valueDim: headDim, segments: segments, ldk: rw, ldv: rw, scale: scale,
                                                         out: o.baseAddress! + qOffset, scratch: &scratch)
                                }
                            }
                        }
                    }
                }
            }
        } else if let w = window {
            // Prefill: the rows `KeyRows` describes: the stored sinks, the ring's entries in
            // position order (positions p0 − old ..< p0), then the new tokens.
            let old = min(w, max(0, p0 - sinks))
            orderedKeys.removeAll(keepingCapacity: true)
            orderedValues.removeAll(keepingCapacity: true)
            orderedKeys.append(contentsOf: sinkKeys[bi])
            orderedValues.append(contentsOf: sinkValues[bi])
            for p in (p0 - old)..<p0 {
                let slot = ((p - sinks) % w) * rw
                orderedKeys.append(contentsOf: keys[bi][slot..<(slot + rw)])
                orderedValues.append(contentsOf: values[bi][slot..<(slot + rw)])
            }
            orderedKeys.append(contentsOf: newK)
            orderedValues.append(contentsOf: newV)
            run(queries: queries, qOffset: qOffset, keys: orderedKeys, values: orderedValues, t: t, p0: p0,
                firstKeyPosition: p0 - old, keyCount: orderedKeys.count / rw, heads: heads, output: &output, scale: scale)
            for i in 0..<t {
                let src = newK.startIndex + i * rw
                store(sequence: bi, position: p0 + i, key: newK[src..<(src + rw)], value: newV[src..<(src + rw)])
            }
        } else {
            keys[bi].append(contentsOf: newK)
            values[bi].append(contentsOf: newV)
            run(queries: queries, qOffset: qOffset, keys: keys[bi], values: values[bi], t: t, p0: p0,
                firstKeyPosition: 0, keyCount: p0 + t, heads: heads, output: &output, scale: scale)
        }
    }

    private func run(queries: [Float], qOffset: Int, keys: [Float], values: [Float], t: Int, p0: Int,
                     firstKeyPosition: Int, keyCount: Int, heads: Int, output: inout [Float], scale: Float) {
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { o in
                        SoftmaxKernel.attend(
                            q: q.baseAddress! + qOffset, ldq: heads * headDim,
                            k: k.baseAddress!, ldk: rowWidth, v: v.baseAddress!, ldv: rowWidth,
                            out: o.baseAddress! + qOffset, ldo: heads * headDim,
                            t: t, p0: p0, firstKeyPosition: firstKeyPosition, keyCount: keyCount,
                            heads: heads, kvHeads: kvHeads, keyDim: headDim, valueDim: headDim,
                            mask: mask, scale: scale, scratch: &scratch)
                    }
                }
            }
        }
    }
}
