// KV-cache policies: the policy cache reproduces the model's forward when it keeps
// everything; after eviction, attention runs over exactly the kept entries; each
// method keeps what its paper's rule selects (checked against plain recomputations);
// quantisation stays within half a step and counts its bytes; bad settings are errors
// that name the value and the valid ones.

import Attention
import Foundation
import Models
import TensorCore
import Testing
import TestSupport
@testable import CachePolicies

@Suite("KV-cache policies")
struct CachePolicyTests {
    static let vocab = 32

    func model(_ variant: Variant = .gqa, seed: UInt64 = 1) throws -> TransformerLM {
        var rng = Xoshiro256StarStar(seed: seed)
        let attention = AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4)
        return try TransformerLM(config: ModelConfig(vocabSize: Self.vocab, layers: 2, attention: attention, variant: variant), rng: &rng)
    }

    /// One sequence, one kv head, `tokens` random entries.
    func synthetic(headDim d: Int, tokens n: Int, seed: UInt64) -> PolicyKVCache {
        var rng = Xoshiro256StarStar(seed: seed)
        let cache = PolicyKVCache(batch: 1, kvHeads: 1, headDim: d)
        cache.synthesize(tokens: n, rng: &rng)
        return cache
    }

    func ids(batch: Int, length: Int, seed: UInt64 = 2) -> [Int] {
        var rng = Xoshiro256StarStar(seed: seed)
        return (0..<(batch * length)).map { _ in rng.nextInt(below: Self.vocab) }
    }

    /// Logits of the positions after `context`, run through policy caches that `policy`
    /// compressed at the boundary. [B, T − context, V]
    func logitsAfter(_ m: TransformerLM, ids: [Int], batch: Int, length: Int, context: Int,
                     policy: CachePolicy, settings: CachePolicySettings) throws -> (logits: [Float], caches: [PolicyKVCache]) {
        let caches = try m.blocks.map { try PolicyKVCache(for: $0.attention, batch: batch) }
        let rows = (0..<batch).map { Array(ids[($0 * length)..<(($0 + 1) * length)]) }
        _ = m.step(ids: rows.flatMap { $0[..<context] }, batch: batch, length: context, caches: caches)
        for (l, c) in caches.enumerated() { policy.descriptor.compress(c, settings: settings, layer: l, of: caches.count) }
        let out = m.step(ids: rows.flatMap { $0[context...] }, batch: batch, length: length - context, caches: caches)
        return (out.data, caches)
    }

    /// The full forward's logits at positions context ..< T. [B, T − context, V]
    func forwardLogits(_ m: TransformerLM, ids: [Int], batch: Int, length: Int, context: Int) -> [Float] {
        let all = m.logits(ids: ids, batch: batch, length: length).data
        let v = Self.vocab
        return (0..<batch).flatMap { b in all[((b * length + context) * v)..<((b + 1) * length * v)] }
    }

    /// MLA through a policy cache runs its absorbed form over the latent rows: the same
    /// logits as its training forward.
    @Test(arguments: [Variant.mha, .gqa, .mqa, .mla])
    func keepingEverythingEqualsTheForward(variant: Variant) throws {
        let m = try model(variant), x = ids(batch: 3, length: 12)
        let expected = forwardLogits(m, ids: x, batch: 3, length: 12, context: 7)
        for policy in CachePolicy.allCases where policy.kind != .quantisation {
            let got = try logitsAfter(m, ids: x, batch: 3, length: 12, context: 7, policy: policy, settings: CachePolicySettings())
            let c = compareClose("\(variant) \(policy) ratio 0", expected, got.logits, atol: 2e-5, rtol: 1e-4)
            #expect(c.ok, "\(c)")
            #expect(got.caches.allSatisfy { $0.bytes == 3 * $0.kvHeads * 12 * $0.floatsPerEntry * 4 }, "3 sequences, 12 tokens, Float32")
        }
        let entry = try #require(try logitsAfter(m, ids: x, batch: 1, length: 12, context: 7, policy: .full, settings: CachePolicySettings()).caches.first)
        let a = m.blocks[0].attention.config
        #expect(entry.floatsPerEntry == (variant == .mla ? a.kvLoraRank + a.qkRopeHeadDim : 2 * a.headDim),
                "MLA holds its latent row once (value inside the key); the others a key and a value")
    }

    /// MLA's latent row quantised once at 8 bits serves as key and value; KIVI, which treats
    /// keys and values differently, is refused for it with a reason.
    @Test func mlaLatentCacheQuantisesItsRowOnceAndRefusesKIVI() throws {
        let m = try model(.mla), x = ids(batch: 2, length: 12)
        let r = try logitsAfter(m, ids: x, batch: 2, length: 12, context: 8, policy: .int8, settings: CachePolicySettings(bits: 8))
        let c = m.blocks[0].attention.config, row = c.kvLoraRank + c.qkRopeHeadDim
        for cache in r.caches {
            let s = cache.stores[0][0]
            for j in 0..<s.count { #expect(Array(s.values[(j * c.kvLoraRank)..<((j + 1) * c.kvLoraRank)]) == Array(s.keys[(j * row)..<(j * row + c.kvLoraRank)])) }
            #expect(cache.bytes == 2 * (8 * (row + 8) + 4 * row * 4), "8 context rows at a byte per number plus a scale and zero; 4 question rows in Float32")
        }
        let forward = forwardLogits(m, ids: x, batch: 2, length: 12, context: 8)
        #expect(compareClose("mla int8", forward, r.logits, atol: 0.05, rtol: 0.05).ok, "8 bits barely move the logits")
        #expect(CachePolicy.kivi.refusal(for: .mla)?.contains("MLA's cached row is both") == true)
        #expect(CachePolicy.allCases.filter { $0.refusal(for: .mla) != nil } == [.kivi])
        #expect(CachePolicy.allCases.allSatisfy { $0.refusal(for: .mha) == nil })
    }

    /// MLA's RoPE lives in the last d_R columns of its row: renumbering rotates those only.
    @Test func renumberingRotatesOnlyTheRoPEColumns() {
        let d = 12, rope = 8..<12, n = 10
        var rng = Xoshiro256StarStar(seed: 11)
        let cache = PolicyKVCache(batch: 1, kvHeads: 1, headDim: d, valueDim: 8, valuesInKeys: true, ropeColumns: rope)
        cache.synthesize(tokens: n, rng: &rng)
        let before = cache.stores[0][0]
        StreamingLLMRenumbered.compress(cache, settings: CachePolicySettings(ratio: 0.5))
        let after = cache.stores[0][0], kept = StreamingLLM.kept(count: n, budget: 5, sinks: 4)
        for (i, j) in kept.enumerated() {
            #expect(Array(after.keys[(i * d)..<(i * d + 8)]) == Array(before.keys[(j * d)..<(j * d + 8)]), "latent part untouched")
            let moved = Tensor(shape: [1, 1, 1, 4], data: Array(before.keys[(j * d + 8)..<(j * d + 12)])).rope(positionOffset: i - j).data
            #expect(Array(after.keys[(i * d + 8)..<(i * d + 12)]) == moved)
        }
    }

    /// After eviction, the next query attends over exactly the kept entries and itself:
    /// recomputed here with plain loops from the kept keys and values.
    @Test(arguments: [CachePolicy.streaming, .streamingRenumbered, .recent, .h2o, .tova, .snapkv, .pyramidkv])
    func afterEvictionAttentionUsesExactlyTheKeptEntries(policy: CachePolicy) throws {
        let d = 4, g = 2, h = 4
        var rng = Xoshiro256StarStar(seed: 3)
        let cache = PolicyKVCache(batch: 1, kvHeads: g, headDim: d)
        let scale: Float = 0.5
        func step(_ n: Int) -> (q: [Float], k: [Float], v: [Float], out: [Float]) {
            let q = (0..<(n * h * d)).map { _ in rng.nextNormal() }, k = (0..<(n * g * d)).map { _ in rng.nextNormal() }
            let v = (0..<(n * g * d)).map { _ in rng.nextNormal() }
            var out = [Float](repeating: 0, count: n * h * d)
            cache.attend(sequence: 0, queries: q, keys: k, values: v, newTokens: n, heads: h, output: &out, scale: scale)
            cache.advance(by: n)
            return (q, k, v, out)
        }
        _ = step(20)
        var settings = CachePolicySettings(ratio: 0.5)
        settings.observationWindow = 4
        policy.descriptor.compress(cache, settings: settings)
        #expect(cache.stores.joined().allSatisfy { $0.count == 10 })
        let kept = cache.stores[0]
        let next = step(1)
        for head in 0..<h {
            let kv = head / (h / g), s = kept[kv]
            let keys = (0..<s.count).map { Array(s.keys[($0 * d)..<(($0 + 1) * d)]) } + [Array(next.k[(kv * d)..<((kv + 1) * d)])]
            let values = (0..<s.count).map { Array(s.values[($0 * d)..<(($0 + 1) * d)]) } + [Array(next.v[(kv * d)..<((kv + 1) * d)])]
            let q = Array(next.q[(head * d)..<((head + 1) * d)])
            let scores = keys.map { k in Double(scale) * zip(q, k).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
            let m = scores.max()!, e = scores.map { exp($0 - m) }, total = e.reduce(0, +)
            let expected = (0..<d).map { c in Float(zip(e, values).reduce(0.0) { $0 + $1.0 * Double($1.1[c]) } / total) }
            let c = compareClose("\(policy) head \(head)", expected, Array(next.out[(head * d)..<((head + 1) * d)]), atol: 1e-5)
            #expect(c.ok, "\(c)")
        }
    }

    @Test func streamingKeepsTheSinksAndTheMostRecent() {
        #expect(StreamingLLM.kept(count: 10, budget: 6, sinks: 4) == [0, 1, 2, 3, 8, 9])
        #expect(StreamingLLM.kept(count: 10, budget: 3, sinks: 4) == [0, 1, 2])
        #expect(StreamingLLM.kept(count: 10, budget: 10, sinks: 4) == Array(0..<10))
        #expect(StreamingLLM.kept(count: 10, budget: 4, sinks: 0) == [6, 7, 8, 9], "the recent policy: no sinks")
    }

    @Test func heavyHittersTakeHalfTheBudgetBesideTheRecentHalf() {
        let scores: [Double] = [5, 0, 3, 9, 1, 4, 2, 8, 0, 0]
        // Budget 6: the 3 most recent (7, 8, 9), then the 3 best of 0...6 (3, 0, 5).
        #expect(HeavyHitterOracle.kept(scores: scores, budget: 6) == [0, 3, 5, 7, 8, 9])
        // Budget 5: 2 recent (8, 9), 3 heavy of 0...7 (3, 7, 0).
        #expect(HeavyHitterOracle.kept(scores: scores, budget: 5) == [0, 3, 7, 8, 9])
    }

    /// The scores the policies select by, recomputed from the context's queries and keys.
    @Test func scoresAreTheAttentionTheirPapersDefine() throws {
        let d = 4, g = 2, h = 4, n = 16, scale: Float = 0.5
        var rng = Xoshiro256StarStar(seed: 4)
        let q = (0..<(n * h * d)).map { _ in rng.nextNormal() }, k = (0..<(n * g * d)).map { _ in rng.nextNormal() }
        let v = (0..<(n * g * d)).map { _ in rng.nextNormal() }
        let cache = PolicyKVCache(batch: 1, kvHeads: g, headDim: d)
        var out = [Float](repeating: 0, count: n * h * d)
        cache.attend(sequence: 0, queries: q, keys: k, values: v, newTokens: n, heads: h, output: &out, scale: scale)
        cache.advance(by: n)
        // p[head][query][key], causal, in Double.
        let p = (0..<h).map { head in (0..<n).map { i -> [Double] in
            let kv = head / (h / g)
            let s = (0...i).map { j in Double(scale) * (0..<d).reduce(0.0) { $0 + Double(q[(i * h + head) * d + $1]) * Double(k[(j * g + kv) * d + $1]) } }
            let m = s.max()!, e = s.map { exp($0 - m) }, total = e.reduce(0, +)
            return (0..<n).map { $0 <= i ? e[$0] / total : 0 }
        } }
        for kv in 0..<g {
            let heads = (kv * 2)..<(kv * 2 + 2)
            var received = [Double](repeating: 0, count: n), last = received
            for j in 0..<n {
                for head in heads {
                    for i in 0..<n { received[j] += p[head][i][j] }
                    last[j] += p[head][n - 1][j]
                }
            }
            #expect(zip(received, cache.stores[0][kv].received).allSatisfy { abs($0 - $1) < 1e-9 }, "H2O's accumulated attention")
            #expect(zip(last, cache.stores[0][kv].lastAttention).allSatisfy { abs($0 - $1) < 1e-9 }, "TOVA's last-query attention")
            // SnapKV, window 4, kernel 5: the window's queries' attention over the prefix, pooled.
            let w = 4
            var raw = [Double](repeating: 0, count: n)
            for j in 0..<(n - w) {
                for head in heads { for i in (n - w)..<n { raw[j] += p[head][i][j] } }
            }
            var pooled = [Double](repeating: .infinity, count: n)
            for j in 0..<(n - w) {
                var sum = 0.0
                for i in (j - 2)...(j + 2) where i >= 0 && i < n { sum += raw[i] }
                pooled[j] = sum / 5
            }
            let got = SnapKV.scores(cache, sequence: 0, kvHead: kv, window: w, kernel: 5)
            #expect(zip(pooled, got).allSatisfy { $0 == $1 || abs($0 - $1) < 1e-9 }, "SnapKV kv head \(kv): \(got) vs \(pooled)")
        }
    }

    /// A short context is scored, not all window: at 8 tokens the window is 2 (a quarter),
    /// kept, and the other 2 kept entries are the best pooled scores of the 6 before it.
    @Test func snapKVScoresMostOfAShortContext() {
        var rng = Xoshiro256StarStar(seed: 7)
        let d = 4, h = 2, n = 8
        let cache = PolicyKVCache(batch: 1, kvHeads: 1, headDim: d)
        var out = [Float](repeating: 0, count: n * h * d)
        cache.attend(sequence: 0, queries: (0..<(n * h * d)).map { _ in rng.nextNormal() }, keys: (0..<(n * d)).map { _ in rng.nextNormal() },
                     values: (0..<(n * d)).map { _ in rng.nextNormal() }, newTokens: n, heads: h, output: &out, scale: 0.5)
        cache.advance(by: n)
        let settings = CachePolicySettings(ratio: 0.5)
        #expect(SnapKV.observationWindow(settings, context: n) == 2)
        let scores = SnapKV.scores(cache, sequence: 0, kvHead: 0, window: 2, kernel: 5)
        let best = (0..<6).sorted { scores[$0] > scores[$1] }.prefix(2).sorted()
        SnapKV.compress(cache, settings: settings)
        #expect(cache.stores[0][0].positions == Array(best) + [6, 7])
    }

    @Test func pyramidBudgetsFallLinearlyWithDepthAndKeepTheAverage() {
        let share = PyramidKV.layerShare
        // Two layers, average 2 of 6: the last layer 2/20, the first 4 − 0.1.
        #expect(share(0, 2, 2, 6, 20) == 4 && share(1, 2, 2, 6, 20) == 0)
        // Four layers, average 10 of 100: 19.5, 13.2, 6.8, 0.5, on a line, the sum 4 × 10 within rounding.
        let four = (0..<4).map { share($0, 4, 10, 100, 20) }
        #expect(four == [20, 13, 7, 1], "\(four)")
        // The first layer cannot keep more than it has: it keeps all 6, the last 2·5 − 6.
        #expect(share(0, 2, 5, 6, 20) == 6 && share(1, 2, 5, 6, 20) == 4)
        // β = 1 and one layer: the uniform share.
        #expect((0..<3).map { share($0, 3, 5, 50, 1) } == [5, 5, 5])
        #expect(share(0, 1, 5, 50, 20) == 5)
    }

    /// Each layer keeps its window and the best of SnapKV's pooled scores for its share;
    /// the layers together hold about what SnapKV would at the same ratio.
    @Test func pyramidKVSelectsBySnapKVScoresWithTheLayersBudget() throws {
        let m = try model(.gqa), x = ids(batch: 2, length: 40)
        var settings = CachePolicySettings(ratio: 0.5)
        settings.observationWindow = 4
        let caches = try m.blocks.map { try PolicyKVCache(for: $0.attention, batch: 2) }
        let rows = (0..<2).map { Array(x[($0 * 40)..<(($0 + 1) * 40)]) }
        _ = m.step(ids: rows.flatMap { $0[..<32] }, batch: 2, length: 32, caches: caches)
        for (l, cache) in caches.enumerated() {
            let expectedCount = 4 + PyramidKV.layerShare(layer: l, of: 2, share: 12, selectable: 28, beta: 20)
            let expected = (0..<2).map { b in (0..<cache.kvHeads).map { g -> [Int] in
                let scores = SnapKV.scores(cache, sequence: b, kvHead: g, window: 4, kernel: 5)
                return Array((0..<32).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(expectedCount)).sorted()
            } }
            PyramidKV.compress(cache, settings: settings, layer: l, of: 2)
            #expect(cache.stores.map { $0.map(\.positions) } == expected, "layer \(l)")
        }
        #expect(caches.map { $0.stores[0][0].count } == [27, 5], "shares 23.4 and 0.6 around SnapKV's 12, plus the window of 4")
    }

    /// StreamingLLM's own positions: after eviction each kept key is the key its raw
    /// projection would have been at its place in the cache, and the cache continues from
    /// there (the next token's position is the number of entries kept).
    @Test func renumberingGivesKeptKeysTheirPlacesInTheCache() throws {
        let d = 8, n = 12
        var rng = Xoshiro256StarStar(seed: 9)
        let raw = (0..<(n * d)).map { _ in rng.nextNormal() }
        func rotated(_ j: Int, at position: Int) -> [Float] {
            Tensor(shape: [1, 1, 1, d], data: Array(raw[(j * d)..<((j + 1) * d)])).rope(positionOffset: position, base: 10000, pairing: .interleaved).data
        }
        let cache = PolicyKVCache(batch: 1, kvHeads: 1, headDim: d, ropeBase: 10000, ropePairing: .interleaved)
        var out = [Float](repeating: 0, count: n * d)
        cache.attend(sequence: 0, queries: (0..<(n * d)).map { _ in rng.nextNormal() }, keys: (0..<n).flatMap { rotated($0, at: $0) },
                     values: (0..<(n * d)).map { _ in rng.nextNormal() }, newTokens: n, heads: 1, output: &out, scale: 0.5)
        cache.advance(by: n)
        let settings = CachePolicySettings(ratio: 0.5)
        StreamingLLMRenumbered.compress(cache, settings: settings)
        let kept = StreamingLLM.kept(count: n, budget: 6, sinks: 4)
        #expect(kept == [0, 1, 2, 3, 10, 11])
        let s = cache.stores[0][0]
        #expect(s.positions == Array(0..<6) && cache.length == 6)
        for (i, j) in kept.enumerated() {
            let c = compareClose("key \(j) at \(i)", rotated(j, at: i), Array(s.keys[(i * d)..<((i + 1) * d)]), atol: 1e-5)
            #expect(c.ok, "\(c)")
        }
    }

    @Test func tovaKeepsTheSamePositionsInEveryKVHead() throws {
        let m = try model(.gqa), x = ids(batch: 2, length: 16)
        let r = try logitsAfter(m, ids: x, batch: 2, length: 16, context: 12, policy: .tova, settings: CachePolicySettings(ratio: 0.5))
        for cache in r.caches {
            for b in 0..<2 {
                #expect(cache.stores[b].allSatisfy { $0.positions == cache.stores[b][0].positions })
                #expect(cache.stores[b][0].positions.filter { $0 < 12 }.count == 6)
            }
        }
    }

    @Test func int8StaysWithinHalfAStepAndCountsItsBytes() {
        let d = 8, n = 5
        let cache = synthetic(headDim: d, tokens: n, seed: 5)
        let before = cache.stores[0][0]
        Int8PerToken.compress(cache, settings: CachePolicySettings(bits: 8))
        let after = cache.stores[0][0]
        for (a, b) in [(before.keys, after.keys), (before.values, after.values)] {
            for j in 0..<n {
                let row = a[(j * d)..<((j + 1) * d)], step = (row.max()! - row.min()!) / 255
                for c in 0..<d { #expect(abs(a[j * d + c] - b[j * d + c]) <= step / 2 * 1.0001) }
            }
        }
        #expect(cache.bytes == 2 * n * (d + 8), "codes of 1 byte and a Float32 scale and zero per vector, keys and values")
    }

    @Test func kiviQuantisesWholeKeyGroupsPerChannelAndKeepsTheRecentTokens() {
        let d = 4, n = 30
        let cache = synthetic(headDim: d, tokens: n, seed: 6)
        let before = cache.stores[0][0]
        var s = CachePolicySettings(bits: 2)
        s.groupSize = 8; s.residual = 8
        KIVI.compress(cache, settings: s)
        let after = cache.stores[0][0]
        #expect(after.quantisedEntries == 16, "(30 − 8) / 8 whole groups of 8")
        #expect(after.keys[(16 * d)...] == before.keys[(16 * d)...] && after.values[(16 * d)...] == before.values[(16 * d)...])
        // Each channel of a key group, and each value vector, takes at most 4 levels.
        for start in [0, 8] {
            for c in 0..<d { #expect(Set((start..<(start + 8)).map { after.keys[$0 * d + c] }).count <= 4) }
        }
        for j in 0..<16 { #expect(Set(after.values[(j * d)..<((j + 1) * d)]).count <= 4) }
        let quantised = 2 * (16 * d * 2 / 8) + 2 * d * 8 + 16 * 8  // codes, key scales per channel per group, value scales per token
        #expect(cache.bytes == quantised + 14 * 2 * d * 4)
    }

    @Test func badSettingsNameTheValueAndTheValidOnes() throws {
        let unknown = #expect(throws: CachePolicyError.self) { try CachePolicy.parse("lru") }
        #expect(unknown?.description == "unknown cache policy 'lru'; valid: " + CachePolicy.allCases.map(\.rawValue).joined(separator: ", "))
        for (policy, settings, mention) in [(CachePolicy.h2o, CachePolicySettings(ratio: 1), "ratio = 1.0"),
                                            (.kivi, CachePolicySettings(bits: 3), "valid: 2, 4"),
                                            (.full, CachePolicySettings(ratio: 0.5), "keeps the whole cache"),
                                            (.int8, CachePolicySettings(ratio: 0.5), "quantises")] {
            do { try policy.validate(settings); Issue.record("\(policy) accepted \(settings)") }
            catch { #expect("\(error)".contains(mention), "\(error)") }
        }
        var rng = Xoshiro256StarStar(seed: 0)
        for variant in [Variant.linear, .swa] {
            let layer = try variant.make(config: AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4, slidingWindow: 4), rng: &rng)
            do { _ = try PolicyKVCache(for: layer, batch: 1); Issue.record("\(variant) accepted") }
            catch { #expect("\(error)".contains("valid: mha, gqa, mqa, mla"), "\(error)") }
        }
    }
}
