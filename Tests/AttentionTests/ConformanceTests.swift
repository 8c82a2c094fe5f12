// The conformance suite: every registered mechanism (Variant.allCases, and MLA's two
// inference paths and query compression) must pass every test here. A new mechanism
// is tested by adding it to the registry; no test needs writing.

import Attention
import NN
import Testing
import TensorCore
import TestSupport

/// A tiny configuration every mechanism accepts: C 16, H 4, G 2, D 4, w 3,
/// linear d_k 4, MLA d_c 8, d_R 2, d_nope 4, d_v 4.
let tiny = AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4, slidingWindow: 3,
                           linearFeatureDim: 4, kvLoraRank: 8, qkNopeHeadDim: 4, qkRopeHeadDim: 2, vHeadDim: 4)

/// One case of the suite: a variant and, for MLA, its path and query compression.
struct Case: CustomTestStringConvertible, Sendable {
    let variant: Variant
    var mlaPath: MLAPath = .absorbed
    var qLoraRank = 0
    var testDescription: String {
        variant == .mla ? "mla-\(mlaPath.rawValue)\(qLoraRank > 0 ? "-qlora\(qLoraRank)" : "")" : variant.rawValue
    }

    func make(seed: UInt64 = 1, config: AttentionConfig = tiny) throws -> any AttentionMechanism {
        var c = config
        c.qLoraRank = qLoraRank
        var rng = Xoshiro256StarStar(seed: seed)
        let m = try variant.make(config: c, rng: &rng)
        if let mla = m as? MultiHeadLatentAttention { mla.path = mlaPath }
        return m
    }
}

let allCases: [Case] = Variant.allCases.flatMap { v -> [Case] in
    v == .mla ? [Case(variant: v, mlaPath: .naive), Case(variant: v, mlaPath: .absorbed),
                 Case(variant: v, mlaPath: .absorbed, qLoraRank: 6)]
              : [Case(variant: v)]
}

/// max |a − b| / max |b|: the relative error of a whole output.
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var num: Float = 0, den: Float = 0
    for i in 0..<a.count { num = max(num, abs(a[i] - b[i])); den = max(den, abs(b[i])) }
    return den > 0 ? num / den : num
}

func randomX(_ b: Int, _ t: Int, _ c: Int, seed: UInt64) -> Tensor {
    var rng = Xoshiro256StarStar(seed: seed)
    return Tensor.randn([b, t, c], rng: &rng)
}

/// Runs a prompt of `prompt` tokens through `step`, then decodes the rest one at a time.
func prefillThenDecode(_ m: any AttentionMechanism, _ x: Tensor, prompt: Int) -> (Tensor, AttentionCache) {
    let b = x.shape[0], t = x.shape[1]
    let cache = m.makeCache(batch: b, capacity: t)
    var outs = [m.prefill(x.slice(axis: 1, 0..<prompt), cache: cache)]
    for i in prompt..<t { outs.append(m.decode(x.slice(axis: 1, i..<(i + 1)), cache: cache)) }
    return (Tensor.concat(outs, axis: 1), cache)
}

