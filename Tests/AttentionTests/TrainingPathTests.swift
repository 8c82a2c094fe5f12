// The training fast paths of the mechanisms against the compositions they replace, at
// mechanism level: outputs and the gradients of the input and of every weight, with a
// random upstream gradient, at odd lengths and across chunk boundaries.
// (Against the plain Double reference: ReferenceAgreementTests; the ops alone: TensorCoreTests.)

import Attention
import Testing
import TensorCore
import TestSupport

/// Output, d/dx and d/dweight (in `namedParameters` order) of Σ f(x)·R.
private func outputAndGradients(_ m: any AttentionMechanism, _ x: Tensor, _ upstream: Tensor,
                                _ f: (Tensor) -> Tensor) -> [(name: String, values: [Float])] {
    x.zeroGrad()
    for p in m.parameters { p.zeroGrad() }
    let y = f(x)
    (y * upstream).sum().backward()
    return [("out", y.data), ("x", x.grad!)] + m.namedParameters.map { ($0.name, $0.tensor.grad!) }
}

@Suite("Training fast paths against their compositions")
struct TrainingPathTests {
    /// Chunks are 64 rows: T = 1, 7, 63 stay within one, 64 fills it, 65, 100, 150 cross.
    @Test(arguments: [1, 7, 63, 64, 65, 100, 150])
    func linearChunkedMatchesQuadratic(t: Int) throws {
        var config = tiny
        config.linearFeatureDim = 5  // d_k ≠ d_v
        var rng = Xoshiro256StarStar(seed: 60)
        let m = try Variant.linear.make(config: config, rng: &rng) as! LinearAttention
        let x = Tensor.randn([2, t, config.hiddenSize], rng: &rng, requiresGrad: true)
        let upstream = Tensor.randn([2, t, config.hiddenSize], rng: &rng)
        let quadratic = outputAndGradients(m, x, upstream, m.forwardQuadratic)
        let chunked = outputAndGradients(m, x, upstream, m.forward)
        for (a, b) in zip(quadratic, chunked) {
            let r = compareClose("linear T\(t) \(a.name)", a.values, b.values)
            #expect(r.ok, "\(r)")
        }
        // Same inputs, same numbers, run to run.
        let again = outputAndGradients(m, x, upstream, m.forward)
        #expect(zip(again, chunked).allSatisfy { $0.values == $1.values }, "a second run gave different numbers")
    }
}
