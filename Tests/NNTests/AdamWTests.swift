// AdamW against a step computed by hand: an independent Double transcription of
// PyTorch's torch.optim.AdamW (decoupled decay first, then the moments, bias correction
// 1 − βᵗ, and ε added after the square root), plus literal values worked out below.

import Foundation
import Testing
import NN
import TensorCore
import TestSupport

/// PyTorch's AdamW for one parameter, in Double, written out from the formula.
private struct ReferenceAdamW {
    var p: [Double], m: [Double], v: [Double]
    var t = 0
    let beta1: Double, beta2: Double, eps: Double, weightDecay: Double

    init(p: [Float], hyper: AdamW.Hyper) {
        self.p = p.map(Double.init)
        m = [Double](repeating: 0, count: p.count)
        v = m
        beta1 = Double(hyper.beta1); beta2 = Double(hyper.beta2)
        eps = Double(hyper.eps); weightDecay = Double(hyper.weightDecay)
    }

    mutating func step(grad g: [Float], lr: Double) {
        t += 1
        for i in p.indices {
            let gi = Double(g[i])
            p[i] = p[i] - lr * weightDecay * p[i]                 // p ← p − lr·λ·p
            m[i] = beta1 * m[i] + (1 - beta1) * gi                // m ← β1·m + (1−β1)·g
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi           // v ← β2·v + (1−β2)·g²
            let mHat = m[i] / (1 - pow(beta1, Double(t)))         // m̂ = m / (1 − β1ᵗ)
            let vHat = v[i] / (1 - pow(beta2, Double(t)))         // v̂ = v / (1 − β2ᵗ)
            p[i] = p[i] - lr * mHat / (vHat.squareRoot() + eps)   // p ← p − lr·m̂/(√v̂ + ε)
        }
    }
}

private func floats(_ xs: [Double]) -> [Float] { xs.map { Float($0) } }

@Test func oneStepMatchesHandComputation() {
    let hyper = AdamW.Hyper(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)
    let p0: [Float] = [0.5, -1.0, 2.0, 0.0]
    let g: [Float] = [0.1, -0.2, 0.3, -0.05]
    let lr: Float = 0.1
    let param = Tensor(shape: [2, 2], data: p0, requiresGrad: true)
    param.grad = g
    let opt = AdamW(parameters: [param], hyper: hyper)
    opt.update(lr: lr)

    // At t = 1, m̂ = g and v̂ = g², so the Adam step is lr·g/(|g| + ε) ≈ lr·sign(g):
    //   0.5:  0.5 − 0.1·0.1·0.5 = 0.495;    0.495 − 0.1·0.1/(0.1 + 1e-8)  ≈ 0.395
    //  −1.0: −1.0 + 0.1·0.1·1.0 = −0.99;   −0.99 + 0.1                    ≈ −0.89
    //   2.0:  2.0 − 0.1·0.1·2.0 = 1.98;     1.98 − 0.1                    ≈ 1.88
    //   0.0:  0.0 (nothing to decay);        0.0 + 0.1                     ≈ 0.1
    let literal = compareClose("p after one step (literal)", [0.395, -0.89, 1.88, 0.1], param.data, atol: 1e-6, rtol: 1e-6)
    #expect(literal.ok, "\(literal)")

    var ref = ReferenceAdamW(p: p0, hyper: hyper)
    ref.step(grad: g, lr: Double(lr))
    let r = compareClose("p after one step", floats(ref.p), param.data, atol: 1e-7, rtol: 1e-6)
    #expect(r.ok, "\(r)")
    // m = (1 − β1)·g and v = (1 − β2)·g² after the first step. β2 is stored as a Float,
    // so 1 − β2 is 1 − Float(0.999) = 9.99987125e-4, not 1e-3 (relative 1.3e-5; the bias
    // correction uses the same β2, so the step itself is unaffected).
    let oneMinusB1 = 1 - Double(hyper.beta1), oneMinusB2 = 1 - Double(hyper.beta2)
    let rm = compareClose("m", g.map { Float(oneMinusB1 * Double($0)) }, opt.m[0], atol: 1e-9, rtol: 1e-6)
    let rv = compareClose("v", g.map { Float(oneMinusB2 * Double($0) * Double($0)) }, opt.v[0], atol: 1e-12, rtol: 1e-6)
    #expect(rm.ok, "\(rm)")
    #expect(rv.ok, "\(rv)")
    #expect(opt.step == 1)
}