@Suite("Conformance")
struct ConformanceTests {
    @Test(arguments: allCases)
    func causality(_ c: Case) throws {
        let m = try c.make()
        let x = randomX(2, 9, tiny.hiddenSize, seed: 3)
        let y = Autograd.inference { m.forward(x) }
        let x2 = x.detached()
        for i in (5 * tiny.hiddenSize)..<(9 * tiny.hiddenSize) { x2.data[i] += 1; x2.data[9 * tiny.hiddenSize + i] -= 2 }
        let y2 = Autograd.inference { m.forward(x2) }
        for b in 0..<2 {
            let range = (b * 9 * tiny.hiddenSize)..<((b * 9 + 5) * tiny.hiddenSize)
            let r = compareClose("\(c.testDescription) outputs before t=5", Array(y.data[range]), Array(y2.data[range]), atol: 1e-6, rtol: 0)
            #expect(r.ok, "\(r)")
        }
        // The change does reach the later outputs (the test can fail).
        #expect(relativeError(Array(y.data[(8 * tiny.hiddenSize)..<(9 * tiny.hiddenSize)]),
                              Array(y2.data[(8 * tiny.hiddenSize)..<(9 * tiny.hiddenSize)])) > 1e-3)
    }

    /// Odd prompt lengths, a prompt exactly w = 3 long, and decoding past w, 2w, 3w.
    @Test(arguments: allCases, [1, 3, 4, 7, 13])
    func prefillThenDecodeEqualsForward(_ c: Case, prompt: Int) throws {
        let m = try c.make()
        let x = randomX(2, 13, tiny.hiddenSize, seed: 4)
        let full = Autograd.inference { m.forward(x) }
        let (stepped, cache) = prefillThenDecode(m, x, prompt: prompt)
        #expect(cache.length == 13)
        let err = relativeError(stepped.data, full.data)
        #expect(err <= 1e-4, "\(c.testDescription) prompt \(prompt): relative error \(err)")
    }

    @Test(arguments: allCases)
    func chunkedPrefillEqualsForward(_ c: Case) throws {
        // Prefill in uneven chunks (5, 2, 6): each chunk continues the cache.
        let m = try c.make()
        let x = randomX(1, 13, tiny.hiddenSize, seed: 5)
        let full = Autograd.inference { m.forward(x) }
        let cache = m.makeCache(batch: 1, capacity: 13)
        let parts = [0..<5, 5..<7, 7..<13].map { m.step(x.slice(axis: 1, $0), cache: cache) }
        let err = relativeError(Tensor.concat(parts, axis: 1).data, full.data)
        #expect(err <= 1e-4, "\(c.testDescription): relative error \(err)")
    }

    @Test(arguments: allCases)
    func forwardGradientsMatchFiniteDifferences(_ c: Case) throws {
        let m = try c.make()
        var rng = Xoshiro256StarStar(seed: 6)
        let x = randomInput([2, 5, tiny.hiddenSize], rng: &rng)
        let inputs = [x] + m.parameters
        let r = gradCheck("\(c.testDescription) forward", inputs: inputs, eps: 1e-2, atol: 3e-3, rtol: 2e-2, maxCoordinates: 40) { _ in
            m.forward(x)
        }
        #expect(r.ok, "\(r)")
    }

    @Test(arguments: allCases)
    func cacheBytesEqualAnalyticCount(_ c: Case) throws {
        let m = try c.make()
        let b = 2
        let x = randomX(b, 12, tiny.hiddenSize, seed: 7)
        let cache = m.makeCache(batch: b, capacity: 12)
        var seen: [Int] = []
        for (start, end) in [(0, 1), (1, 3), (3, 4), (4, 7), (7, 12)] {
            _ = m.step(x.slice(axis: 1, start..<end), cache: cache)
            #expect(cache.bytes == b * m.cacheElements(context: end) * 4,
                    "\(c.testDescription) at context \(end): cache holds \(cache.bytes) bytes, analytic \(b * m.cacheElements(context: end) * 4)")
            seen.append(cache.bytes)
        }
        switch c.variant.cacheGrowth {
        case .window:
            // It stops at the keys the mask can still show: w, plus any sinks.
            let kept = m.config.attentionMask.retainedKeys(context: 100)
            #expect(kept < 12 && m.cacheElements(context: 12) == m.kvElementsPerToken * kept, "a window's cache must stop growing")
            #expect(seen.suffix(2).allSatisfy { $0 == seen.last! })
        case .fixed:
            #expect(Set(seen).count == 1, "a fixed-state mechanism's state must not grow: \(seen)")
        case .perToken:
            #expect(m.cacheElements(context: 12) == 12 * m.kvElementsPerToken)
        }
    }

    @Test(arguments: allCases)
    func synthesizedCacheHasTheAnalyticSizeAndDecodes(_ c: Case) throws {
        // Benchmarks fill caches without computing them; the result must look like a real one.
        let m = try c.make()
        var rng = Xoshiro256StarStar(seed: 8)
        for n in [1, 3, 10] {
            let cache = m.makeCache(batch: 2, capacity: n + 1)
            cache.synthesize(tokens: n, rng: &rng)
            #expect(cache.length == n)
            #expect(cache.bytes == 2 * m.cacheElements(context: n) * 4, "\(c.testDescription) at n \(n)")
            let y = m.decode(randomX(2, 1, tiny.hiddenSize, seed: 9), cache: cache)
            #expect(y.shape == [2, 1, tiny.hiddenSize] && y.data.allSatisfy(\.isFinite))
            #expect(cache.bytes == 2 * m.cacheElements(context: n + 1) * 4)
        }
    }

    /// The analytic FLOPs against the FLOPs of the matrix products the implementation
    /// actually issues (counted in BLAS.gemm): equal for decode steps and one-token
    /// prefills; for long prefills at least the causal count and at most 1.5× it (the
    /// kernel also multiplies the masked part of each query block, 64 rows at this length).
    @Test(arguments: allCases)
    func flopFormulasMatchTheProductsIssued(_ c: Case) throws {
        let m = try c.make()
        var rng = Xoshiro256StarStar(seed: 12)
        func counted(_ body: () -> Void) -> Double {
            let counter = BLAS.FLOPCounter()
            BLAS.$flopCounter.withValue(counter) { body() }
            return counter.flops
        }
        for n in [0, 1, 4, 12] {
            let cache = m.makeCache(batch: 1, capacity: n + 1)
            cache.synthesize(tokens: n, rng: &rng)
            let x = randomX(1, 1, tiny.hiddenSize, seed: 13)
            let flops = counted { _ = m.decode(x, cache: cache) }
            #expect(flops == m.decodeFLOPs(context: n), "\(c.testDescription) decode at context \(n): issued \(flops), analytic \(m.decodeFLOPs(context: n))")
        }
        let one = counted { _ = m.prefill(randomX(1, 1, tiny.hiddenSize, seed: 14), cache: m.makeCache(batch: 1, capacity: 1)) }
        #expect(one == m.prefillFLOPs(tokens: 1), "\(c.testDescription) one-token prefill: issued \(one), analytic \(m.prefillFLOPs(tokens: 1))")
        let long = counted { _ = m.prefill(randomX(1, 150, tiny.hiddenSize, seed: 15), cache: m.makeCache(batch: 1, capacity: 150)) }
        let analytic = m.prefillFLOPs(tokens: 150)
        #expect(long >= analytic && long <= 1.5 * analytic, "\(c.testDescription) prefill 150: issued \(long), analytic \(analytic)")
    }

    @Test(arguments: allCases)
    func accountingIsConsistent(_ c: Case) throws {
        let m = try c.make()
        #expect(m.prefillFLOPs(tokens: 1) > 0)
        // Decode cost grows with context for full attention, is flat for linear and,
        // beyond the window, for sliding window.
        let d1 = m.decodeFLOPs(context: 100), d2 = m.decodeFLOPs(context: 1000)
        switch c.variant.cacheGrowth {
        case .fixed, .window: #expect(d1 == d2)
        case .perToken: #expect(d2 > d1)
        }
    }
}

