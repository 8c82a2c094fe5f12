// The decode kernel (one query token over the cache, online softmax, split over
// workers, keys in one or two segments) against a plain softmax in Double; and the
// mechanisms' decode at contexts long enough to use several workers and, for a sliding
// window, a ring buffer that has wrapped many times.

@testable import Attention
import Foundation
import Testing
import TensorCore
import TestSupport

/// Plain loops in Double: out_h = softmax(scale · q_h·K_gᵀ) V_g over rows 0 ..< n.
private func naiveDecode(q: [Float], k: [Float], v: [Float], n: Int, heads: Int, kvHeads: Int, dk: Int, dv: Int,
                         ldk: Int, ldv: Int, scale: Float) -> [Float] {
    var out = [Float](repeating: 0, count: heads * dv)
    let r = heads / kvHeads
    for h in 0..<heads {
        let g = h / r
        var s = [Double](repeating: 0, count: n)
        for j in 0..<n {
            var d = 0.0
            for i in 0..<dk { d += Double(q[h * dk + i]) * Double(k[j * ldk + g * dk + i]) }
            s[j] = Double(scale) * d
        }
        let m = s.max()!
        let e = s.map { Foundation.exp($0 - m) }
        let total = e.reduce(0, +)
        for i in 0..<dv {
            var acc = 0.0
            for j in 0..<n { acc += e[j] * Double(v[j * ldv + g * dv + i]) }
            out[h * dv + i] = Float(acc / total)
        }
    }
    return out
}

struct DecodeShape: CustomTestStringConvertible, Sendable {
    var n: Int, heads: Int, kvHeads: Int, dk: Int, dv: Int
    /// Values are the first dv columns of the key rows themselves (MLA's latent cache).
    var valuesInKeys = false
    var testDescription: String { "n\(n)-H\(heads)-G\(kvHeads)-dk\(dk)-dv\(dv)" + (valuesInKeys ? "-shared" : "") }
}