@Test(arguments: [
    AdamW.Hyper(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1),
    AdamW.Hyper(beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.0),
    AdamW.Hyper(beta1: 0.5, beta2: 0.9, eps: 1e-3, weightDecay: 0.5),
])
func severalStepsMatchHandComputation(hyper: AdamW.Hyper) {
    // Gradients that change sign and size from step to step, and a varying lr, so the
    // moments, both bias corrections and the decay all matter.
    let p0: [Float] = [0.3, -0.7, 1.5]
    let grads: [[Float]] = [[0.2, -0.1, 0.05], [-0.4, 0.3, 0.05], [0.1, 0.0, -2.0],
                            [0.25, -0.6, 0.5], [-0.05, 0.02, 1.0]]
    let lrs: [Float] = [0.01, 0.05, 0.03, 0.02, 0.1]
    let param = Tensor(shape: [3], data: p0, requiresGrad: true)
    let opt = AdamW(parameters: [param], hyper: hyper)
    var ref = ReferenceAdamW(p: p0, hyper: hyper)
    for (t, (g, lr)) in zip(grads, lrs).enumerated() {
        param.grad = g
        opt.update(lr: lr)
        ref.step(grad: g, lr: Double(lr))
        #expect(opt.step == t + 1)
        let r = compareClose("p after step \(t + 1)", floats(ref.p), param.data, atol: 2e-6, rtol: 1e-5)
        #expect(r.ok, "\(r)")
        let rm = compareClose("m after step \(t + 1)", floats(ref.m), opt.m[0], atol: 1e-7, rtol: 1e-5)
        let rv = compareClose("v after step \(t + 1)", floats(ref.v), opt.v[0], atol: 1e-9, rtol: 1e-5)
        #expect(rm.ok, "\(rm)")
        #expect(rv.ok, "\(rv)")
    }
}

@Test func epsIsAddedAfterTheSquareRoot() {
    // g = ε = 1e-3, no decay, first step: lr·|g|/(|g| + ε) = 0.1·1e-3/2e-3 = 0.05.
    // (ε under the root would give 0.1·1e-3/√(1e-6 + 1e-3) ≈ 0.00316.)
    let param = Tensor(shape: [1], data: [1.0], requiresGrad: true)
    param.grad = [1e-3]
    let opt = AdamW(parameters: [param], hyper: AdamW.Hyper(eps: 1e-3, weightDecay: 0))
    opt.update(lr: 0.1)
    #expect(abs(param.data[0] - 0.95) < 1e-6, "p = \(param.data[0]), expected 1 − 0.05 = 0.95")
}

@Test func constantGradientMovesByLrTimesSign() {
    // With λ = 0 and a constant g, m_t = (1 − β1ᵗ)·g and v_t = (1 − β2ᵗ)·g², so m̂ = g and
    // v̂ = g² at every step: each step is lr·g/(|g| + ε) = lr·sign(g) up to ε/|g| ≈ 1e-8.
    let p0: [Float] = [1.0, -2.0, 0.5, 3.0]
    let g: [Float] = [0.3, -5.0, 1e-2, -1e-3]
    let lr: Float = 0.01
    let param = Tensor(shape: [4], data: p0, requiresGrad: true)
    let opt = AdamW(parameters: [param], hyper: AdamW.Hyper(weightDecay: 0))

    param.grad = g
    opt.update(lr: lr)
    // 1.0 − 0.01 = 0.99; −2.0 + 0.01 = −1.99; 0.5 − 0.01 = 0.49; 3.0 + 0.01 = 3.01
    let first = compareClose("after one step", [0.99, -1.99, 0.49, 3.01], param.data, atol: 1e-6, rtol: 0)
    #expect(first.ok, "\(first)")

    for _ in 1..<10 {
        param.grad = g
        opt.update(lr: lr)
    }
    // Ten steps of 0.01 each: 1.0 − 0.1, −2.0 + 0.1, 0.5 − 0.1, 3.0 + 0.1
    let ten = compareClose("after ten steps", [0.9, -1.9, 0.4, 3.1], param.data, atol: 1e-5, rtol: 0)
    #expect(ten.ok, "\(ten)")
    #expect(opt.step == 10)
}

