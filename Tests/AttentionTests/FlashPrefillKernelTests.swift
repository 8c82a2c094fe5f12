// The fused prefill kernel (query blocks × key blocks, online softmax, 6 × 16 micro-tiles)
// and the BLAS path's blocks against plain loops in Double, one head at a time: causal,
// windowed and with attention sinks (also after a run of keys that skips positions, as a
// cache that keeps its sinks apart hands them over), queries that
// start after cached keys (chunked prefill), row and key counts that are not multiples of
// the tiles or blocks, and key dims that are not multiples of 8; then through
// SoftmaxKernel.attend, grouped heads shared out over workers.

@testable import Attention
import Foundation
import Testing
import TensorCore
import TestSupport

/// out_i = softmax_j(scale · q_i·k_j over visible j) v_j, in Double. Row i sits at position
/// p0 + i; key row j at position positions[j]. Visible: position ≤ the query's, and (no
/// window, or within the last w, or one of the first `sinks` positions).
private func naivePrefill(q: [Float], ldq: Int, k: [Float], ldk: Int, v: [Float], ldv: Int, t: Int, p0: Int,
                          positions: [Int], dk: Int, dv: Int, window: Int?, sinks: Int = 0, scale: Float) -> [Float] {
    var out = [Float](repeating: 0, count: t * dv)
    for i in 0..<t {
        let p = p0 + i
        let visible = positions.indices.filter { j in
            let s = positions[j]
            return s <= p && (window == nil || s > p - window! || s < sinks)
        }
        let s = visible.map { j -> Double in
            var d = 0.0
            for x in 0..<dk { d += Double(q[i * ldq + x]) * Double(k[j * ldk + x]) }
            return Double(scale) * d
        }
        let m = s.max()!
        let e = s.map { Foundation.exp($0 - m) }
        let total = e.reduce(0, +)
        for x in 0..<dv {
            var acc = 0.0
            for (n, j) in visible.enumerated() { acc += e[n] * Double(v[j * ldv + x]) }
            out[i * dv + x] = Float(acc / total)
        }
    }
    return out
}

struct FlashShape: CustomTestStringConvertible, Sendable {
    var t: Int, cached: Int, dk: Int, dv: Int, window: Int?, sinks = 0
    /// The run of key rows starts here, after the stored sinks (`KeyRows`): a cache that
    /// keeps its sinks apart from its ring hands over such rows.
    var firstKeyPosition = 0
    var mask: AttentionMask { AttentionMask(window: window, sinks: sinks) }
    var testDescription: String {
        "T\(t)-cached\(cached)-dk\(dk)-dv\(dv)-w\(window.map(String.init) ?? "none")" + (sinks > 0 ? "-s\(sinks)-run\(firstKeyPosition)" : "")
    }
}

