// The cache a policy manages, for one layer of a softmax-family mechanism without a
// window: per sequence and kv head, the entries it keeps (key, value, original position)
// and the statistics the policies score them by.
//
// MLA's latent cache fits the same shape in its absorbed form (DeepSeek-V2 §2.1.2): one
// kv head whose key is the cached row [c_KV | k_R] (d_c + d_R) and whose value is c_KV,
// the row's first d_c entries, attended by the H absorbed queries [W_UK,iᵀ q_C,i | q_R,i].
// The value is then no second vector in the cache (`valuesInKeys`: its bytes are the
// key's) and RoPE sits in the key's last d_R columns only (`ropeColumns`).
//
// Attention runs token by token in plain loops (each new token is stored, then its query
// attends over every entry of its kv head), with the softmax in Double: the evaluation's
// sequences are a few hundred tokens, and plain loops keep the probabilities at hand
// for the statistics. Keys are stored after RoPE at their original positions, so an
// evicted gap needs no re-rotation: a kept key scores exactly as it did before.
//
// Statistics, per entry, summed over the query heads of its kv head:
// - `received`: the attention it received from every query so far (H2O's score);
// - `lastAttention`: the attention from the most recent query (TOVA's score);
// and per query head the most recent queries themselves (SnapKV scores the context by
// the attention of its last w queries, recomputed at the boundary).

import Attention
import Foundation
import TensorCore

/// One kv head's entries in one sequence, in the order they were stored (by position).
public struct HeadStore: Sendable {
    public var keys: [Float] = []       // [n, D]
    public var values: [Float] = []     // [n, Dv]
    public var positions: [Int] = []    // [n]
    public var received: [Double] = []  // [n]
    public var lastAttention: [Double] = []  // [n]
    /// The first `quantisedEntries` entries hold quantised-then-restored values and take
    /// `quantisedBytes` in the cache; the rest are Float32.
    public var quantisedEntries = 0
    public var quantisedBytes = 0

    public var count: Int { positions.count }

    /// Keeps the entries at `indices` (ascending), in order; drops the others. The
    /// quantised prefix, if any, must be kept whole (its bytes are counted as one).
    public mutating func keep(_ indices: [Int], keyDim d: Int, valueDim dv: Int) {
        precondition(indices.prefix(quantisedEntries) == ArraySlice(0..<quantisedEntries),
                     "the \(quantisedEntries) quantised entries must be kept: evict before quantising")
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 } && indices.allSatisfy { $0 >= 0 && $0 < count },
                     "entries to keep must be ascending indices in 0..<\(count)")
        func rows(_ a: [Float], _ d: Int) -> [Float] { indices.flatMap { a[($0 * d)..<(($0 + 1) * d)] } }
        keys = rows(keys, d)
        values = rows(values, dv)
        positions = indices.map { positions[$0] }
        received = indices.map { received[$0] }
        lastAttention = indices.map { lastAttention[$0] }
    }
}

public final class PolicyKVCache: SoftmaxFamilyCache {
    public let batch: Int
    public let kvHeads: Int   // G
    public let headDim: Int   // D, the key's width
    /// The value's width (D but for MLA).
    public let valueDim: Int
    /// MLA: the value is the key's first `valueDim` entries, held once.
    public let valuesInKeys: Bool
    /// The key columns RoPE rotated: all of them, or MLA's last d_R.
    public let ropeColumns: Range<Int>
    public private(set) var length = 0
    /// [B][G]
    public var stores: [[HeadStore]]
    /// The most recent queries of each query head, oldest first: [B][H] of (position, [D]).
    public private(set) var recentQueries: [[[(position: Int, query: [Float])]]]
    /// How many recent queries each head keeps for the policies that score by them.
    public static let observationCapacity = 64
    /// The mechanism's score scale (1/√D) and its query heads H, recorded at each step:
    /// SnapKV rescores with them.
    public private(set) var scale: Float = 1
    public private(set) var queryHeads = 0
    /// The mechanism's RoPE, with which the stored keys were rotated: renumbering positions
    /// re-rotates them with it.
    public let ropeBase: Double
    public let ropePairing: RoPEPairing

