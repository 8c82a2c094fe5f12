// The chunked causal linear attention op against the quadratic composition it replaces,
// A = tril(Q Kᵀ), out = A V / (A 1 + ε): outputs and gradients with a random upstream
// gradient, at odd lengths (T = 1, 7, 63, 100), at and around chunk boundaries (T = c − 1, c,
// c + 1, multiples of c, a chunk of 1 row, a chunk longer than T); its finite-difference
// gradient; independence from the thread count; identical numbers run to run.

import Foundation
import Testing
import TensorCore
import TestSupport

private struct Shape: CustomTestStringConvertible, Sendable {
    let b: Int, t: Int, h: Int, dk: Int, dv: Int, chunk: Int
    var testDescription: String { "B\(b)-T\(t)-H\(h)-Dk\(dk)-Dv\(dv)-c\(chunk)" }
}

private let shapes: [Shape] = [
    Shape(b: 2, t: 1, h: 3, dk: 4, dv: 3, chunk: 64),
    Shape(b: 2, t: 7, h: 2, dk: 5, dv: 3, chunk: 4),
    Shape(b: 1, t: 7, h: 1, dk: 3, dv: 2, chunk: 1),
    Shape(b: 1, t: 63, h: 2, dk: 8, dv: 5, chunk: 16),
    Shape(b: 2, t: 63, h: 2, dk: 8, dv: 8, chunk: 64),
    Shape(b: 2, t: 64, h: 2, dk: 8, dv: 8, chunk: 64),
    Shape(b: 1, t: 65, h: 1, dk: 6, dv: 7, chunk: 64),
    Shape(b: 2, t: 100, h: 2, dk: 32, dv: 32, chunk: 64),
    Shape(b: 1, t: 128, h: 2, dk: 4, dv: 4, chunk: 32),
    Shape(b: 1, t: 100, h: 1, dk: 3, dv: 2, chunk: 200),
    Shape(b: 1, t: 150, h: 2, dk: 16, dv: 8, chunk: 64),
]

private let eps: Float = 1e-6

/// q, k positive like φ(x) = elu(x) + 1 outputs; v and the upstream gradient normal.
private func inputs(_ s: Shape, seed: UInt64) -> (q: Tensor, k: Tensor, v: Tensor, upstream: Tensor) {
    var rng = Xoshiro256StarStar(seed: seed)
    func features(_ shape: [Int]) -> Tensor {
        let x = Tensor.randn(shape, rng: &rng)
        return Tensor(shape: shape, data: x.data.map { $0 > 0 ? $0 + 1 : Foundation.exp($0) }, requiresGrad: true)
    }
    return (features([s.b, s.t, s.h, s.dk]), features([s.b, s.t, s.h, s.dk]),
            Tensor.randn([s.b, s.t, s.h, s.dv], rng: &rng, requiresGrad: true),
            Tensor.randn([s.b, s.t, s.h, s.dv], rng: &rng))
}

/// The quadratic form as a composition of ops, on [B, T, H, D] inputs.
private func quadratic(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
    let t = q.shape[1]
    let mask = Tensor.zeros([t, t])
    for i in 0..<t { for j in 0...i { mask.data[i * t + j] = 1 } }
    let qh = q.permuted([0, 2, 1, 3]), kh = k.permuted([0, 2, 1, 3]), vh = v.permuted([0, 2, 1, 3])  // [B, H, T, D]
    let a = Tensor.matmul(qh, kh, transposeB: true) * mask                                            // [B, H, T, T]
    let o = Tensor.matmul(a, vh) / (a.sum(axis: -1, keepDims: true) + eps)                           // [B, H, T, Dv]
    return o.permuted([0, 2, 1, 3])                                                                   // [B, T, H, Dv]
}

/// Output and gradients of Σ f(q, k, v)·R.
private func run(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ upstream: Tensor,
                 _ f: (Tensor, Tensor, Tensor) -> Tensor) -> [[Float]] {
    for x in [q, k, v] { x.zeroGrad() }
    let out = f(q, k, v)
    (out * upstream).sum().backward()
    return [out.data, q.grad!, k.grad!, v.grad!]
}

@Suite("Chunked causal linear attention")
struct CausalLinearAttentionTests {
    @Test(arguments: shapes)
    fileprivate func matchesQuadraticForm(_ s: Shape) {
        let (q, k, v, upstream) = inputs(s, seed: 170 + UInt64(s.t))
        let composed = run(q, k, v, upstream, quadratic)
        let chunked = run(q, k, v, upstream) { q, k, v in
            Tensor.causalLinearAttention(q: q, k: k, v: v, eps: eps, chunk: s.chunk)
        }
        for (name, i) in [("out", 0), ("dQ", 1), ("dK", 2), ("dV", 3)] {
            let r = compareClose("\(s.testDescription) \(name)", composed[i], chunked[i])
            #expect(r.ok, "\(r)")
        }
    }

    @Test func rankThreeInputIsOneSequence() {
        let s = shapes[3]
        let (q, k, v, upstream) = inputs(Shape(b: 1, t: s.t, h: s.h, dk: s.dk, dv: s.dv, chunk: s.chunk), seed: 171)
        let four = run(q, k, v, upstream) { .causalLinearAttention(q: $0, k: $1, v: $2, eps: eps, chunk: s.chunk) }
        let three = run(q, k, v, upstream) { q, k, v in
            let drop = { (x: Tensor) in x.reshaped(Array(x.shape.dropFirst())) }
            return Tensor.causalLinearAttention(q: drop(q), k: drop(k), v: drop(v), eps: eps, chunk: s.chunk)
                .reshaped([1] + Array(v.shape.dropFirst()))
        }
        #expect(four == three)
    }

    @Test(arguments: [shapes[1], shapes[3]])
    fileprivate func finiteDifferenceGradient(_ s: Shape) {
        let (q, k, v, _) = inputs(s, seed: 180 + UInt64(s.t))
        let r = gradCheck("causalLinearAttention \(s.testDescription)", inputs: [q, k, v]) {
            .causalLinearAttention(q: $0[0], k: $0[1], v: $0[2], eps: eps, chunk: s.chunk)
        }
        #expect(r.ok, "\(r)")
    }

    @Test func threadCountDoesNotChangeTheNumbers() {
        let s = shapes[7]
        let (q, k, v, upstream) = inputs(s, seed: 190)
        func withWorkers(_ w: Int) -> [[Float]] {
            BLAS.$batchWorkers.withValue(w) {
                run(q, k, v, upstream) { .causalLinearAttention(q: $0, k: $1, v: $2, eps: eps) }
            }
        }
        let serial = withWorkers(1)
        for w in [2, 3] {
            let same = withWorkers(w) == serial
            #expect(same, "workers \(w): numbers differ from one worker's")
        }
        let again = withWorkers(1) == serial
        #expect(again, "a second run gave different numbers")
    }
}