@Suite("Decode kernel")
struct DecodeKernelTests {
    /// Workers 1, 2 and 3; keys in one segment, and split in three at odd places (sinks
    /// and a ring buffer's wrap), both against the plain softmax. Large score scale so that the
    /// running maximum changes between chunks and workers.
    @Test(arguments: [DecodeShape(n: 1, heads: 4, kvHeads: 2, dk: 4, dv: 4),
                      DecodeShape(n: 63, heads: 4, kvHeads: 1, dk: 20, dv: 12),
                      DecodeShape(n: 3001, heads: 8, kvHeads: 2, dk: 64, dv: 64),
                      DecodeShape(n: 2500, heads: 6, kvHeads: 6, dk: 37, dv: 33),
                      DecodeShape(n: 1030, heads: 4, kvHeads: 1, dk: 72, dv: 64),
                      // Register-blocked paths: one head × four keys (MHA, groups of 2 and 3),
                      // four heads × three keys and 24-column value blocks (groups of 4, 6, 8),
                      // odd key counts and head dims not a multiple of 8, MLA's shared rows.
                      DecodeShape(n: 7, heads: 8, kvHeads: 8, dk: 64, dv: 64),
                      DecodeShape(n: 100, heads: 6, kvHeads: 2, dk: 36, dv: 28),
                      DecodeShape(n: 63, heads: 4, kvHeads: 2, dk: 64, dv: 64),
                      DecodeShape(n: 100, heads: 12, kvHeads: 2, dk: 30, dv: 50),
                      DecodeShape(n: 2113, heads: 24, kvHeads: 3, dk: 16, dv: 27),
                      DecodeShape(n: 100, heads: 8, kvHeads: 1, dk: 288, dv: 256, valuesInKeys: true),
                      DecodeShape(n: 2050, heads: 8, kvHeads: 1, dk: 44, dv: 40, valuesInKeys: true)])
    func matchesPlainSoftmax(_ s: DecodeShape) {
        var rng = Xoshiro256StarStar(seed: UInt64(s.n * 31 + s.dk))
        // MLA-like layout when dk > dv: values are the first dv columns of the key rows.
        let ldk = s.kvHeads * s.dk + 3, ldv = s.dv <= s.dk ? ldk : s.kvHeads * s.dv + 5
        let q = (0..<(s.heads * s.dk)).map { _ in rng.nextNormal() }
        let rows = (0..<(s.n * ldk)).map { _ in rng.nextNormal() }
        let vRows = s.valuesInKeys ? rows : (0..<(s.n * ldv)).map { _ in rng.nextNormal() }
        let scale: Float = 2 / Float(s.dk).squareRoot()
        let want = naiveDecode(q: q, k: rows, v: vRows, n: s.n, heads: s.heads, kvHeads: s.kvHeads, dk: s.dk, dv: s.dv,
                               ldk: ldk, ldv: ldv, scale: scale)
        for workers in [1, 2, 3] {
            for split in [0, s.n / 3 + 1] where split < s.n {
                var out = [Float](repeating: .nan, count: s.heads * s.dv)
                var workspace = [Float](repeating: .nan, count: DecodeKernel.workspaceCount(heads: s.heads, keyDim: s.dk, valueDim: s.dv, workers: workers))
                // Two segments: rows [split, n) stored first, then rows [0, split) — as a ring
                // buffer holds them — attended in position order.
                let ring = Array(rows[(split * ldk)...] + rows[..<(split * ldk)])
                let vRing = s.valuesInKeys ? ring : Array(vRows[(split * ldv)...] + vRows[..<(split * ldv)])
                ring.withUnsafeBufferPointer { k in
                    vRing.withUnsafeBufferPointer { v in
                        q.withUnsafeBufferPointer { pq in
                            out.withUnsafeMutableBufferPointer { o in
                                workspace.withUnsafeMutableBufferPointer { w in
                                    let tail = s.n - split  // rows [split, n) sit at the start of the ring
                                    let first = KVSegment(k: k.baseAddress! + tail * ldk, v: v.baseAddress! + tail * ldv, count: split)
                                    // With `split` > 0 the second run is also handed over as two
                                    // segments (three in all, as sinks and a wrapped ring are).
                                    let cut = split > 0 ? tail / 2 : 0
                                    let second = KVSegment(k: k.baseAddress!, v: v.baseAddress!, count: cut)
                                    let third = KVSegment(k: k.baseAddress! + cut * ldk, v: v.baseAddress! + cut * ldv, count: tail - cut)
                                    DecodeKernel.attend(q: pq.baseAddress!, heads: s.heads, kvHeads: s.kvHeads, keyDim: s.dk, valueDim: s.dv,
                                                        segments: KVSegments(first, second, third),
                                                        ldk: ldk, ldv: ldv, scale: scale, out: o.baseAddress!,
                                                        workspace: w.baseAddress!, workers: workers)
                                }
                            }
                        }
                    }
                }
                let r = compareClose("\(s.testDescription) workers \(workers) split \(split)", want, out, atol: 1e-5, rtol: 1e-4)
                #expect(r.ok, "\(r)")
            }
        }
    }

    /// Prefill then decode equals the training forward at contexts where decode splits the
    /// keys over workers (≥ 2 · DecodeKernel.minKeysPerWorker) — for the window, after the
    /// ring buffer has wrapped (w 700 of 2300 positions).
    @Test(arguments: [(Variant.mha, 0), (.gqa, 0), (.mqa, 0), (.swa, 700), (.mla, 0)])
    func longDecodeEqualsForward(_ variantAndWindow: (Variant, Int)) throws {
        let (v, window) = variantAndWindow
        var config = tiny
        config.slidingWindow = window > 0 ? window : nil
        var rng = Xoshiro256StarStar(seed: 77)
        let m = try v.make(config: config, rng: &rng)
        let saved = BLAS.requestedThreads
        BLAS.setThreads(2)
        defer { BLAS.setThreads(saved) }
        let t = 2 * DecodeKernel.minKeysPerWorker + 252, prompt = t - 6
        let x = randomX(1, t, tiny.hiddenSize, seed: 78)
        let expected = Autograd.inference { m.forward(x) }
        let (stepped, _) = prefillThenDecode(m, x, prompt: prompt)
        let c = tiny.hiddenSize
        let r = compareClose("\(v) w\(window) prefill \(prompt) + decode to \(t)", Array(expected.data[(prompt * c)...]),
                             Array(stepped.data[(prompt * c)...]), atol: 1e-5, rtol: 1e-4)
        #expect(r.ok, "\(r)")
    }
}
