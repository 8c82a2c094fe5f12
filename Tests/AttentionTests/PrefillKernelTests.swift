// Prefill through the tiled kernel at lengths that cross its query blocks of t / 8 rows, with
// heads shared out over threads (enough work to pass SoftmaxKernel.parallelMinimumWork):
// prefill then decode equals the training forward, for every softmax-family mechanism
// and both MLA paths, with windows narrower and wider than a block; and the FLOPs issued
// on the workers' threads are all counted.

@testable import Attention
import Testing
import TensorCore
import TestSupport

@Suite("Prefill kernel: large blocks, threads over heads")
struct PrefillKernelTests {
    @Test(arguments: [(Variant.mha, 0, MLAPath.absorbed), (.gqa, 0, .absorbed), (.mqa, 0, .absorbed), (.swa, 100, .absorbed),
                      (.swa, 300, .absorbed), (.mla, 0, .naive), (.mla, 0, .absorbed)])
    func prefillAcrossBlocksEqualsForward(_ c: (Variant, Int, MLAPath)) throws {
        let (v, window, path) = c
        var config = tiny
        config.hiddenSize = 32
        config.numHeads = 8
        config.slidingWindow = window > 0 ? window : nil
        var rng = Xoshiro256StarStar(seed: 90)
        let m = try v.make(config: config, rng: &rng)
        if let mla = m as? MultiHeadLatentAttention { mla.path = path }
        let t = 1100, prompt = 1050  // blocks of 1050 / 8 = 131 rows
        #expect(prompt / 8 > SoftmaxKernel.minQueryBlock && prompt % (prompt / 8) != 0)
        #expect(Double(prompt * prompt * 8) >= SoftmaxKernel.parallelMinimumWork)
        let x = randomX(1, t, config.hiddenSize, seed: 91)
        let expected = Autograd.inference { m.forward(x) }
        let (stepped, _) = prefillThenDecode(m, x, prompt: prompt)
        let r = compareClose("\(v) w\(window) \(path) prefill \(prompt) + decode to \(t)", expected.data, stepped.data, atol: 1e-5, rtol: 1e-4)
        #expect(r.ok, "\(r)")
    }

    @Test func flopsOnWorkerThreadsAreCounted() throws {
        var config = tiny
        config.hiddenSize = 32
        config.numHeads = 8
        config.slidingWindow = nil
        var rng = Xoshiro256StarStar(seed: 92)
        let m = try Variant.mha.make(config: config, rng: &rng)
        let t = 1100
        let counter = BLAS.FLOPCounter()
        BLAS.$flopCounter.withValue(counter) { _ = m.prefill(randomX(1, t, config.hiddenSize, seed: 93), cache: m.makeCache(batch: 1, capacity: t)) }
        let analytic = m.prefillFLOPs(tokens: t)
        #expect(counter.flops >= analytic && counter.flops <= 1.2 * analytic, "prefill \(t): issued \(counter.flops), analytic \(analytic)")
    }
}
