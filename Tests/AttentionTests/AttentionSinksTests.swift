// Attention sinks (StreamingLLM, Xiao et al. 2023: the first s tokens stay visible beyond
// the window) in the softmax core: the training op against the plain-loop reference that
// states the same rule (outputs and every gradient), and the inference paths (the cache's
// sink store beside its ring, both prefill kernels, decode over three segments) against
// the training forward, at a head size that takes the BLAS path (D 4) and one that takes
// the fused kernel (D 16). No registered mechanism sets sinks; this suite builds the layer.

@testable import Attention
import AttentionReference
import Testing
import TensorCore
import TestSupport

@Suite("Attention sinks")
struct AttentionSinksTests {
    private func layer(window: Int, sinks: Int, seed: UInt64, headDim: Int = 4) -> SoftmaxAttention {
        var config = AttentionConfig(hiddenSize: 4 * headDim, numHeads: 4, numKVHeads: 2, headDim: headDim, slidingWindow: window)
        config.attentionSinks = sinks
        var rng = Xoshiro256StarStar(seed: seed)
        return SoftmaxAttention(variant: .swa, config: config, rng: &rng)
    }

    @Test(arguments: [(3, 2), (1, 1), (4, 6), (20, 2)])
    func forwardAndGradientsMatchTheReference(_ windowAndSinks: (Int, Int)) throws {
        let (w, s) = windowAndSinks
        let m = layer(window: w, sinks: s, seed: 31)
        let b = 2, t = 11
        var rng = Xoshiro256StarStar(seed: 32)
        let x = randomInput([b, t, 16], rng: &rng)
        let upstream = Tensor.randn([b, t, 16], rng: &rng)
        let ref = m.config.reference
        let weights = referenceWeights(m)
        let expected = ReferenceAttention.softmaxFamily(x: x.data.map(Double.init), batch: b, length: t, config: ref, weights: weights)
        for p in m.parameters { p.zeroGrad() }
        x.zeroGrad()
        let y = m.forward(x)
        (y * upstream).sum().backward()
        let r = compareClose("w \(w) s \(s) forward", expected.map(Float.init), y.data, atol: 1e-5, rtol: 1e-4)
        #expect(r.ok, "\(r)")
        // The input gradient against central differences of the reference's Σ y·R, in Double.
        let xs = x.data.map(Double.init), up = upstream.data.map(Double.init)
        func objective(_ input: [Double]) -> Double {
            zip(ReferenceAttention.softmaxFamily(x: input, batch: b, length: t, config: ref, weights: weights), up).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var numeric = [Float](repeating: 0, count: xs.count)
        for i in xs.indices {
            var plus = xs, minus = xs
            plus[i] += 1e-4; minus[i] -= 1e-4
            numeric[i] = Float((objective(plus) - objective(minus)) / 2e-4)
        }
        let rg = compareClose("w \(w) s \(s) dx", numeric, x.grad!, atol: 1e-4, rtol: 1e-3)
        #expect(rg.ok, "\(rg)")
    }

    @Test func sinksInsideTheWindowChangeNothing() {
        // With the window reaching back to the sinks for every query, s changes nothing.
        let plain = layer(window: 12, sinks: 0, seed: 33), sunk = layer(window: 12, sinks: 3, seed: 33)
        var rng = Xoshiro256StarStar(seed: 34)
        let x = randomInput([1, 12, 16], rng: &rng)
        #expect(Autograd.inference { plain.forward(x) }.data == Autograd.inference { sunk.forward(x) }.data)
    }

    /// Window and sinks at D 4 (BLAS prefill) and D 16 (fused prefill): a prompt, then
    /// decoding past the ring's wrap several times, equals the training forward; so does a
    /// prefill in uneven chunks, which hands the kernel the stored sinks and the ring's
    /// entries as one set of rows.
    @Test(arguments: [(3, 2, 4), (5, 1, 4), (4, 6, 4), (7, 3, 16), (20, 4, 16), (2, 9, 16)])
    func inferenceEqualsTheTrainingForward(_ shape: (Int, Int, Int)) throws {
        let (w, s, d) = shape
        let m = layer(window: w, sinks: s, seed: 41, headDim: d)
        let t = 40
        let x = randomX(2, t, m.config.hiddenSize, seed: 42)
        let full = Autograd.inference { m.forward(x) }
        for prompt in [1, s, w + s + 3, 33] where prompt >= 1 {
            let (stepped, cache) = prefillThenDecode(m, x, prompt: prompt)
            #expect(cache.length == t)
            let err = relativeError(stepped.data, full.data)
            #expect(err <= 1e-4, "w \(w) s \(s) D \(d) prompt \(prompt): relative error \(err)")
        }
        let cache = m.makeCache(batch: 2, capacity: t)
        let parts = [0..<(s + 1), (s + 1)..<(s + 2), (s + 2)..<(w + s + 5), (w + s + 5)..<t].map { m.step(x.slice(axis: 1, $0), cache: cache) }
        let err = relativeError(Tensor.concat(parts, axis: 1).data, full.data)
        #expect(err <= 1e-4, "w \(w) s \(s) D \(d) chunked: relative error \(err)")
    }

    /// The sinks change the outputs once the window has moved past them (the test above
    /// can fail), and the cache holds exactly the s + w positions the mask can still show.
    @Test func sinksMatterAndTheCacheStopsAtWindowPlusSinks() throws {
        let plain = layer(window: 5, sinks: 0, seed: 43), sunk = layer(window: 5, sinks: 3, seed: 43)
        let x = randomX(1, 30, plain.config.hiddenSize, seed: 44)
        let a = Autograd.inference { plain.forward(x) }, b = Autograd.inference { sunk.forward(x) }
        let late = (8 * 16)..<(30 * 16)
        #expect(relativeError(Array(a.data[late]), Array(b.data[late])) > 1e-3)
        let (_, cache) = prefillThenDecode(sunk, x, prompt: 4)
        #expect(cache.bytes == (5 + 3) * sunk.kvElementsPerToken * 4)
        #expect(sunk.cacheElements(context: 30) == (5 + 3) * sunk.kvElementsPerToken)
        #expect(sunk.cacheElements(context: 6) == 6 * sunk.kvElementsPerToken)
    }

    /// The FLOP formulas count the visible pairs: against a count of the mask's visible
    /// (query, key) pairs, and against the products a decode step issues.
    @Test(arguments: [(4, 3), (1, 1), (10, 2), (3, 50)])
    func flopFormulasCountTheSinks(_ windowAndSinks: (Int, Int)) throws {
        let (w, s) = windowAndSinks
        let m = layer(window: w, sinks: s, seed: 45)
        let mask = m.config.attentionMask
        let perPair = 4 * Double(m.config.numHeads * m.config.headDim)
        for n in [1, 3, 7, 20, 64] {
            let pairs = (0..<n).reduce(0) { acc, p in acc + (0...p).filter { mask.isVisible(key: $0, query: p) }.count }
            #expect(m.attentionFLOPs(tokens: n) == perPair * Double(pairs), "w \(w) s \(s) n \(n)")
            let cache = m.makeCache(batch: 1, capacity: n + 1)
            var rng = Xoshiro256StarStar(seed: 46)
            cache.synthesize(tokens: n, rng: &rng)
            let counter = BLAS.FLOPCounter()
            BLAS.$flopCounter.withValue(counter) { _ = m.decode(randomX(1, 1, m.config.hiddenSize, seed: 47), cache: cache) }
            #expect(counter.flops == m.decodeFLOPs(context: n), "w \(w) s \(s) decode at \(n)")
        }
        // A long prefill issues the visible pairs and not much more: the sinks are scored
        // apart from the window, not with the gap between them.
        let counter = BLAS.FLOPCounter()
        BLAS.$flopCounter.withValue(counter) {
            _ = m.prefill(randomX(1, 150, m.config.hiddenSize, seed: 48), cache: m.makeCache(batch: 1, capacity: 150))
        }
        let analytic = m.prefillFLOPs(tokens: 150)
        #expect(counter.flops >= analytic && counter.flops <= 1.5 * analytic, "w \(w) s \(s) prefill 150: issued \(counter.flops), analytic \(analytic)")
    }

    @Test func sinksWithoutAWindowAreRefused() {
        var config = AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4, slidingWindow: nil)
        config.attentionSinks = 2
        #expect(throws: AttentionConfigError.self) { _ = try Variant.mha.resolve(config) }
        config.slidingWindow = 4
        #expect(throws: Never.self) { _ = try Variant.swa.resolve(config) }
    }
}
