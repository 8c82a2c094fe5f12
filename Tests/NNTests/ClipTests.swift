// clipGradNorm against hand-computed norms and scale factors (PyTorch's clip_grad_norm_:
// one global L2 norm over all gradients, factor maxNorm / (norm + 1e-6) when norm > maxNorm).

import Testing
import NN
import TensorCore
import TestSupport

private func param(_ values: [Float], grad: [Float]?) -> Tensor {
    let t = Tensor(shape: [values.count], data: values, requiresGrad: true)
    t.grad = grad
    return t
}

@Test func returnsGlobalNormAcrossParameters() {
    // √(1² + 2² + 2² + 4²) = √25 = 5; the parameter without a gradient contributes nothing.
    let ps = [param([0, 0], grad: [1, 2]), param([0], grad: [2]), param([0, 0, 0], grad: nil), param([0], grad: [-4])]
    let norm = clipGradNorm(ps, maxNorm: 100)
    #expect(norm == 5)
}

@Test func clipsWithTheGlobalNormNotPerParameter() {
    // Each gradient alone is under maxNorm = 4.5 (norms 3 and 4), but together √(9 + 16) = 5.
    let a = param([0, 0], grad: [3, 0]), b = param([0, 0], grad: [0, -4])
    let norm = clipGradNorm([a, b], maxNorm: 4.5)
    #expect(norm == 5)  // the pre-clip norm
    // scale = 4.5 / (5 + 1e-6) = 0.89999982…: 3 → 2.69999946, −4 → −3.59999928
    let scale = 4.5 / (5.0 + 1e-6)
    let ra = compareClose("a.grad", [Float(3 * scale), 0], a.grad!, atol: 0, rtol: 3e-7)
    let rb = compareClose("b.grad", [0, Float(-4 * scale)], b.grad!, atol: 0, rtol: 3e-7)
    #expect(ra.ok, "\(ra)")
    #expect(rb.ok, "\(rb)")
    // The clipped gradients now have global norm just under maxNorm.
    let after = clipGradNorm([a, b], maxNorm: 1000)
    #expect(abs(after - 4.5) < 1e-5 && after <= 4.5)
}

@Test func scaleIncludesTheEpsilon() {
    // With a tiny norm the 1e-6 in the denominator is visible:
    // g = [6e-4, 8e-4], norm = 1e-3, maxNorm = 5e-4 → scale = 5e-4 / (1e-3 + 1e-6) ≈ 0.4995005
    // (without the 1e-6 it would be exactly 0.5).
    let g: [Float] = [6e-4, 8e-4]
    let p = param([0, 0], grad: g)
    let norm = clipGradNorm([p], maxNorm: 5e-4)
    let expectedNorm = (Double(g[0]) * Double(g[0]) + Double(g[1]) * Double(g[1])).squareRoot()
    #expect(abs(Double(norm) - expectedNorm) < 1e-10)
    let scale = 5e-4 / (expectedNorm + 1e-6)
    let r = compareClose("grad", g.map { Float(Double($0) * scale) }, p.grad!, atol: 0, rtol: 1e-6)
    #expect(r.ok, "\(r)")
    #expect(abs(p.grad![0] - 6e-4 * 0.5) > 1e-7)  // not the ε-free 0.5
}

@Test(arguments: [Float(5), 5.5, 100])
func leavesGradientsAloneAtOrBelowMaxNorm(maxNorm: Float) {
    // norm = √(3² + 4²) = 5 exactly, and 5 > maxNorm is false for every argument.
    let a = param([1, 2], grad: [3, 0]), b = param([1], grad: [-4]), c = param([1], grad: nil)
    let norm = clipGradNorm([a, b, c], maxNorm: maxNorm)
    #expect(norm == 5)
    #expect(a.grad == [3, 0])
    #expect(b.grad == [-4])
    #expect(c.grad == nil)
    #expect(a.data == [1, 2] && b.data == [1])  // parameters themselves never change
}

@Test func clippingKeepsMissingGradientsMissing() {
    let a = param([0, 0], grad: [30, 40]), b = param([0], grad: nil)
    let norm = clipGradNorm([a, b], maxNorm: 1)
    #expect(norm == 50)
    #expect(b.grad == nil)
    // 30 / 50.000001 ≈ 0.6, 40 / 50.000001 ≈ 0.8
    let r = compareClose("a.grad", [0.6, 0.8], a.grad!, atol: 0, rtol: 1e-6)
    #expect(r.ok, "\(r)")
}

@Test func allGradientsMissingGivesZeroNorm() {
    let a = param([1, 2], grad: nil)
    #expect(clipGradNorm([a], maxNorm: 1) == 0)
    #expect(clipGradNorm([], maxNorm: 1) == 0)
    #expect(a.grad == nil)
}
