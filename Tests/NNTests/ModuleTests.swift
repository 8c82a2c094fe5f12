// Modules' parameter collections (names, shapes, counts), Linear's forward against plain
// loops, and its PyTorch-style initialisation: bound, determinism under a seed.

import Testing
import NN
import TensorCore
import TestSupport

/// y[r, o] = Σ_i x[r, i] · W[o, i] + b[o], with x flattened to rows of `inF`.
private func linearByLoops(x: [Float], weight: [Float], bias: [Float]?, inF: Int, outF: Int) -> [Float] {
    let rows = x.count / inF
    var y = [Float](repeating: 0, count: rows * outF)  // [rows, out]
    for r in 0..<rows {
        for o in 0..<outF {
            var acc = Double(bias?[o] ?? 0)
            for i in 0..<inF { acc += Double(x[r * inF + i]) * Double(weight[o * inF + i]) }
            y[r * outF + o] = Float(acc)
        }
    }
    return y
}

// MARK: - Parameter collections

@Test func linearNamesShapesAndCount() {
    var rng = Xoshiro256StarStar(seed: 1)
    let withBias = Linear(inFeatures: 3, outFeatures: 5, bias: true, rng: &rng)
    #expect(withBias.namedParameters.map(\.name) == ["weight", "bias"])
    #expect(withBias.namedParameters.map(\.tensor.shape) == [[5, 3], [5]])  // [out, in], [out]
    #expect(withBias.parameterCount == 5 * 3 + 5)
    #expect(withBias.inFeatures == 3 && withBias.outFeatures == 5)
    #expect(withBias.parameters.allSatisfy { $0.requiresGrad })
    #expect(withBias.parameters[0] === withBias.weight && withBias.parameters[1] === withBias.bias)

    let noBias = Linear(inFeatures: 4, outFeatures: 2, rng: &rng)  // bias defaults to off
    #expect(noBias.namedParameters.map(\.name) == ["weight"])
    #expect(noBias.weight.shape == [2, 4])
    #expect(noBias.bias == nil)
    #expect(noBias.parameterCount == 8)
}

@Test func swiGLUNamesShapesAndCount() {
    var rng = Xoshiro256StarStar(seed: 2)
    let mlp = SwiGLU(dim: 4, hidden: 6, rng: &rng)
    #expect(mlp.namedParameters.map(\.name) == ["gate_proj.weight", "up_proj.weight", "down_proj.weight"])
    #expect(mlp.namedParameters.map(\.tensor.shape) == [[6, 4], [6, 4], [4, 6]])
    #expect(mlp.parameterCount == 6 * 4 + 6 * 4 + 4 * 6)  // 72
    #expect(mlp.parameters[0] === mlp.gateProj.weight)
    #expect(mlp.parameters[1] === mlp.upProj.weight)
    #expect(mlp.parameters[2] === mlp.downProj.weight)
}

@Test func otherModulesAndPrefixing() {
    var rng = Xoshiro256StarStar(seed: 3)
    let norm = RMSNorm(dim: 7)
    #expect(norm.namedParameters.map(\.name) == ["weight"])
    #expect(norm.weight.data == [Float](repeating: 1, count: 7))
    #expect(norm.parameterCount == 7)

    let emb = Embedding(vocab: 10, dim: 3, rng: &rng)
    #expect(emb.namedParameters.map(\.name) == ["weight"])
    #expect(emb.weight.shape == [10, 3])
    #expect(emb.parameterCount == 30)

    let mlp = SwiGLU(dim: 2, hidden: 3, rng: &rng)
    #expect(prefixed("mlp", mlp).map(\.name) == ["mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"])
}

@Test func zeroGradClearsEveryParameter() {
    var rng = Xoshiro256StarStar(seed: 4)
    let mlp = SwiGLU(dim: 2, hidden: 3, rng: &rng)
    for p in mlp.parameters { p.grad = [Float](repeating: 1, count: p.count) }
    mlp.zeroGrad()
    #expect(mlp.parameters.allSatisfy { $0.grad == nil })
}

// MARK: - Forward

@Test func linearForwardMatchesLoopsOnHandExample() {
    // W = [[1, 2, 3], [−1, 0, 0.5]] ([out 2, in 3]), b = [0.5, −1], x = [[1, 1, 1], [2, −1, 4]]
    //   row 0: 1+2+3+0.5 = 6.5,        −1+0+0.5−1 = −1.5
    //   row 1: 2−2+12+0.5 = 12.5,      −2+0+2−1 = −1
    let w = Tensor(shape: [2, 3], data: [1, 2, 3, -1, 0, 0.5])
    let b = Tensor(shape: [2], data: [0.5, -1])
    let x = Tensor(shape: [2, 3], data: [1, 1, 1, 2, -1, 4])
    let y = Linear(weight: w, bias: b)(x)
    #expect(y.shape == [2, 2])
    let r = compareClose("y", [6.5, -1.5, 12.5, -1], y.data, atol: 1e-6, rtol: 1e-6)
    #expect(r.ok, "\(r)")
    let rl = compareClose("y vs loops", linearByLoops(x: x.data, weight: w.data, bias: b.data, inF: 3, outF: 2),
                          y.data, atol: 1e-6, rtol: 1e-6)
    #expect(rl.ok, "\(rl)")

    // Without bias: row 0 = 6, −0.5
    let y0 = Linear(weight: w)(x)
    let r0 = compareClose("y no bias", [6, -0.5, 12, 0], y0.data, atol: 1e-6, rtol: 1e-6)
    #expect(r0.ok, "\(r0)")
}