@Suite("Named equivalences")
struct EquivalenceTests {
    @Test func gqaWithAllKVHeadsIsMHA() throws {
        var config = tiny
        config.numKVHeads = config.numHeads
        var rng = Xoshiro256StarStar(seed: 8)
        let mha = try Variant.mha.make(config: config, rng: &rng)
        let gqa = try Variant.gqa.make(config: config, rng: &rng)
        try gqa.copyWeights(from: mha)
        let x = randomX(2, 9, config.hiddenSize, seed: 9)
        let r = compareClose("gqa(G=H) vs mha", mha.forward(x).data, gqa.forward(x).data, atol: 1e-6, rtol: 0)
        #expect(r.ok, "\(r)")
    }

    @Test func mqaIsGQAWithOneKVHead() throws {
        var config = tiny
        config.numKVHeads = 1
        var rng = Xoshiro256StarStar(seed: 10)
        let gqa = try Variant.gqa.make(config: config, rng: &rng)
        let mqa = try Variant.mqa.make(config: tiny, rng: &rng)
        #expect(mqa.config.numKVHeads == 1)
        try mqa.copyWeights(from: gqa)
        let x = randomX(2, 9, config.hiddenSize, seed: 11)
        let r = compareClose("mqa vs gqa(G=1)", gqa.forward(x).data, mqa.forward(x).data, atol: 1e-6, rtol: 0)
        #expect(r.ok, "\(r)")
    }