@Test func noDecayExemptsChosenParameters() {
    // Two identical parameters with identical gradients; only index 0 is decayed.
    let hyper = AdamW.Hyper(weightDecay: 0.5)
    let p0: [Float] = [2.0, -4.0]
    let g: [Float] = [0.5, 0.5]
    let decayed = Tensor(shape: [2], data: p0, requiresGrad: true)
    let exempt = Tensor(shape: [2], data: p0, requiresGrad: true)
    decayed.grad = g
    exempt.grad = g
    let opt = AdamW(parameters: [decayed, exempt], hyper: hyper, noDecay: [1])
    opt.update(lr: 0.1)

    // Decayed: 2.0·(1 − 0.1·0.5) = 1.9, −4.0·0.95 = −3.8, then −0.1 each → 1.8, −3.9.
    // Exempt:  2.0 − 0.1 = 1.9, −4.0 − 0.1 = −4.1.
    let rd = compareClose("decayed", [1.8, -3.9], decayed.data, atol: 1e-6, rtol: 1e-6)
    let re = compareClose("exempt", [1.9, -4.1], exempt.data, atol: 1e-6, rtol: 1e-6)
    #expect(rd.ok, "\(rd)")
    #expect(re.ok, "\(re)")

    var refExempt = ReferenceAdamW(p: p0, hyper: AdamW.Hyper(weightDecay: 0))
    refExempt.step(grad: g, lr: 0.1)
    let rr = compareClose("exempt vs reference with λ = 0", floats(refExempt.p), exempt.data, atol: 1e-7, rtol: 1e-6)
    #expect(rr.ok, "\(rr)")
}

@Test func parametersWithoutGradientAreUntouched() {
    let hyper = AdamW.Hyper(weightDecay: 0.1)
    let withGrad = Tensor(shape: [2], data: [1.0, -1.0], requiresGrad: true)
    let frozen = Tensor(shape: [3], data: [0.25, -3.5, 7.0], requiresGrad: true)
    let before = frozen.data
    withGrad.grad = [0.1, 0.1]
    frozen.grad = nil
    let opt = AdamW(parameters: [withGrad, frozen], hyper: hyper)
    for _ in 0..<3 { opt.update(lr: 0.1) }

    // Bit-identical: not decayed, not moved, and its moments never written.
    #expect(frozen.data.map(\.bitPattern) == before.map(\.bitPattern))
    #expect(opt.m[1] == [0, 0, 0])
    #expect(opt.v[1] == [0, 0, 0])
    #expect(frozen.grad == nil)
    // The other parameter did take three steps.
    var ref = ReferenceAdamW(p: [1.0, -1.0], hyper: hyper)
    for _ in 0..<3 { ref.step(grad: [0.1, 0.1], lr: 0.1) }
    let r = compareClose("parameter with gradient", floats(ref.p), withGrad.data, atol: 1e-6, rtol: 1e-5)
    #expect(r.ok, "\(r)")
    #expect(opt.step == 3)
}

@Test func updateDoesNotTouchGradients() {
    let param = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
    param.grad = [0.5, -0.5]
    let opt = AdamW(parameters: [param])
    opt.update(lr: 1e-3)
    #expect(param.grad == [0.5, -0.5])
    #expect(opt.m.count == 1 && opt.m[0].count == 2 && opt.v[0].count == 2)
}

/// The eight-lane loop (parameters of 8 or more elements) against the scalar loop
/// (one-element parameters holding the same values): identical numbers, over 3 steps.
@Test func vectorLoopEqualsScalarLoop() {
    var rng = Xoshiro256StarStar(seed: 11)
    let n = 19  // two vector chunks and a tail of 3
    let hyper = AdamW.Hyper(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)
    let p0 = (0..<n).map { _ in rng.nextNormal() }
    let whole = Tensor(shape: [n], data: p0, requiresGrad: true)
    let singles = p0.map { Tensor(shape: [1], data: [$0], requiresGrad: true) }
    let vectorOpt = AdamW(parameters: [whole], hyper: hyper)
    let scalarOpt = AdamW(parameters: singles, hyper: hyper)
    for _ in 0..<3 {
        let g = (0..<n).map { _ in rng.nextNormal() }
        whole.grad = g
        for (i, s) in singles.enumerated() { s.grad = [g[i]] }
        vectorOpt.update(lr: 0.01)
        scalarOpt.update(lr: 0.01)
    }
    let same = whole.data == singles.map { $0.data[0] } && vectorOpt.m[0] == scalarOpt.m.map { $0[0] }
        && vectorOpt.v[0] == scalarOpt.v.map { $0[0] }
    #expect(same, "AdamW's vector loop differs from its scalar loop")
}
