// The fused feature map φ(x) = elu(x) + 1 against the composition elu() + 1 it replaces:
// outputs and gradients with a random upstream gradient, on both sides of 0, far into
// the tails, at lengths that leave every remainder of the eight-lane loop; finite differences.

import Testing
import TensorCore
import TestSupport

@Suite("Fused elu(x) + 1")
struct EluPlusOneTests {
    @Test(arguments: [1, 7, 8, 9, 17, 100])
    func matchesComposition(n: Int) {
        var rng = Xoshiro256StarStar(seed: 300 + UInt64(n))
        // Normal values scaled ×4, and a few fixed points: 0, ±1e−8, deep negative (e^x → 0).
        let special: [Float] = [0, 1e-8, -1e-8, -30, -90, 3]
        let values = (0..<n).map { i in i < special.count && n > 8 ? special[i] : 4 * rng.nextNormal() }
        let x = Tensor(shape: [n], data: values, requiresGrad: true)
        let upstream = Tensor.randn([n], rng: &rng)
        func run(_ f: (Tensor) -> Tensor) -> [[Float]] {
            x.zeroGrad()
            let y = f(x)
            (y * upstream).sum().backward()
            return [y.data, x.grad!]
        }
        let composed = run { $0.elu() + 1 }
        let fused = run { $0.eluPlusOne() }
        for (name, i) in [("y", 0), ("dx", 1)] {
            let r = compareClose("n\(n) \(name)", composed[i], fused[i])
            #expect(r.ok, "\(r)")
        }
    }

    @Test func nanStaysNaN() {
        let y = Tensor(shape: [9], data: [.nan, 1, -1, .nan, 0, 2, -2, 3, .nan]).eluPlusOne()
        #expect(y.data[0].isNaN && y.data[3].isNaN && y.data[8].isNaN)
        #expect(y.data[1] == 2 && y.data[4] == 1)
    }

    @Test func finiteDifferenceGradient() {
        var rng = Xoshiro256StarStar(seed: 310)
        let x = Tensor.randn([3, 11], rng: &rng, requiresGrad: true)
        let r = gradCheck("eluPlusOne", inputs: [x]) { $0[0].eluPlusOne() }
        #expect(r.ok, "\(r)")
    }
}
