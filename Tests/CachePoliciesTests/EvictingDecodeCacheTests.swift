// Generation at a fixed budget with per-token eviction (StreamingLLM, H2O, TOVA): each
// step's output and probabilities against attention in Double over the entries held, and
// the entries kept after every step against a plain simulation of the rule with Double
// scores, across several of the kernel's tiles and for MHA, GQA and MQA groupings.

import Foundation
import TensorCore
import Testing
import TestSupport
@testable import CachePolicies

/// The rules in plain code: positions held per kv head, H2O's sums by position, Double softmax.
private struct PlainEviction {
    let rule: EvictingDecodeCache.Rule, budget: Int, heads: Int, kvHeads: Int, headDim: Int, sinks: Int
    var held: [[Int]]
    var sums: [[Int: Double]]
    var keys: [[Float]] = [], values: [[Float]] = []   // by position: [G, D]

    init(rule: EvictingDecodeCache.Rule, budget: Int, heads: Int, kvHeads: Int, headDim: Int, sinks: Int) {
        self.rule = rule; self.budget = budget; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.sinks = rule == .streaming ? sinks : 0
        held = Array(repeating: [], count: kvHeads)
        sums = Array(repeating: [:], count: kvHeads)
    }

    /// Output [H, D] and each head's probabilities by position.
    mutating func step(q: [Float], key: [Float], value: [Float], scale: Float) -> (out: [Double], probs: [[Int: Double]]) {
        let p = keys.count, g = kvHeads, d = headDim, r = heads / g
        keys.append(key); values.append(value)
        for kv in 0..<g { held[kv].append(p) }
        var out = [Double](repeating: 0, count: heads * d), probs: [[Int: Double]] = []
        for h in 0..<heads {
            let kv = h / r
            let s = held[kv].map { j in Double(scale) * (0..<d).reduce(0.0) { $0 + Double(q[h * d + $1]) * Double(keys[j][kv * d + $1]) } }
            let mx = s.max()!, e = s.map { exp($0 - mx) }, total = e.reduce(0, +)
            var ph: [Int: Double] = [:]
            for (i, j) in held[kv].enumerated() {
                let pj = e[i] / total
                ph[j] = pj
                for c in 0..<d { out[h * d + c] += pj * Double(values[j][kv * d + c]) }
                if rule == .h2o { sums[kv][j, default: 0] += pj }
            }
            probs.append(ph)
        }
        guard held[0].count == budget + 1 else { return (out, probs) }
        switch rule {
        case .streaming:
            let oldest = held[0].filter { $0 >= sinks }.min()!
            for kv in 0..<g { held[kv].removeAll { $0 == oldest } }
        case .h2o:
            for kv in 0..<g {
                let candidates = held[kv].filter { $0 <= p - budget / 2 }
                let drop = candidates.min { (sums[kv][$0]!, $0) < (sums[kv][$1]!, $1) }!
                held[kv].removeAll { $0 == drop }
            }
        case .tova:
            func score(_ j: Int) -> Double { probs.reduce(0) { $0 + $1[j]! } }
            let drop = held[0].min { (score($0), $0) < (score($1), $1) }!
            for kv in 0..<g { held[kv].removeAll { $0 == drop } }
        }
        return (out, probs)
    }
}

@Suite("Eviction during decode")
struct EvictingDecodeCacheTests {
    @Test(arguments: EvictingDecodeCache.Rule.allCases)
    func eachStepAttendsOverWhatTheRuleKeepsAndKeepsWhatThePlainRuleKeeps(_ rule: EvictingDecodeCache.Rule) {
        // Budget 130: 131 rows attended once full, three of the kernel's 64-row tiles.
        for (heads, g) in [(4, 4), (4, 2), (4, 1)] {
            let d = 16, budget = 130, steps = 260
            var rng = Xoshiro256StarStar(seed: UInt64(0xE71C + heads * 10 + g))
            let cache = EvictingDecodeCache(rule: rule, budget: budget, heads: heads, kvHeads: g, headDim: d)
            var plain = PlainEviction(rule: rule, budget: budget, heads: heads, kvHeads: g, headDim: d, sinks: cache.sinks)
            let scale = 1 / Float(d).squareRoot()
            var worstOut = 0.0, worstProb = 0.0, keptDiffers: [String] = []
            for t in 0..<steps {
                // Keys spread enough that attention is far from uniform, as in trained models.
                let q = (0..<(heads * d)).map { _ in 2 * rng.nextNormal() }
                let k = (0..<(g * d)).map { _ in rng.nextNormal() }, v = (0..<(g * d)).map { _ in rng.nextNormal() }
                var out = [Float](repeating: .nan, count: heads * d)
                q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
                    out.withUnsafeMutableBufferPointer { cache.step(query: pq.baseAddress!, key: pk.baseAddress!, value: pv.baseAddress!,
                                                                   scale: scale, out: $0.baseAddress!) }
                } } }
                let expected = plain.step(q: q, key: k, value: v, scale: scale)
                worstOut = max(worstOut, zip(out, expected.out).map { abs(Double($0) - $1) }.max()!)
                if rule != .streaming {
                    for h in 0..<heads {
                        for (j, position) in cache.attendedPositions(kvHead: h / (heads / g)).enumerated() {
                            let want = expected.probs[h][position] ?? .nan
                            worstProb = max(worstProb, abs(Double(cache.probabilities[h * cache.rows + j]) - want))
                        }
                    }
                }
                for kv in 0..<g where cache.heldPositions(kvHead: kv) != plain.held[kv].sorted() {
                    keptDiffers.append("step \(t) kv head \(kv)")
                }
            }
            #expect(worstOut < 2e-5, "\(rule) H \(heads) G \(g): output off by \(worstOut)")
            #expect(worstProb < 1e-6, "\(rule) H \(heads) G \(g): probabilities off by \(worstProb)")
            #expect(keptDiffers.isEmpty, "\(rule) H \(heads) G \(g): kept entries differ at \(keptDiffers.prefix(5))")
            #expect(cache.heldPositions(kvHead: 0).count == budget)
        }
    }

    @Test func streamingKeepsItsSinksAndTheMostRecentTokens() {
        let cache = EvictingDecodeCache(rule: .streaming, budget: 12, heads: 2, kvHeads: 1, headDim: 4, sinks: 4)
        var out = [Float](repeating: 0, count: 8)
        let q = [Float](repeating: 0.1, count: 8), kv = [Float](repeating: 1, count: 4)
        for _ in 0..<40 { cache.step(query: q, key: kv, value: kv, scale: 0.5, out: &out) }
        #expect(cache.heldPositions(kvHead: 0) == Array(0..<4) + Array(32..<40))
    }

    @Test func aFilledCacheEvictsFromItsPrompt() {
        let cache = EvictingDecodeCache(rule: .h2o, budget: 8, heads: 2, kvHeads: 2, headDim: 4)
        var rng = Xoshiro256StarStar(seed: 7)
        let prompt = (0..<(8 * 2 * 4)).map { _ in rng.nextNormal() }
        cache.fill(keys: prompt, values: prompt, count: 8)
        var out = [Float](repeating: 0, count: 8)
        let q = (0..<8).map { _ in rng.nextNormal() }, k = (0..<8).map { _ in rng.nextNormal() }
        cache.step(query: q, key: k, value: k, scale: 0.5, out: &out)
        // One of the prompt's first five tokens (outside the recent half) is gone in each kv head.
        for g in 0..<2 {
            let held = cache.heldPositions(kvHead: g)
            #expect(held.count == 8 && held.contains(8) && Array(5...8).allSatisfy(held.contains))
        }
    }
}
