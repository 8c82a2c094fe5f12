// The int8 decode kernel: it attends over exactly what the codes stand for (checked
// against plain attention in Double over the restored keys and values, across chunk
// boundaries and for MHA, GQA and MQA groupings); its codes restore to the values the
// int8 policy's evaluation uses; its bytes are the policy's.

import Foundation
import TensorCore
import Testing
import TestSupport
@testable import CachePolicies

/// Runs one decode step through `attend` (query, out, workspace) with a guard band after the
/// workspace it asked for, and checks the output against attention in Double over the
/// restored keys and values [n, G, D], and that the guard band is untouched.
func expectDecodeMatchesRestored(_ label: String, heads: Int, kvHeads g: Int, headDim d: Int, tokens n: Int, query q: [Float],
                                 workspaceCount: Int, restored: (keys: [Float], values: [Float]),
                                 attend: (UnsafePointer<Float>, Float, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
    var out = [Float](repeating: .nan, count: heads * d)
    var workspace = [Float](repeating: .nan, count: workspaceCount) + [Float](repeating: 12345, count: 256)
    let scale = 1 / Float(d).squareRoot()
    q.withUnsafeBufferPointer { pq in
        out.withUnsafeMutableBufferPointer { po in
            workspace.withUnsafeMutableBufferPointer { attend(pq.baseAddress!, scale, po.baseAddress!, $0.baseAddress!) }
        }
    }
    #expect(workspace[workspaceCount...].allSatisfy { $0 == 12345 }, "\(label): the kernel wrote past its workspace")
    let (k, v) = restored
    var expected = [Float](repeating: 0, count: heads * d)
    for h in 0..<heads {
        let kv = h / (heads / g)
        let s = (0..<n).map { j in Double(scale) * (0..<d).reduce(0.0) { $0 + Double(q[h * d + $1]) * Double(k[(j * g + kv) * d + $1]) } }
        let mx = s.max()!, e = s.map { exp($0 - mx) }, total = e.reduce(0, +)
        for c in 0..<d { expected[h * d + c] = Float((0..<n).reduce(0.0) { $0 + e[$1] * Double(v[(($1 * g + kv) * d) + c]) } / total) }
    }
    let c = compareClose(label, expected, out, atol: 2e-5, rtol: 1e-4)
    #expect(c.ok, "\(c)")
}

@Suite("Int8 decode cache")
struct Int8DecodeCacheTests {
    @Test(arguments: [(heads: 4, kvHeads: 4, dim: 64), (heads: 8, kvHeads: 2, dim: 24), (heads: 8, kvHeads: 1, dim: 16)])
    func decodeEqualsAttentionOverTheRestoredCache(heads: Int, kvHeads g: Int, dim d: Int) {
        var rng = Xoshiro256StarStar(seed: UInt64(heads * 100 + g * 10 + d))
        for n in [1, 63, 64, 65, 300] {
            let keys = (0..<(n * g * d)).map { _ in rng.nextNormal() }, values = (0..<(n * g * d)).map { _ in rng.nextNormal() * 2 + 0.5 }
            let q = (0..<(heads * d)).map { _ in rng.nextNormal() }
            let cache = Int8DecodeCache(keys: keys, values: values, tokens: n, kvHeads: g, headDim: d)
            expectDecodeMatchesRestored("int8 decode H \(heads) G \(g) D \(d) n \(n)", heads: heads, kvHeads: g, headDim: d, tokens: n,
                                        query: q, workspaceCount: cache.workspaceCount(heads: heads), restored: cache.restored()) {
                cache.attend(query: $0, heads: heads, scale: $1, out: $2, workspace: $3)
            }
        }
    }

    @Test func codesRestoreToTheInt8PolicysValuesAndCountItsBytes() {
        let d = 8, n = 5
        var rng = Xoshiro256StarStar(seed: 5)
        let cache = PolicyKVCache(batch: 1, kvHeads: 1, headDim: d)
        cache.synthesize(tokens: n, rng: &rng)
        let original = cache.stores[0][0]
        let int8 = Int8DecodeCache(keys: original.keys, values: original.values, tokens: n, kvHeads: 1, headDim: d)
        Int8PerToken.compress(cache, settings: CachePolicySettings(bits: 8))
        let restored = int8.restored()
        #expect(restored.keys == cache.stores[0][0].keys && restored.values == cache.stores[0][0].values)
        #expect(int8.bytes == cache.bytes)
        for (a, b) in zip(original.keys, restored.keys) { #expect(abs(a - b) <= (original.keys.max()! - original.keys.min()!) / 255) }
    }

    @Test func aConstantVectorIsExact() {
        let cache = Int8DecodeCache(keys: [Float](repeating: 0.3, count: 8), values: (0..<8).map(Float.init), tokens: 1, kvHeads: 1, headDim: 8)
        #expect(cache.restored().keys == [Float](repeating: 0.3, count: 8))
        #expect(cache.restored().values.first == 0 && cache.restored().values.last == 7, "the ends of a range are exact")
    }
}

/// KIVI's packed cache: it restores to exactly what the KIVI policy's evaluation attends
/// over, counts the policy's bytes, and its decode equals attention over the restored
/// cache, across the residual boundary and chunk boundaries.
@Suite("KIVI decode cache")
struct KIVIDecodeCacheTests {
    @Test(arguments: [2, 4])
    func restoresToThePolicysCacheAndCountsItsBytes(bits: Int) {
        let d = 32, n = 45, gs = 8, residual = 4
        var rng = Xoshiro256StarStar(seed: UInt64(bits))
        let policy = PolicyKVCache(batch: 1, kvHeads: 1, headDim: d)
        policy.synthesize(tokens: n, rng: &rng)
        let original = policy.stores[0][0]
        let packed = KIVIDecodeCache(keys: original.keys, values: original.values, tokens: n, kvHeads: 1, headDim: d,
                                     bits: bits, groupSize: gs, residual: residual)
        var s = CachePolicySettings(bits: bits)
        s.groupSize = gs; s.residual = residual
        KIVI.compress(policy, settings: s)
        #expect(packed.quantised == 40, "(45 − 4) / 8 whole groups")
        let restored = packed.restored()
        #expect(restored.keys == policy.stores[0][0].keys && restored.values == policy.stores[0][0].values)
        #expect(packed.bytes == policy.bytes)
    }

    @Test(arguments: [(bits: 4, heads: 4, kvHeads: 4), (bits: 2, heads: 8, kvHeads: 2), (bits: 4, heads: 8, kvHeads: 1)])
    func decodeEqualsAttentionOverTheRestoredCache(bits: Int, heads: Int, kvHeads g: Int) {
        let d = 64
        var rng = Xoshiro256StarStar(seed: UInt64(bits * 10 + g))
        for n in [3, 40, 70, 200] {
            let keys = (0..<(n * g * d)).map { _ in rng.nextNormal() }, values = (0..<(n * g * d)).map { _ in rng.nextNormal() }
            let q = (0..<(heads * d)).map { _ in rng.nextNormal() }
            let cache = KIVIDecodeCache(keys: keys, values: values, tokens: n, kvHeads: g, headDim: d, bits: bits, groupSize: 32, residual: 8)
            expectDecodeMatchesRestored("KIVI \(bits)-bit decode H \(heads) G \(g) n \(n)", heads: heads, kvHeads: g, headDim: d, tokens: n,
                                        query: q, workspaceCount: cache.workspaceCount(heads: heads), restored: cache.restored()) {
                cache.attend(query: $0, heads: heads, scale: $1, out: $2, workspace: $3)
            }
        }
    }
}
