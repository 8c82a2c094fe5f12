// Attention sinks (StreamingLLM: the first s tokens stay visible beyond the window) in the
// training path of the softmax core, against the plain-loop reference that states the
// same rule: outputs and every gradient. The inference paths do not apply sinks yet, so
// no registered mechanism can set them (`validateSoftmax` refuses s > 0); this suite
// builds the layer directly.

@testable import Attention
import AttentionReference
import Testing
import TensorCore
import TestSupport

@Suite("Attention sinks in training")
struct AttentionSinksTrainingTests {
    private func layer(window: Int, sinks: Int, seed: UInt64) -> SoftmaxAttention {
        var config = AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4, slidingWindow: window)
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
        var ref = m.config.reference
        ref.sinks = s
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

    @Test func registeredMechanismsRefuseSinksUntilInferenceAppliesThem() {
        var config = AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4, slidingWindow: 4)
        config.attentionSinks = 2
        #expect(throws: AttentionConfigError.self) { _ = try Variant.swa.resolve(config) }
    }
}
