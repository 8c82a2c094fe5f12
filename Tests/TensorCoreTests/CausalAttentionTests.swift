// The fused causal attention op (query blocks against only the keys they see) against the
// composition it replaces, matmul(alpha:) → softmax(mask:) → matmul: outputs and gradients
// with a random upstream gradient, at odd shapes, with and without a window, with attention
// sinks beyond the window (the composition's mask from AttentionMask.dense); its finite-
// difference gradient; and independence from the thread count.

import Testing
import TensorCore
import TestSupport

private struct Shape: CustomTestStringConvertible, Sendable {
    let lead: [Int], r: Int, t: Int, d: Int, dv: Int, window: Int?
    var sinks = 0
    var mask: AttentionMask { AttentionMask(window: window, sinks: sinks) }
    var testDescription: String { "B\(lead)-r\(r)-T\(t)-D\(d)-Dv\(dv)-w\(window.map(String.init) ?? "none")-s\(sinks)" }
}

private let shapes: [Shape] = [
    Shape(lead: [2, 3], r: 1, t: 1, d: 4, dv: 3, window: nil),
    Shape(lead: [2, 1], r: 2, t: 7, d: 5, dv: 3, window: nil),
    Shape(lead: [1, 2], r: 3, t: 63, d: 8, dv: 5, window: nil),
    Shape(lead: [2, 2], r: 2, t: 100, d: 32, dv: 32, window: nil),
    Shape(lead: [1, 2], r: 1, t: 100, d: 6, dv: 7, window: 5),
    Shape(lead: [2, 1], r: 2, t: 150, d: 8, dv: 8, window: 64),
    Shape(lead: [3], r: 1, t: 130, d: 4, dv: 4, window: 70),
    // Sinks: some query blocks see them beyond the window, some within it; one sink, many.
    Shape(lead: [1, 2], r: 2, t: 150, d: 8, dv: 6, window: 20, sinks: 4),
    Shape(lead: [2], r: 1, t: 100, d: 5, dv: 3, window: 3, sinks: 1),
    Shape(lead: [1], r: 3, t: 70, d: 16, dv: 16, window: 64, sinks: 30),
    Shape(lead: [1], r: 1, t: 9, d: 4, dv: 4, window: 2, sinks: 2),
]

private func inputs(_ s: Shape, seed: UInt64) -> (q: Tensor, k: Tensor, v: Tensor, upstream: Tensor) {
    var rng = Xoshiro256StarStar(seed: seed)
    return (Tensor.randn(s.lead + [s.r * s.t, s.d], rng: &rng, requiresGrad: true),
            Tensor.randn(s.lead + [s.t, s.d], rng: &rng, requiresGrad: true),
            Tensor.randn(s.lead + [s.t, s.dv], rng: &rng, requiresGrad: true),
            Tensor.randn(s.lead + [s.r * s.t, s.dv], rng: &rng))
}

/// Output and gradients of Σ f(q, k, v)·R.
private func run(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ upstream: Tensor,
                 _ f: (Tensor, Tensor, Tensor) -> Tensor) -> [[Float]] {
    for x in [q, k, v] { x.zeroGrad() }
    let out = f(q, k, v)
    (out * upstream).sum().backward()
    return [out.data, q.grad!, k.grad!, v.grad!]
}

@Suite("Fused causal attention")
struct CausalAttentionTests {
    @Test(arguments: shapes)
    fileprivate func matchesComposition(_ s: Shape) {
        let (q, k, v, upstream) = inputs(s, seed: 70 + UInt64(s.t))
        let scale = 1 / Float(s.d).squareRoot()
        let composed = run(q, k, v, upstream) { q, k, v in
            let scores = Tensor.matmul(q, k, transposeB: true, alpha: scale)
            return Tensor.matmul(scores.softmax(mask: s.mask.dense(s.t)), v)
        }
        let fused = run(q, k, v, upstream) { q, k, v in
            Tensor.causalAttention(q: q, k: k, v: v, scale: scale, mask: s.mask)
        }
        for (name, i) in [("out", 0), ("dQ", 1), ("dK", 2), ("dV", 3)] {
            let r = compareClose("\(s.testDescription) \(name)", composed[i], fused[i])
            #expect(r.ok, "\(r)")
        }
    }

    @Test(arguments: [shapes[1], shapes[4], shapes[8], shapes[10]])
    fileprivate func finiteDifferenceGradient(_ s: Shape) {
        let (q, k, v, _) = inputs(s, seed: 80 + UInt64(s.t))
        let r = gradCheck("causalAttention \(s.testDescription)", inputs: [q, k, v]) {
            .causalAttention(q: $0[0], k: $0[1], v: $0[2], scale: 0.4, mask: s.mask)
        }
        #expect(r.ok, "\(r)")
    }

    @Test func threadCountDoesNotChangeTheNumbers() {
        let s = shapes[3]
        let (q, k, v, upstream) = inputs(s, seed: 90)
        func withWorkers(_ w: Int) -> [[Float]] {
            BLAS.$batchWorkers.withValue(w) {
                run(q, k, v, upstream) { .causalAttention(q: $0, k: $1, v: $2, scale: 0.25, window: nil) }
            }
        }
        let serial = withWorkers(1)
        for w in [2, 3] {
            let same = withWorkers(w) == serial
            #expect(same, "workers \(w): numbers differ from one worker's")
        }
    }
}

@Suite("Attention mask")
struct AttentionMaskTests {
    /// The rule, against its statement in plain words, at every (query, key) pair.
    @Test(arguments: [AttentionMask.causal, AttentionMask(window: 3), AttentionMask(window: 3, sinks: 2),
                      AttentionMask(window: 1, sinks: 1), AttentionMask(sinks: 4)])
    func visibilityFollowsTheRule(_ m: AttentionMask) {
        for p in 0..<20 {
            for s in 0..<20 {
                let causal = s <= p
                let recent = m.window.map { s > p - $0 } ?? true
                let sink = s < m.sinks
                #expect(m.isVisible(key: s, query: p) == (causal && (recent || sink)), "\(m) p \(p) s \(s)")
            }
            // Two segments that cover exactly the visible keys.
            let visible = (0..<20).filter { m.isVisible(key: $0, query: p) }
            #expect(visible == Array(0..<m.sinkEnd(query: p)) + Array(m.recentStart(query: p)...p))
        }
        let dense = m.dense(6)
        for p in 0..<6 { for s in 0..<6 { #expect((dense.data[p * 6 + s] == 0) == m.isVisible(key: s, query: p)) } }
    }

    @Test func windowOnlyMaskEqualsTheOldCausalMask() {
        for w in [nil, 1, 3, 10] {
            #expect(AttentionMask(window: w).dense(12).data == Tensor.causalMask(12, window: w).data)
        }
    }
}
