// Every fast path against the plain-loop Double reference (AttentionReference):
// outputs, and gradients with a random upstream gradient R through both — the fast
// path's backward() of Σ y·R against central differences of the reference's Σ y·R.

import Attention
import AttentionReference
import NN
import Testing
import TensorCore
import TestSupport

extension AttentionConfig {
    var reference: ReferenceConfig {
        var r = ReferenceConfig(hidden: hiddenSize, heads: numHeads, kvHeads: numKVHeads, headDim: headDim, window: slidingWindow,
                                ropeBase: ropeTheta, ropeInterleaved: ropePairing == .interleaved, linearFeatureDim: linearFeatureDim,
                                kvLoraRank: kvLoraRank, qLoraRank: qLoraRank, qkNopeHeadDim: qkNopeHeadDim,
                                qkRopeHeadDim: qkRopeHeadDim, vHeadDim: vHeadDim, rmsEps: Double(rmsNormEps))
        r.sinks = attentionSinks
        return r
    }
}

func referenceWeights(_ m: any AttentionMechanism) -> ReferenceWeights {
    var w: ReferenceWeights = [:]
    for p in m.namedParameters { w[p.name] = ReferenceTensor(shape: p.tensor.shape, values: p.tensor.data.map(Double.init)) }
    return w
}

func referenceForward(_ m: any AttentionMechanism, x: [Double], batch: Int, length: Int, weights: ReferenceWeights) -> [Double] {
    let c = m.config.reference
    switch m.variant.referenceFamily {
    case .softmax:
        return ReferenceAttention.softmaxFamily(x: x, batch: batch, length: length, config: c, weights: weights)
    case .linear:
        return ReferenceAttention.linear(x: x, batch: batch, length: length, config: c, weights: weights)
    case .latent:
        return ReferenceAttention.mla(x: x, batch: batch, length: length, config: c, weights: weights)
    }
}

@Suite("Fast paths against the plain-loop reference")
struct ReferenceAgreementTests {
    @Test(arguments: allCases, RoPEPairing.allCases)
    func outputsMatchReference(_ c: Case, pairing: RoPEPairing) throws {
        var config = tiny
        config.ropePairing = pairing
        let m = try c.make(seed: 21, config: config)
        let b = 2, t = 7
        let x = randomX(b, t, tiny.hiddenSize, seed: 22)
        let expected = referenceForward(m, x: x.data.map(Double.init), batch: b, length: t, weights: referenceWeights(m))
        let got = Autograd.inference { m.forward(x) }
        let r = compareClose("\(c.testDescription) \(pairing) forward", expected.map(Float.init), got.data, atol: 1e-5, rtol: 1e-4)
        #expect(r.ok, "\(r)")
        let (stepped, _) = prefillThenDecode(m, x, prompt: 3)
        let r2 = compareClose("\(c.testDescription) \(pairing) prefill+decode", expected.map(Float.init), stepped.data, atol: 1e-5, rtol: 1e-4)
        #expect(r2.ok, "\(r2)")
    }

    @Test(arguments: allCases)
    func gradientsMatchReference(_ c: Case) throws {
        let m = try c.make(seed: 23)
        let b = 1, t = 5
        var rng = Xoshiro256StarStar(seed: 24)
        let x = randomInput([b, t, tiny.hiddenSize], rng: &rng)
        let upstream = Tensor.randn([b, t, tiny.hiddenSize], rng: &rng)
        for p in m.parameters { p.zeroGrad() }
        (m.forward(x) * upstream).sum().backward()

        // Σ y·R of the reference, in Double, as a function of every named input.
        var inputs: [(name: String, tensor: Tensor)] = [("x", x)] + m.namedParameters
        let R = upstream.data.map(Double.init)
        func loss(_ values: [String: [Double]]) -> Double {
            var w = referenceWeights(m)
            for (name, v) in values where name != "x" { w[name]!.values = v }
            let y = referenceForward(m, x: values["x"]!, batch: b, length: t, weights: w)
            return zip(y, R).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var values = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.tensor.data.map(Double.init)) })
        inputs.sort { $0.name < $1.name }
        for (name, tensor) in inputs {
            let analytic = tensor.grad ?? [Float](repeating: 0, count: tensor.count)
            // A seeded sample of coordinates keeps the suite fast; every tensor is covered.
            var coords = Array(0..<tensor.count)
            coords.shuffle(using: &rng)
            var numeric: [Float] = [], got: [Float] = []
            for i in coords.prefix(24) {
                let saved = values[name]![i]
                let h = 1e-4
                values[name]![i] = saved + h
                let plus = loss(values)
                values[name]![i] = saved - h
                let minus = loss(values)
                values[name]![i] = saved
                numeric.append(Float((plus - minus) / (2 * h)))
                got.append(analytic[i])
            }
            let r = compareClose("\(c.testDescription) d/d\(name)", numeric, got, atol: 1e-4, rtol: 1e-3)
            #expect(r.ok, "\(r)")
        }
    }
}

