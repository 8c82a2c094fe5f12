// SnapKV's boundary decision at deployment speed keeps exactly the tokens the SnapKV policy
// of the evaluation keeps (PolicyKVCache, plain loops in Double) on the same prompt, for
// MHA, GQA and MQA groupings and several budgets.

import Foundation
import TensorCore
import Testing
@testable import CachePolicies

@Suite("SnapKV at the boundary")
struct SnapKVBoundaryScorerTests {
    @Test(arguments: [(4, 4), (4, 2), (4, 1)])
    func keepsWhatTheEvaluationsSnapKVKeeps(_ shape: (heads: Int, kvHeads: Int)) {
        let (heads, g) = shape
        let n = 120, d = 8, w = 8
        var rng = Xoshiro256StarStar(seed: UInt64(0x5A9 + heads * 10 + g))
        let queries = (0..<(n * heads * d)).map { _ in 2 * rng.nextNormal() }
        let keys = (0..<(n * g * d)).map { _ in rng.nextNormal() }, values = (0..<(n * g * d)).map { _ in rng.nextNormal() }
        let scale = 1 / Float(d).squareRoot()
        let window = Array(queries[((n - w) * heads * d)...]).map { $0 * scale }
        for ratio in [0.25, 0.5, 0.875] {
            var settings = CachePolicySettings(ratio: ratio)
            settings.observationWindow = w
            let cache = PolicyKVCache(batch: 1, kvHeads: g, headDim: d)
            var out = [Float](repeating: 0, count: n * heads * d)
            cache.attend(sequence: 0, queries: queries, keys: keys, values: values, newTokens: n, heads: heads, output: &out, scale: scale)
            cache.advance(by: n)
            CachePolicy.snapkv.descriptor.compress(cache, settings: settings)
            let fast = SnapKVBoundaryScorer.kept(scaledQueries: window, window: w, heads: heads, keys: keys, tokens: n, kvHeads: g,
                                                 headDim: d, kernel: settings.poolingKernel, budget: settings.budget(of: n))
            for kv in 0..<g {
                #expect(fast[kv] == cache.stores[0][kv].positions, "H \(heads) G \(g) ratio \(ratio) kv head \(kv)")
            }
        }
    }
}
