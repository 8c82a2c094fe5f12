// RMSNorm's eight-lane row loops against plain loops in Double, outputs and gradients
// (random upstream gradient), at widths that exercise the vector body and the tail.

import Testing
import TensorCore
import TestSupport

@Suite("RMSNorm against plain loops")
struct RMSNormTests {
    @Test(arguments: [1, 7, 13, 128])
    func matchesPlainLoops(C: Int) {
        var rng = Xoshiro256StarStar(seed: 100 + UInt64(C))
        let rows = 5, eps: Float = 1e-6
        let x = Tensor.randn([rows, C], rng: &rng, requiresGrad: true)
        let w = Tensor.randn([C], rng: &rng, requiresGrad: true)
        let upstream = Tensor.randn([rows, C], rng: &rng)
        let y = Tensor.rmsNorm(x, weight: w, eps: eps)
        (y * upstream).sum().backward()

        // y = x·r·w, r = (mean x² + ε)^(−1/2); dw = Σ g·x·r; dx = r·(g·w − x·r·mean(g·w·x·r)).
        var yRef = [Float](), gxRef = [Float](), gwRef = [Double](repeating: 0, count: C)
        for i in 0..<rows {
            let xr = (0..<C).map { Double(x.data[i * C + $0]) }, g = (0..<C).map { Double(upstream.data[i * C + $0]) }
            let r = 1 / (xr.map { $0 * $0 }.reduce(0, +) / Double(C) + Double(eps)).squareRoot()
            var dot = 0.0
            for j in 0..<C {
                yRef.append(Float(xr[j] * r * Double(w.data[j])))
                gwRef[j] += g[j] * xr[j] * r
                dot += g[j] * Double(w.data[j]) * xr[j] * r
            }
            for j in 0..<C { gxRef.append(Float(r * (g[j] * Double(w.data[j]) - xr[j] * r * dot / Double(C)))) }
        }
        for c in [compareClose("C\(C) y", yRef, y.data), compareClose("C\(C) dx", gxRef, x.grad!),
                  compareClose("C\(C) dw", gwRef.map { Float($0) }, w.grad!)] {
            #expect(c.ok, "\(c)")
        }
    }
}
