// Every differentiable op against central finite differences, on odd sequence
// lengths T = 1, 7, 63 (shapes [B, T, ...] as the ops see them in a model).

import Testing
import TensorCore
import TestSupport

private let lengths = [1, 7, 63]

private func expectGrad(_ r: GradCheckResult) {
    #expect(r.ok, "\(r)")
}

@Suite("Gradient checks")
struct GradientCheckTests {
    @Test(arguments: lengths)
    func matmulAllTransposes(T: Int) {
        var rng = Xoshiro256StarStar(seed: UInt64(T))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            // op(A): [T, 5], op(B): [5, 3]
            let a = randomInput(ta ? [5, T] : [T, 5], rng: &rng)
            let b = randomInput(tb ? [3, 5] : [5, 3], rng: &rng)
            expectGrad(gradCheck("matmul tA=\(ta) tB=\(tb) T\(T)", inputs: [a, b]) {
                .matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
            })
        }
    }

    @Test(arguments: lengths)
    func batchedMatmul(T: Int) {
        var rng = Xoshiro256StarStar(seed: 10 + UInt64(T))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            // [B=2, H=3] batches of op(A) [T, 4] · op(B) [4, T]: the score product's shape.
            let a = randomInput(ta ? [2, 3, 4, T] : [2, 3, T, 4], rng: &rng)
            let b = randomInput(tb ? [2, 3, T, 4] : [2, 3, 4, T], rng: &rng)
            expectGrad(gradCheck("bmm tA=\(ta) tB=\(tb) T\(T)", inputs: [a, b]) {
                .matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
            })
        }
    }

    @Test(arguments: lengths)
    func sharedWeightMatmul(T: Int) {
        // x [B, T, C] · Wᵀ with W [out, in]: the Linear layer; W's gradient sums over B·T.
        var rng = Xoshiro256StarStar(seed: 20 + UInt64(T))
        let x = randomInput([2, T, 6], rng: &rng)
        let w = randomInput([4, 6], rng: &rng)
        expectGrad(gradCheck("linear T\(T)", inputs: [x, w]) { .matmul($0[0], $0[1], transposeB: true) })
        let x2 = randomInput([2, 6, T], rng: &rng)
        expectGrad(gradCheck("shared-B transposed-A T\(T)", inputs: [x2, w]) { .matmul($0[0], $0[1], transposeA: true, transposeB: true) })
    }

    @Test(arguments: lengths)
    func broadcastingArithmetic(T: Int) {
        var rng = Xoshiro256StarStar(seed: 30 + UInt64(T))
        // Same shape, trailing-vector (bias), a middle singleton, and a scalar operand.
        let shapes: [([Int], [Int])] = [([2, T, 3], [2, T, 3]), ([2, T, 3], [3]), ([2, T, 3], [2, 1, 3]),
                                        ([2, 1, 3], [1, T, 1]), ([2, T, 3], []), ([2, T, 3], [2, T, 1]), ([2, T, 3], [T, 3])]
        for (sa, sb) in shapes {
            let a = randomInput(sa, rng: &rng)
            let b = randomInput(sb, rng: &rng)
            let bPos = positiveInput(sb, rng: &rng)
            expectGrad(gradCheck("add \(sa) \(sb)", inputs: [a, b]) { $0[0] + $0[1] })
            expectGrad(gradCheck("sub \(sa) \(sb)", inputs: [a, b]) { $0[0] - $0[1] })
            expectGrad(gradCheck("mul \(sa) \(sb)", inputs: [a, b]) { $0[0] * $0[1] })
            expectGrad(gradCheck("div \(sa) \(sb)", inputs: [a, bPos]) { $0[0] / $0[1] })
        }
        let a = randomInput([2, T, 3], rng: &rng)
        expectGrad(gradCheck("affine T\(T)", inputs: [a]) { 3 * $0[0] - 0.5 })
    }

    @Test(arguments: lengths)
    func reductions(T: Int) {
        var rng = Xoshiro256StarStar(seed: 40 + UInt64(T))
        let x = randomInput([2, T, 3], rng: &rng)
        for axis in [0, 1, 2, -1] {
            expectGrad(gradCheck("sum axis \(axis)", inputs: [x]) { $0[0].sum(axis: axis) })
            expectGrad(gradCheck("mean axis \(axis) keepDims", inputs: [x]) { $0[0].mean(axis: axis, keepDims: true) })
        }
        expectGrad(gradCheck("sum all", inputs: [x]) { $0[0].sum() })
        expectGrad(gradCheck("mean all", inputs: [x]) { $0[0].mean() })
    }

    @Test(arguments: lengths)
    func shapeOps(T: Int) {
        var rng = Xoshiro256StarStar(seed: 50 + UInt64(T))
        let x = randomInput([2, T, 3, 4], rng: &rng)  // [B, T, H, D]
        let y = randomInput([2, T, 2, 4], rng: &rng)
        expectGrad(gradCheck("reshape", inputs: [x]) { $0[0].reshaped([2, T, 12]) })
        expectGrad(gradCheck("permute BTHD→BHTD", inputs: [x]) { $0[0].permuted([0, 2, 1, 3]) })
        expectGrad(gradCheck("permute 3120", inputs: [x]) { $0[0].permuted([3, 1, 2, 0]) })
        expectGrad(gradCheck("transpose", inputs: [x]) { $0[0].transposed(-1, -2) })
        expectGrad(gradCheck("slice T", inputs: [x]) { $0[0].slice(axis: 1, (T / 2)..<T) })
        expectGrad(gradCheck("slice D", inputs: [x]) { $0[0].slice(axis: 3, 1..<3) })
        expectGrad(gradCheck("concat H", inputs: [x, y]) { .concat([$0[0], $0[1]], axis: 2) })
        expectGrad(gradCheck("split D", inputs: [x]) {
            let parts = $0[0].split(axis: 3, sizes: [1, 3])
            return parts[0] * parts[1].sum(axis: 3, keepDims: true)
        })
    }

    @Test(arguments: lengths)
    func elementwiseFunctions(T: Int) {
        var rng = Xoshiro256StarStar(seed: 60 + UInt64(T))
        let x = randomInput([2, T, 3], rng: &rng)
        let pos = positiveInput([2, T, 3], rng: &rng)
        // relu has a kink at 0: keep its inputs away from it.
        let away = randomInput([2, T, 3], rng: &rng)
        for i in 0..<away.count { away.data[i] += away.data[i] >= 0 ? 0.1 : -0.1 }
        expectGrad(gradCheck("exp", inputs: [x]) { $0[0].exp() })
        expectGrad(gradCheck("log", inputs: [pos]) { $0[0].log() })
        expectGrad(gradCheck("sqrt", inputs: [pos]) { $0[0].sqrt() })
        expectGrad(gradCheck("rsqrt", inputs: [pos]) { $0[0].rsqrt() })
        expectGrad(gradCheck("square", inputs: [x]) { $0[0].square() })
        expectGrad(gradCheck("relu", inputs: [away]) { $0[0].relu() })
        expectGrad(gradCheck("elu", inputs: [x]) { $0[0].elu() })
        expectGrad(gradCheck("silu", inputs: [x]) { $0[0].silu() })
        expectGrad(gradCheck("gelu", inputs: [x]) { $0[0].gelu() })
    }

    @Test(arguments: lengths)
    func softmaxWithCausalMask(T: Int) {
        var rng = Xoshiro256StarStar(seed: 70 + UInt64(T))
        let scores = randomInput([2, 3, T, T], rng: &rng)  // [B, H, T, T]
        let mask = Tensor.causalMask(T)
        expectGrad(gradCheck("softmax", inputs: [scores]) { $0[0].softmax() })
        expectGrad(gradCheck("softmax causal", inputs: [scores]) { $0[0].softmax(mask: mask) })
        expectGrad(gradCheck("logSoftmax", inputs: [scores]) { $0[0].logSoftmax() })
    }

    @Test(arguments: lengths)
    func crossEntropyWeightedWithIgnore(T: Int) {
        var rng = Xoshiro256StarStar(seed: 80 + UInt64(T))
        let v = 11
        let logits = randomInput([2 * T, v], rng: &rng)
        var targets = (0..<(2 * T)).map { _ in rng.nextInt(below: v) }
        targets[0] = -100  // ignored
        let weights = (0..<(2 * T)).map { _ in rng.nextFloat() + 0.1 }
        expectGrad(gradCheck("crossEntropy", inputs: [logits]) { .crossEntropy(logits: $0[0], targets: targets) })
        expectGrad(gradCheck("crossEntropy weighted", inputs: [logits]) {
            .crossEntropy(logits: $0[0], targets: targets, weights: weights)
        })
    }

    @Test(arguments: lengths)
    func rmsNorm(T: Int) {
        var rng = Xoshiro256StarStar(seed: 90 + UInt64(T))
        let x = randomInput([2, T, 8], rng: &rng)
        let w = randomInput([8], offset: 1, rng: &rng)
        expectGrad(gradCheck("rmsNorm", inputs: [x, w]) { .rmsNorm($0[0], weight: $0[1]) })
    }

    @Test(arguments: lengths)
    func embedding(T: Int) {
        var rng = Xoshiro256StarStar(seed: 100 + UInt64(T))
        let table = randomInput([5, 4], rng: &rng)
        // Repeated ids make the scatter-add accumulate.
        let ids = (0..<(2 * T)).map { _ in rng.nextInt(below: 5) }
        expectGrad(gradCheck("embedding", inputs: [table]) { .embedding($0[0], ids: ids, idsShape: [2, T]) })
    }

    @Test(arguments: lengths)
    func rope(T: Int) {
        var rng = Xoshiro256StarStar(seed: 110 + UInt64(T))
        let x = randomInput([2, T, 3, 8], rng: &rng)
        for pairing in RoPEPairing.allCases {
            expectGrad(gradCheck("rope \(pairing) offset 5", inputs: [x]) {
                $0[0].rope(positionOffset: 5, base: 10000, pairing: pairing)
            })
        }
    }

    @Test(arguments: lengths)
    func cumsum(T: Int) {
        var rng = Xoshiro256StarStar(seed: 120 + UInt64(T))
        let x = randomInput([2, T, 3], rng: &rng)
        expectGrad(gradCheck("cumsum T", inputs: [x]) { $0[0].cumsum(axis: 1) })
        expectGrad(gradCheck("cumsum last", inputs: [x]) { $0[0].cumsum(axis: -1) })
    }

    @Test func gradCheckDetectsAWrongGradient() {
        // The checker itself must fail on a wrong derivative: d/dx relu claimed for x² is wrong.
        var rng = Xoshiro256StarStar(seed: 1)
        let x = randomInput([7], offset: 2, rng: &rng)
        let r = gradCheck("wrong", inputs: [x]) { $0[0].unaryForTesting("wrongSquare", { $0 * $0 }, derivative: { x, _ in x }) }
        #expect(!r.ok, "the checker accepted a wrong derivative: \(r)")
    }
}