@Suite("Fused prefill kernel")
struct FlashPrefillKernelTests {
    @Test(arguments: [FlashShape(t: 1, cached: 0, dk: 16, dv: 16, window: nil),
                      FlashShape(t: 7, cached: 0, dk: 5, dv: 16, window: nil),
                      FlashShape(t: 63, cached: 0, dk: 64, dv: 64, window: nil),
                      FlashShape(t: 100, cached: 37, dk: 72, dv: 32, window: nil),
                      FlashShape(t: 300, cached: 0, dk: 64, dv: 64, window: nil),
                      FlashShape(t: 300, cached: 5, dk: 20, dv: 48, window: 1),
                      FlashShape(t: 300, cached: 130, dk: 64, dv: 16, window: 17),
                      FlashShape(t: 250, cached: 0, dk: 32, dv: 32, window: 200),
                      FlashShape(t: 97, cached: 400, dk: 96, dv: 64, window: 1000),
                      // Sinks: within one key block of the window, far from it (two passes
                      // over the keys), inside the window, and after a run that skips positions.
                      FlashShape(t: 300, cached: 0, dk: 64, dv: 64, window: 100, sinks: 4),
                      FlashShape(t: 300, cached: 0, dk: 16, dv: 16, window: 7, sinks: 3),
                      FlashShape(t: 50, cached: 0, dk: 16, dv: 32, window: 64, sinks: 4),
                      FlashShape(t: 120, cached: 200, dk: 24, dv: 16, window: 33, sinks: 20, firstKeyPosition: 168),
                      FlashShape(t: 1, cached: 90, dk: 16, dv: 16, window: 9, sinks: 2, firstKeyPosition: 82),
                      FlashShape(t: 40, cached: 5, dk: 16, dv: 16, window: 12, sinks: 8, firstKeyPosition: 5)])
    func matchesPlainSoftmax(_ s: FlashShape) {
        var rng = Xoshiro256StarStar(seed: UInt64(s.t * 131 + s.cached * 7 + s.dk))
        let rowsLayout = KeyRows(mask: s.mask, firstKeyPosition: s.firstKeyPosition)
        let positions = Array(0..<rowsLayout.sinkRows) + Array(s.firstKeyPosition..<(s.cached + s.t))
        let keyCount = positions.count
        // Rows with spare columns, as heads sit side by side in the real layouts.
        let ldq = s.dk + 3, ldk = s.dk + 5, ldv = s.dv + 16, ldo = s.dv + 8
        let q = (0..<(s.t * ldq)).map { _ in rng.nextNormal() }
        let k = (0..<(keyCount * ldk)).map { _ in rng.nextNormal() }
        let v = (0..<(keyCount * ldv)).map { _ in rng.nextNormal() }
        // A large scale makes the running maximum move between key blocks.
        let scale: Float = 3 / Float(s.dk).squareRoot()
        let want = naivePrefill(q: q, ldq: ldq, k: k, ldk: ldk, v: v, ldv: ldv, t: s.t, p0: s.cached, positions: positions,
                                dk: s.dk, dv: s.dv, window: s.window, sinks: s.sinks, scale: scale)
        var out = [Float](repeating: .nan, count: s.t * ldo)
        var workspace = [Float](repeating: .nan, count: FlashPrefillKernel.workspaceCount(keyCount: keyCount, keyDim: s.dk, valueDim: s.dv))
        let counter = BLAS.FLOPCounter()
        BLAS.$flopCounter.withValue(counter) {
            FlashPrefillKernel.attendHead(q: q, ldq: ldq, k: k, ldk: ldk, v: v, ldv: ldv, out: &out, ldo: ldo, t: s.t, p0: s.cached,
                                          firstKeyPosition: s.firstKeyPosition, keyCount: keyCount, keyDim: s.dk, valueDim: s.dv,
                                          mask: s.mask, scale: scale, workspace: &workspace)
        }
        let got = (0..<s.t).flatMap { i in out[(i * ldo)..<(i * ldo + s.dv)] }
        let r = compareClose("fused prefill \(s.testDescription)", want, got, atol: 2e-5, rtol: 1e-4)
        #expect(r.ok, "\(r)")
        // The issued FLOPs cover at least the visible pairs (4 flops per pair and dim when dk = dv).
        let pairs = (0..<s.t).reduce(0) { acc, i in acc + (0...(s.cached + i)).filter { s.mask.isVisible(key: $0, query: s.cached + i) }.count }
        #expect(counter.flops >= 2 * Double(pairs * (s.dk + s.dv)), "issued \(counter.flops) flops for \(pairs) visible pairs")
        // The BLAS path (dv not a multiple of 16 takes it in `attend`; here called per block
        // directly) agrees too.
        if s.t > 1 {
            var blasOut = [Float](repeating: .nan, count: s.t * ldo)
            var scores = [Float](repeating: .nan, count: s.t * keyCount), sums = [Float](repeating: .nan, count: s.t)
            let rowsPerBlock = 37
            var i0 = 0
            while i0 < s.t {
                let nq = min(rowsPerBlock, s.t - i0)
                q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
                    blasOut.withUnsafeMutableBufferPointer { po in
                        SoftmaxKernel.block(q: pq.baseAddress! + i0 * ldq, ldq: ldq, rows: nq, firstRowPosition: s.cached + i0,
                                            k: pk.baseAddress!, ldk: ldk, v: pv.baseAddress!, ldv: ldv, keyRows: rowsLayout,
                                            dk: s.dk, dv: s.dv, scale: scale, scores: &scores, inverseSums: &sums,
                                            out: po.baseAddress! + i0 * ldo, ldo: ldo)
                    }
                } } }
                i0 += nq
            }
            let gotBLAS = (0..<s.t).flatMap { i in blasOut[(i * ldo)..<(i * ldo + s.dv)] }
            let rb = compareClose("BLAS prefill \(s.testDescription)", want, gotBLAS, atol: 2e-5, rtol: 1e-4)
            #expect(rb.ok, "\(rb)")
        }
    }

    /// SoftmaxKernel.attend with heads over workers takes the fused path (dv a multiple of
    /// 16): every query head against its kv head's rows, as the plain softmax computes it.
    @Test(arguments: [nil, 33] as [Int?])
    func attendOverWorkersMatchesPlainSoftmax(_ window: Int?) {
        let t = 700, cached = 60, heads = 8, kvHeads = 2, dk = 32, dv = 32
        let keyCount = cached + t
        var rng = Xoshiro256StarStar(seed: 77)
        let q = (0..<(t * heads * dk)).map { _ in rng.nextNormal() }
        let k = (0..<(keyCount * kvHeads * dk)).map { _ in rng.nextNormal() }
        let v = (0..<(keyCount * kvHeads * dv)).map { _ in rng.nextNormal() }
        let scale = 1 / Float(dk).squareRoot()
        var fused = [Float](repeating: .nan, count: t * heads * dv)
        var scratch: [Float] = []
        #expect(Double(t * keyCount * heads) >= SoftmaxKernel.parallelMinimumWork)
        SoftmaxKernel.attend(q: q, ldq: heads * dk, k: k, ldk: kvHeads * dk, v: v, ldv: kvHeads * dv, out: &fused, ldo: heads * dv,
                             t: t, p0: cached, firstKeyPosition: 0, keyCount: keyCount, heads: heads, kvHeads: kvHeads,
                             keyDim: dk, valueDim: dv, mask: AttentionMask(window: window), scale: scale, scratch: &scratch)
        var want = [Float](repeating: .nan, count: t * heads * dv)
        /// Column block `block` (width w) of rows with `stride` floats: one head's rows.
        func columns(_ x: [Float], rows: Int, stride: Int, block: Int, width w: Int) -> [Float] {
            var y: [Float] = []
            for i in 0..<rows { y += x[(i * stride + block * w)..<(i * stride + (block + 1) * w)] }
            return y
        }
        for h in 0..<heads {
            let g = h / (heads / kvHeads)
            let head = naivePrefill(q: columns(q, rows: t, stride: heads * dk, block: h, width: dk), ldq: dk,
                                    k: columns(k, rows: keyCount, stride: kvHeads * dk, block: g, width: dk), ldk: dk,
                                    v: columns(v, rows: keyCount, stride: kvHeads * dv, block: g, width: dv), ldv: dv,
                                    t: t, p0: cached, positions: Array(0..<keyCount), dk: dk, dv: dv, window: window, scale: scale)
            for i in 0..<t { for x in 0..<dv { want[(i * heads + h) * dv + x] = head[i * dv + x] } }
        }
        let r = compareClose("attend fused, 8 heads over 2 kv heads, w \(window.map(String.init) ?? "none")", want, fused, atol: 2e-5, rtol: 1e-4)
        #expect(r.ok, "\(r)")
    }
}