    public init(batch: Int, kvHeads: Int, headDim: Int, valueDim: Int? = nil, valuesInKeys: Bool = false, ropeColumns: Range<Int>? = nil,
                ropeBase: Double = 10000, ropePairing: RoPEPairing = .halfSplit) {
        precondition(batch >= 1 && kvHeads >= 1 && headDim >= 1, "policy cache for batch \(batch), \(kvHeads) kv heads of \(headDim)")
        precondition(!valuesInKeys || (valueDim ?? headDim) <= headDim, "values inside keys must be narrower than the keys")
        self.batch = batch
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.valueDim = valueDim ?? headDim
        self.valuesInKeys = valuesInKeys
        self.ropeColumns = ropeColumns ?? 0..<headDim
        self.ropeBase = ropeBase
        self.ropePairing = ropePairing
        stores = Array(repeating: Array(repeating: HeadStore(), count: kvHeads), count: batch)
        recentQueries = Array(repeating: [], count: batch)
    }

    /// A policy cache for a layer of the softmax family without a window or sinks (a
    /// policy decides what to keep; a window would decide it as well).
    public convenience init(for attention: any AttentionMechanism, batch: Int) throws {
        let c = attention.config
        switch attention.variant.referenceFamily {
        case .softmax where c.slidingWindow == nil && c.attentionSinks == 0:
            self.init(batch: batch, kvHeads: c.numKVHeads, headDim: c.headDim, ropeBase: c.ropeTheta, ropePairing: c.ropePairing)
        case .latent:
            let row = c.kvLoraRank + c.qkRopeHeadDim
            self.init(batch: batch, kvHeads: 1, headDim: row, valueDim: c.kvLoraRank, valuesInKeys: true,
                      ropeColumns: c.kvLoraRank..<row, ropeBase: c.ropeTheta, ropePairing: c.ropePairing)
        default:
            let valid = Variant.allCases.filter {
                ($0.referenceFamily == .softmax || $0.referenceFamily == .latent) && $0.cacheGrowth == .perToken
            }.map(\.rawValue)
            throw CachePolicyError("cache policies apply to softmax attention over the whole context; \(attention.variant.rawValue) is not (valid: \(valid.joined(separator: ", ")))")
        }
    }

    /// Float32 numbers one full-precision entry holds: its key, and its value unless the
    /// value lies inside the key (MLA).
    public var floatsPerEntry: Int { headDim + (valuesInKeys ? 0 : valueDim) }

    /// Float32 keys and values of the full-precision entries, plus what the quantised ones take.
    public var bytes: Int {
        stores.joined().reduce(0) { total, s in
            total + s.quantisedBytes + (s.count - s.quantisedEntries) * floatsPerEntry * MemoryLayout<Float>.size
        }
    }

    /// Entries held, summed over sequences and kv heads.
    public var entries: Int { stores.joined().reduce(0) { $0 + $1.count } }

    public func advance(by t: Int) { length += t }

    public func attend(sequence bi: Int, queries: [Float], keys newKeys: [Float], values newValues: [Float],
                       newTokens t: Int, heads: Int, output: inout [Float], scale: Float) {
        let d = headDim, dv = valueDim, g = kvHeads, r = heads / g
        precondition(heads % g == 0, "\(heads) query heads over \(g) kv heads")
        if recentQueries[bi].isEmpty { recentQueries[bi] = Array(repeating: [], count: heads) }
        self.scale = scale
        queryHeads = heads
        for i in 0..<t {
            let p = length + i
            for kv in 0..<g {
                let src = ((bi * t + i) * g + kv) * d, vsrc = ((bi * t + i) * g + kv) * dv
                stores[bi][kv].keys.append(contentsOf: newKeys[src..<(src + d)])
                stores[bi][kv].values.append(contentsOf: newValues[vsrc..<(vsrc + dv)])
                stores[bi][kv].positions.append(p)
                stores[bi][kv].received.append(0)
                stores[bi][kv].lastAttention.append(0)
                for j in stores[bi][kv].lastAttention.indices { stores[bi][kv].lastAttention[j] = 0 }
            }
            for h in 0..<heads {
                let qStart = ((bi * t + i) * heads + h) * d
                let q = Array(queries[qStart..<(qStart + d)])
                let kv = h / r
                let probs = Self.probabilities(query: q, position: p, store: stores[bi][kv], headDim: d, scale: scale)
                var o = [Double](repeating: 0, count: dv)
                stores[bi][kv].values.withUnsafeBufferPointer { v in
                    for (j, pj) in probs.enumerated() where pj != 0 {
                        for c in 0..<dv { o[c] += pj * Double(v[j * dv + c]) }
                    }
                }
                let oStart = ((bi * t + i) * heads + h) * dv
                for c in 0..<dv { output[oStart + c] = Float(o[c]) }
                for (j, pj) in probs.enumerated() {
                    stores[bi][kv].received[j] += pj
                    stores[bi][kv].lastAttention[j] += pj
                }
                recentQueries[bi][h].append((p, q))
                if recentQueries[bi][h].count > Self.observationCapacity { recentQueries[bi][h].removeFirst() }
            }
        }
    }