@Test(arguments: [(batch: [1], inF: 1, outF: 1), (batch: [2, 7], inF: 5, outF: 3), (batch: [3], inF: 16, outF: 9)])
func linearForwardMatchesLoopsRandom(batch: [Int], inF: Int, outF: Int) {
    // x: [..., in] → [..., out], random weights and inputs.
    for hasBias in [false, true] {
        var rng = Xoshiro256StarStar(seed: UInt64(inF * 100 + outF))
        let layer = Linear(inFeatures: inF, outFeatures: outF, bias: hasBias, rng: &rng)
        let x = Tensor.randn(batch + [inF], rng: &rng)
        let y = layer(x)
        #expect(y.shape == batch + [outF])
        let expected = linearByLoops(x: x.data, weight: layer.weight.data, bias: layer.bias?.data, inF: inF, outF: outF)
        let r = compareClose("B\(batch)-in\(inF)-out\(outF)-bias\(hasBias)", expected, y.data, atol: 1e-5, rtol: 1e-5)
        #expect(r.ok, "\(r)")
    }
}

// MARK: - Initialisation

@Test(arguments: [1, 3, 16, 100, 1024])
func initRespectsPyTorchBound(inF: Int) {
    // U(−1/√in, 1/√in) for weight and bias.
    let bound = 1 / Float(inF).squareRoot()
    var rng = Xoshiro256StarStar(seed: UInt64(inF))
    let layer = Linear(inFeatures: inF, outFeatures: 256, bias: true, rng: &rng)
    for (name, t) in layer.namedParameters {
        let lo = t.data.min()!, hi = t.data.max()!
        #expect(lo >= -bound && hi <= bound, "\(name) in [\(lo), \(hi)], bound \(bound)")
        // The whole interval is used, not a narrower one: with n ≥ 256 draws,
        // P(max < 0.9·bound) = 0.95ⁿ ≤ 2e-6, and likewise for the min.
        #expect(hi > 0.9 * bound && lo < -0.9 * bound, "\(name) in [\(lo), \(hi)], bound \(bound)")
        // Mean 0 and variance bound²/3. sd of the mean is bound/√(3n); the relative sd of
        // the variance is √(0.8/n) ≤ 0.056. Tolerances are ~6 sd; bound 1/in instead of
        // 1/√in (variance ratio 1/in) or a doubled bound (ratio 4) fail.
        let n = Double(t.count), b = Double(bound)
        let mean = t.data.reduce(0.0) { $0 + Double($1) } / n
        let variance = t.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        #expect(abs(mean) < 6 * b / (3 * n).squareRoot(), "\(name) mean \(mean)")
        #expect(abs(variance / (b * b / 3) - 1) < 0.35, "\(name) variance \(variance) vs \(b * b / 3)")
    }
}

@Test func sameSeedSameWeightsDifferentSeedDifferentWeights() {
    func make(_ seed: UInt64) -> SwiGLU {
        var rng = Xoshiro256StarStar(seed: seed)
        return SwiGLU(dim: 8, hidden: 12, rng: &rng)
    }
    let a = make(17), b = make(17), c = make(18)
    for ((name, pa), (pb, pc)) in zip(a.namedParameters, zip(b.parameters, c.parameters)) {
        #expect(pa.data.map(\.bitPattern) == pb.data.map(\.bitPattern), "\(name) differs under the same seed")
        #expect(pa.data != pc.data, "\(name) identical under different seeds")
    }

    var r1 = Xoshiro256StarStar(seed: 5), r2 = Xoshiro256StarStar(seed: 5)
    let l1 = Linear(inFeatures: 6, outFeatures: 4, bias: true, rng: &r1)
    let l2 = Linear(inFeatures: 6, outFeatures: 4, bias: true, rng: &r2)
    #expect(l1.weight.data.map(\.bitPattern) == l2.weight.data.map(\.bitPattern))
    #expect(l1.bias!.data.map(\.bitPattern) == l2.bias!.data.map(\.bitPattern))
    #expect(Set(l1.weight.data).count == l1.weight.count)  // distinct draws, not one value repeated
    // Both generators consumed the same number of draws.
    #expect(r1 == r2)
}
