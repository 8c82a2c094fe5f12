// Kinds `kv-cache-scaling`, `prefill` and `decode`: one attention layer of the reference
// size (Variant.reference: d_model 512, 8 heads × 64; GQA and SWA 2 kv heads, w 1024;
// MLA d_c 256, d_h^R 32), batch 1.
//
// - kv-cache-scaling: the cache of `layers` layers at a context length, analytic
//   (cacheElements × 4 bytes) and measured from the cache object's buffers after filling
//   it, wherever it fits in `max_measured_bytes`.
// - prefill: a fresh cache and one step over T random tokens (projections, cache writes
//   and attention), the median of `repeats` timed calls after one warm-up call; for the
//   softmax family also the attention core alone (the score and value products' kernel).
// - decode: a cache synthesised to `context` tokens, then single-token steps, each from
//   the same context (the cache is rewound, untimed, before each); the median of `samples`.
//   Each row set carries the cache bytes a step reads and the matrix-product FLOPs, so the
//   achieved GB/s and GFLOP/s can be placed on a roofline.

import Attention
import Foundation
import TensorCore

enum ReferenceLayer {
    static func make(_ run: RunSpec) throws -> any AttentionMechanism {
        let variant = try Variant.parse(run.variant)
        var rng = Xoshiro256StarStar(seed: 1)
        let m = try variant.make(config: Variant.reference, rng: &rng)
        if let path = try mlaPath(run), let mla = m as? MultiHeadLatentAttention { mla.path = path }
        return m
    }

    /// A timed run of the reference layer: a mechanism, MLA's path, a positive length and
    /// repeat count, and optionally a thread count.
    static func validate(_ run: RunSpec, length: String, repeats: String) throws {
        _ = try Variant.parse(run.variant)
        _ = try mlaPath(run)
        _ = try require(run, length, atLeast: 1)
        _ = try require(run, repeats, atLeast: 1)
        if run.parameters["threads"] != nil { _ = try require(run, "threads", atLeast: 1) }
    }

    static func setThreads(_ run: RunSpec) throws {
        BLAS.setThreads(try run.optionalInt("threads") ?? ProcessInfo.processInfo.activeProcessorCount)
    }
}

enum KVCacheScalingExperiment {
    static func validate(_ run: RunSpec) throws {
        _ = try Variant.parse(run.variant)
        _ = try require(run, "context", atLeast: 1)
        _ = try require(run, "layers", atLeast: 1)
        _ = try require(run, "max_measured_bytes", atLeast: 0)
    }

    static func execute(_ run: RunSpec) throws -> [Measurement] {
        let context = try run.int("context"), layers = try run.int("layers")
        let m = try ReferenceLayer.make(run)
        let analytic = Double(m.cacheElements(context: context) * MemoryLayout<Float>.size * layers)
        var out = [
            Measurement("analytic_bytes", analytic, "bytes"),
            Measurement("analytic_elements_per_token_per_layer", Double(m.kvElementsPerToken), "elements"),
        ]
        if analytic <= Double(try run.int("max_measured_bytes")) {
            var rng = Xoshiro256StarStar(seed: UInt64(run.seed))
            var measured = 0
            for _ in 0..<layers {
                let cache = m.makeCache(batch: 1, capacity: context)
                cache.synthesize(tokens: context, rng: &rng)
                measured += cache.bytes
            }
            out.append(Measurement("measured_bytes", Double(measured), "bytes"))
        }
        return out
    }
}

enum PrefillExperiment {
    static func validate(_ run: RunSpec) throws { try ReferenceLayer.validate(run, length: "tokens", repeats: "repeats") }

    static func execute(_ run: RunSpec) throws -> [Measurement] {
        try ReferenceLayer.setThreads(run)
        let t = try run.int("tokens"), repeats = try run.int("repeats")
        let m = try ReferenceLayer.make(run)
        var rng = Xoshiro256StarStar(seed: UInt64(run.seed))
        let x = Tensor.randn([1, t, m.config.hiddenSize], rng: &rng)
        let times = Autograd.inference {
            Stopwatch.time(samples: repeats) { _ = m.prefill(x, cache: m.makeCache(batch: 1, capacity: t)) }
        }
        let median = Stopwatch.median(times), flops = m.prefillFLOPs(tokens: t)
        var out = [
            Measurement("median_seconds", median, "s"),
            Measurement("min_seconds", times.min()!, "s"),
            Measurement("max_seconds", times.max()!, "s"),
            Measurement("tokens_per_second", Double(t) / median, "tokens/s"),
            Measurement("analytic_flops", flops, "FLOP"),
            Measurement("achieved_gflops", flops / median / 1e9, "GFLOP/s"),
        ]
        if let softmax = m as? SoftmaxAttention { out += attentionCore(softmax, tokens: t, repeats: repeats, rng: &rng) }
        return out
    }

    /// The softmax family's attention core timed alone (random q, k, v of the layer's
    /// shapes): the score and value products' FLOPs over the kernel's own time, the rate the
    /// sgemm peak is compared with (the layer's time also holds projections and RoPE).
    static func attentionCore(_ m: SoftmaxAttention, tokens t: Int, repeats: Int, rng: inout Xoshiro256StarStar) -> [Measurement] {
        let c = m.config
        let q = Tensor.randn([t * c.numHeads * c.headDim], rng: &rng).data
        let k = Tensor.randn([t * c.numKVHeads * c.headDim], rng: &rng).data
        let v = Tensor.randn([t * c.numKVHeads * c.headDim], rng: &rng).data
        var out = [Float](repeating: 0, count: q.count), scratch: [Float] = []
        let times = Stopwatch.time(samples: repeats) { m.attentionCore(q: q, k: k, v: v, tokens: t, out: &out, scratch: &scratch) }
        let median = Stopwatch.median(times), flops = m.attentionFLOPs(tokens: t)
        return [
            Measurement("attention_median_seconds", median, "s"),
            Measurement("attention_analytic_flops", flops, "FLOP"),
            Measurement("attention_achieved_gflops", flops / median / 1e9, "GFLOP/s"),
        ]
    }
}

enum DecodeExperiment {
    static func validate(_ run: RunSpec) throws { try ReferenceLayer.validate(run, length: "context", repeats: "samples") }

    static func execute(_ run: RunSpec) throws -> [Measurement] {
        try ReferenceLayer.setThreads(run)
        let n = try run.int("context"), samples = try run.int("samples")
        let m = try ReferenceLayer.make(run)
        var rng = Xoshiro256StarStar(seed: UInt64(run.seed))
        let cache = m.makeCache(batch: 1, capacity: n + 1)
        cache.synthesize(tokens: n, rng: &rng)
        let bytesRead = Double(cache.bytes)
        let x = Tensor.randn([1, 1, m.config.hiddenSize], rng: &rng)
        let times = Autograd.inference {
            Stopwatch.time(samples: samples, warmup: 3, reset: { cache.rewind(to: n) }) { _ = m.decode(x, cache: cache) }
        }
        let median = Stopwatch.median(times), flops = m.decodeFLOPs(context: n)
        return [
            Measurement("median_seconds", median, "s"),
            Measurement("min_seconds", times.min()!, "s"),
            Measurement("tokens_per_second", 1 / median, "tokens/s"),
            Measurement("cache_bytes_read", bytesRead, "bytes"),
            Measurement("flops_per_token", flops, "FLOP"),
            Measurement("achieved_gbps", bytesRead / median / 1e9, "GB/s"),
            Measurement("achieved_gflops", flops / median / 1e9, "GFLOP/s"),
        ]
    }
}