@Suite("Long sequences: the tiled inference kernel across query blocks")
struct LongSequenceTests {
    /// Windows 20 and 100 make blocks of 20 and 100 query rows, so T = 150 spans several
    /// and each block's first visible key sits at a different place; prompts of 70 and 129
    /// cross block boundaries. (Full-length 256-row blocks: PrefillKernelTests.)
    @Test(arguments: [(Variant.swa, 20), (.swa, 100), (.gqa, 0), (.mha, 0), (.mqa, 0), (.mla, 0), (.linear, 0)], [70, 129])
    func prefillAndDecodeMatchReference(_ variantAndWindow: (Variant, Int), prompt: Int) throws {
        let (v, window) = variantAndWindow
        var config = tiny
        config.slidingWindow = window > 0 ? window : nil
        var rng = Xoshiro256StarStar(seed: 40)
        let m = try v.make(config: config, rng: &rng)
        let b = 1, t = 150
        let x = randomX(b, t, tiny.hiddenSize, seed: 41)
        let expected = referenceForward(m, x: x.data.map(Double.init), batch: b, length: t, weights: referenceWeights(m)).map(Float.init)
        let r1 = compareClose("\(v) w\(window) forward T150", expected, Autograd.inference { m.forward(x) }.data, atol: 1e-5, rtol: 1e-4)
        #expect(r1.ok, "\(r1)")
        let (stepped, _) = prefillThenDecode(m, x, prompt: prompt)
        let r2 = compareClose("\(v) w\(window) prefill \(prompt) + decode", expected, stepped.data, atol: 1e-5, rtol: 1e-4)
        #expect(r2.ok, "\(r2)")
    }

    /// Every registered mechanism at a real head size (D 16: the fused prefill kernel's
    /// panels, MLA's value width a multiple of 16), T = 150 across query and key blocks:
    /// the training forward, a prompt then decode, and a chunked prefill, against the reference.
    @Test(arguments: allCases)
    func realHeadSizeMatchesReference(_ c: Case) throws {
        let config = AttentionConfig(hiddenSize: 64, numHeads: 4, numKVHeads: 2, headDim: 16, slidingWindow: 20,
                                     linearFeatureDim: 16, kvLoraRank: 32, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vHeadDim: 16)
        let m = try c.make(seed: 42, config: config)
        let b = 1, t = 150
        let x = randomX(b, t, config.hiddenSize, seed: 43)
        let expected = referenceForward(m, x: x.data.map(Double.init), batch: b, length: t, weights: referenceWeights(m)).map(Float.init)
        let r1 = compareClose("\(c.testDescription) D16 forward", expected, Autograd.inference { m.forward(x) }.data, atol: 1e-5, rtol: 1e-4)
        #expect(r1.ok, "\(r1)")
        let (stepped, _) = prefillThenDecode(m, x, prompt: 97)
        let r2 = compareClose("\(c.testDescription) D16 prefill 97 + decode", expected, stepped.data, atol: 1e-5, rtol: 1e-4)
        #expect(r2.ok, "\(r2)")
        let cache = m.makeCache(batch: b, capacity: t)
        let parts = [0..<61, 61..<62, 62..<150].map { m.step(x.slice(axis: 1, $0), cache: cache) }
        let r3 = compareClose("\(c.testDescription) D16 chunked", expected, Tensor.concat(parts, axis: 1).data, atol: 1e-5, rtol: 1e-4)
        #expect(r3.ok, "\(r3)")
    }
}