    @Test(arguments: [9, 10, 50])
    func windowAtLeastTIsFullAttention(window: Int) throws {
        var config = tiny
        config.slidingWindow = window
        var rng = Xoshiro256StarStar(seed: 12)
        let swa = try Variant.swa.make(config: config, rng: &rng)
        let gqa = try Variant.gqa.make(config: config, rng: &rng)
        try gqa.copyWeights(from: swa)
        let x = randomX(2, 9, config.hiddenSize, seed: 13)
        let r = compareClose("swa(w=\(window)) vs full, T=9", gqa.forward(x).data, swa.forward(x).data, atol: 1e-6, rtol: 0)
        #expect(r.ok, "\(r)")
        // And through the cache, decoding past T.
        let (stepped, _) = prefillThenDecode(swa, x, prompt: 4)
        #expect(relativeError(stepped.data, gqa.forward(x).data) <= 1e-4)
    }

    @Test func windowShorterThanTDiffersFromFullAttention() throws {
        // The window matters: with w = 3 < T the outputs after position 2 differ.
        var rng = Xoshiro256StarStar(seed: 14)
        let swa = try Variant.swa.make(config: tiny, rng: &rng)
        let gqa = try Variant.gqa.make(config: tiny, rng: &rng)
        try gqa.copyWeights(from: swa)
        let x = randomX(1, 9, tiny.hiddenSize, seed: 15)
        let a = swa.forward(x).data, b = gqa.forward(x).data
        let c = tiny.hiddenSize
        #expect(compareClose("first w positions", Array(b[0..<(3 * c)]), Array(a[0..<(3 * c)]), atol: 1e-6, rtol: 0).ok)
        #expect(relativeError(Array(a[(8 * c)...]), Array(b[(8 * c)...])) > 1e-3)
    }

    @Test func linearRecurrentEqualsParallel() throws {
        var rng = Xoshiro256StarStar(seed: 16)
        let m = try Variant.linear.make(config: tiny, rng: &rng)
        // Longer than one chunk (64) so the inter-chunk state is exercised.
        let x = randomX(2, 150, tiny.hiddenSize, seed: 17)
        let parallel = Autograd.inference { m.forward(x) }
        let chunked = m.prefill(x, cache: m.makeCache(batch: 2, capacity: 150))
        #expect(relativeError(chunked.data, parallel.data) <= 1e-4)
        let (recurrent, _) = prefillThenDecode(m, x, prompt: 1)
        #expect(relativeError(recurrent.data, parallel.data) <= 1e-4)
    }

    @Test(arguments: [0, 6])
    func absorbedMLAEqualsNaiveMLA(qLoraRank: Int) throws {
        var config = tiny
        config.qLoraRank = qLoraRank
        var rng = Xoshiro256StarStar(seed: 18)
        let naive = try Variant.mla.make(config: config, rng: &rng) as! MultiHeadLatentAttention
        let absorbed = try Variant.mla.make(config: config, rng: &rng) as! MultiHeadLatentAttention
        try absorbed.copyWeights(from: naive)
        naive.path = .naive
        absorbed.path = .absorbed
        let x = randomX(2, 70, config.hiddenSize, seed: 19)
        let (a, _) = prefillThenDecode(naive, x, prompt: 66)
        let (b, _) = prefillThenDecode(absorbed, x, prompt: 66)
        #expect(relativeError(b.data, a.data) <= 1e-5)
    }
}
