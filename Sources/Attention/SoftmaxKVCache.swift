// The KV cache of the softmax family (MHA, GQA, MQA, sliding window).
//
// Layout per sequence: token-major [slots, G, D] for keys and values, so one kv head's
// keys are rows with stride G·D — exactly what sgemm/sgemv take as a leading dimension.
// Without a window the cache grows by appending. With a window w it is a ring buffer of
// exactly w entries: position p lives in slot p mod w, and memory stops growing at w.

import Foundation
import TensorCore

final class SoftmaxKVCache: AttentionCache {
    let batch: Int
    let kvHeads: Int   // G
    let headDim: Int   // D
    let window: Int?   // w
    private(set) var length = 0
    private var keys: [[Float]]    // per sequence [slots, G, D]
    private var values: [[Float]]  // per sequence [slots, G, D]
    /// Scores of one query block, reused across calls (no per-token allocation).
    private var scratch: [Float] = []
    /// Window only: old entries in position order plus the new ones, reused.
    private var orderedKeys: [Float] = [], orderedValues: [Float] = []

    init(batch: Int, capacity: Int, kvHeads: Int, headDim: Int, window: Int?) {
        precondition(batch >= 1 && capacity >= 0, "cache for batch \(batch), capacity \(capacity)")
        self.batch = batch
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.window = window
        let slots = min(capacity, window ?? capacity)
        keys = (0..<batch).map { _ in var a = [Float](); a.reserveCapacity(slots * kvHeads * headDim); return a }
        values = keys
    }

    var rowWidth: Int { kvHeads * headDim }

    var bytes: Int { (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count }) * MemoryLayout<Float>.size }

    func advance(by t: Int) { length += t }

    func rewind(to n: Int) {
        precondition(n >= 0 && n <= length, "rewind to \(n) outside 0...\(length)")
        let entries = min(n, window ?? n) * rowWidth
        for b in 0..<batch {
            keys[b].removeLast(keys[b].count - entries)
            values[b].removeLast(values[b].count - entries)
        }
        length = n
    }

    func synthesize(tokens n: Int, rng: inout Xoshiro256StarStar) {
        let entries = min(n, window ?? n) * rowWidth
        for b in 0..<batch {
            keys[b] = (0..<entries).map { _ in rng.nextNormal() }
            values[b] = (0..<entries).map { _ in rng.nextNormal() }
        }
        length = n
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
            // Decode: store the new token first, in the slot of position p0 − w, which the
            // query no longer sees; the ring then holds exactly the visible keys, attended
            // in position order as two contiguous runs of slots, without copying.
            if p0 < w {
                keys[bi].append(contentsOf: newK)
                values[bi].append(contentsOf: newV)
            } else {
                let slot = (p0 % w) * rw
                keys[bi].replaceSubrange(slot..<(slot + rw), with: newK)
                values[bi].replaceSubrange(slot..<(slot + rw), with: newV)
            }
            let filled = min(p0 + 1, w), oldest = p0 + 1 < w ? 0 : (p0 + 1) % w  // slot of the first visible position
            keys[bi].withUnsafeBufferPointer { k in
                values[bi].withUnsafeBufferPointer { v in
                    queries.withUnsafeBufferPointer { q in
                        output.withUnsafeMutableBufferPointer { o in
                            let k0 = k.baseAddress!, v0 = v.baseAddress!
                            let first = KVSegment(k: k0 + oldest * rw, v: v0 + oldest * rw, count: filled - oldest)
                            let second = oldest > 0 ? KVSegment(k: k0, v: v0, count: oldest) : nil
                            SoftmaxKernel.decode(q: q.baseAddress! + qOffset, heads: heads, kvHeads: kvHeads, keyDim: headDim,
                                                 valueDim: headDim, first: first, second: second, ldk: rw, ldv: rw, scale: scale,
                                                 out: o.baseAddress! + qOffset, scratch: &scratch)
                        }
                    }
                }
            }
        } else if let w = window {
            // Prefill: keys visible to this step: the last min(p0, w) cached positions, in order, then the new ones.
            let old = min(p0, w)
            orderedKeys.removeAll(keepingCapacity: true)
            orderedValues.removeAll(keepingCapacity: true)
            for p in (p0 - old)..<p0 {
                let slot = p % w
                orderedKeys.append(contentsOf: keys[bi][(slot * rw)..<((slot + 1) * rw)])
                orderedValues.append(contentsOf: values[bi][(slot * rw)..<((slot + 1) * rw)])
            }
            orderedKeys.append(contentsOf: newK)
            orderedValues.append(contentsOf: newV)
            run(queries: queries, qOffset: qOffset, keys: orderedKeys, values: orderedValues, t: t, p0: p0,
                firstKeyPosition: p0 - old, keyCount: old + t, heads: heads, output: &output, scale: scale)
            // Store the new tokens: append while filling, then overwrite the oldest slot.
            for i in 0..<t {
                let p = p0 + i
                let src = newK.startIndex + i * rw
                if p < w {
                    keys[bi].append(contentsOf: newK[src..<(src + rw)])
                    values[bi].append(contentsOf: newV[src..<(src + rw)])
                } else {
                    let slot = (p % w) * rw
                    keys[bi].replaceSubrange(slot..<(slot + rw), with: newK[src..<(src + rw)])
                    values[bi].replaceSubrange(slot..<(slot + rw), with: newV[src..<(src + rw)])
                }
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
                            window: window, scale: scale, scratch: &scratch)
                    }
                }
            }
        }
    }
}