    /// softmax(scale · q · k_j) over the entries at positions ≤ `position` (0 elsewhere).
    static func probabilities(query q: [Float], position: Int, store: HeadStore, headDim d: Int, scale: Float) -> [Double] {
        var scores = [Double](repeating: -.infinity, count: store.count)
        store.keys.withUnsafeBufferPointer { k in
            for j in 0..<store.count where store.positions[j] <= position {
                var dot = 0.0
                for c in 0..<d { dot += Double(q[c]) * Double(k[j * d + c]) }
                scores[j] = Double(scale) * dot
            }
        }
        let m = scores.max() ?? -.infinity
        guard m > -.infinity else { return scores.map { _ in 0 } }
        let e = scores.map { $0 == -.infinity ? 0 : exp($0 - m) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    /// Eviction per sequence and kv head: each store keeps the entries `choose` returns
    /// (ascending indices) for its sequence, kv head and current contents.
    public func keepPerHead(_ choose: (_ sequence: Int, _ kvHead: Int, _ store: HeadStore) -> [Int]) {
        for b in 0..<batch {
            for g in 0..<kvHeads {
                let kept = choose(b, g, stores[b][g])  // before the store is modified: choose may read the cache
                stores[b][g].keep(kept, keyDim: headDim, valueDim: valueDim)
            }
        }
    }

    /// Gives the kept entries the positions of their places in the cache, 0 ..< n, as
    /// StreamingLLM does (§3.2 of the paper: positions within the cache, not in the text):
    /// each stored key's RoPE columns, rotated at its original position p, are rotated on by
    /// j − p (RoPE's rotations compose), and the cache's length becomes n, so the tokens that
    /// follow take positions n, n + 1, … (the mechanism rotates new queries and keys from
    /// `length`).
    /// Every store must hold the same number of entries; the recent queries, whose
    /// positions no longer exist, are forgotten.
    public func renumberPositions() {
        let n = stores[0][0].count
        precondition(stores.joined().allSatisfy { $0.count == n }, "renumbering needs the same number of entries in every store")
        precondition(stores.joined().allSatisfy { $0.quantisedEntries == 0 }, "renumber before quantising")
        let d = headDim, cols = ropeColumns
        for b in 0..<batch {
            for g in 0..<kvHeads {
                var s = stores[b][g]
                for j in 0..<n where s.positions[j] != j {
                    let span = (j * d + cols.lowerBound)..<(j * d + cols.upperBound)
                    let key = Tensor(shape: [1, 1, 1, cols.count], data: Array(s.keys[span]))
                    let moved = key.rope(positionOffset: j - s.positions[j], base: ropeBase, pairing: ropePairing)
                    s.keys.replaceSubrange(span, with: moved.data)
                    s.positions[j] = j
                }
                stores[b][g] = s
            }
            recentQueries[b] = []
        }
        length = n
    }

    /// Random entries for positions 0..<n in every store, statistics cleared (benchmarks).
    public func synthesize(tokens n: Int, rng: inout Xoshiro256StarStar) {
        for b in 0..<batch {
            for g in 0..<kvHeads {
                var s = HeadStore()
                s.keys = (0..<(n * headDim)).map { _ in rng.nextNormal() }
                s.values = valuesInKeys ? (0..<n).flatMap { s.keys[($0 * headDim)..<($0 * headDim + valueDim)] }
                    : (0..<(n * valueDim)).map { _ in rng.nextNormal() }
                s.positions = Array(0..<n)
                s.received = Array(repeating: 0, count: n)
                s.lastAttention = Array(repeating: 0, count: n)
                stores[b][g] = s
            }
        }
        recentQueries = Array(repeating: [], count: batch)
        length = n
    }

    /// Forgets the entries at positions ≥ n (the statistics of the others are not undone).
    public func rewind(to n: Int) {
        precondition(n >= 0 && n <= length, "rewind to \(n) outside 0...\(length)")
        for b in 0..<batch {
            for g in 0..<kvHeads {
                let kept = stores[b][g].positions.indices.filter { stores[b][g].positions[$0] < n }
                if kept.count < stores[b][g].count { stores[b][g].keep(kept, keyDim: headDim, valueDim: valueDim) }
            }
            recentQueries[b] = recentQueries[b].map { $0.filter { $0.position < n } }
        }
        length = n
    }
}
