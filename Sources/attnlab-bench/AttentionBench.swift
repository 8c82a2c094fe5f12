// `attnlab-bench attention`: prefill time against prompt length and decode time per
// token against context length, for every registered mechanism at one reference size
// (Variant.reference: d_model 512, 8 heads of 64; GQA and SWA with 2 kv heads, w 1024;
// MLA d_c 256, d_h^R 32), MLA's naive and absorbed inference paths as separate series.
//
// Prefill: a fresh cache and one `step` over T random tokens (batch 1), so the time
// includes the projections and the cache writes. Decode: a cache synthesised to
// context n (random contents; a step's cost does not depend on them), then single-token
// steps. Each row carries the analytic FLOPs and, for decode, the cache bytes a step
// reads, so achieved GFLOP/s and GB/s can be placed on a roofline.

import Attention
import Foundation
import Harness
import TensorCore

enum AttentionBench {
    static let usage = """
    usage: attnlab-bench attention [--out results/bench/attention.csv] [--threads N] [--quick]
                                   [--prefill 1024,2048,...] [--decode 1024,2048,...] [--variants mha,gqa,...]
    Prefill time per prompt length and decode time per token per context length, per mechanism
    (mla-naive and mla-absorbed are MLA's two inference paths). --quick: short lengths, few repeats.
    """

    /// A mechanism as timed: a registry id, and for MLA the inference path.
    struct Series {
        var label: String
        var variant: Variant
        var mlaPath: MLAPath?
    }

    static func allSeries() -> [Series] {
        Variant.allCases.flatMap { v -> [Series] in
            v == .mla ? MLAPath.allCases.map { Series(label: "mla-\($0.rawValue)", variant: v, mlaPath: $0) }
                      : [Series(label: v.rawValue, variant: v, mlaPath: nil)]
        }
    }

    /// Seconds of each of `samples` calls after one warm-up call, continuing until
    /// `minSeconds` have been measured (at most `maxSamples`). `reset` runs before every
    /// call, untimed. Long calls (whole prefills) are timed one per sample, so the
    /// interleaved batches of `timeInterleaved` do not apply.
    static func time(samples: Int, minSeconds: Double, maxSamples: Int = 200, reset: () -> Void = {}, _ body: () -> Void) -> [Double] {
        reset()
        body()
        var times: [Double] = []
        var total = 0.0
        while times.count < samples || (total < minSeconds && times.count < maxSamples) {
            reset()
            let t0 = monotonicNanoseconds()
            body()
            let s = Double(monotonicNanoseconds() - t0) * 1e-9
            times.append(s)
            total += s
        }
        return times
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "attention", argv)
        let out = try args.value("--out") ?? "results/bench/attention.csv"
        let quick = args.flag("--quick")
        let threads = try args.int("--threads", atLeast: 1)
        let prefillLengths = try args.intList("--prefill", atLeast: 1) ?? (quick ? [256, 1024] : [1024, 2048, 4096, 8192, 16384])
        let decodeContexts = try args.intList("--decode", atLeast: 1) ?? (quick ? [1024, 4096] : [1024, 2048, 4096, 8192, 16384, 32768])
        let all = allSeries()
        let wanted = try args.value("--variants").map { $0.split(separator: ",").map(String.init) }
        if let wanted, let unknown = wanted.first(where: { w in !all.contains { $0.label == w || $0.variant.rawValue == w } }) {
            throw BenchError.usage("attention: --variants: unknown '\(unknown)'; valid: \(all.map(\.label).joined(separator: ", "))")
        }
        try args.finish()
        let series = all.filter { s in wanted.map { $0.contains(s.label) || $0.contains(s.variant.rawValue) } ?? true }
        if let threads { BLAS.setThreads(threads) }
        let samples = quick ? 2 : 5

        let provenance = Provenance.current()
        let config = Variant.reference
        print("attnlab-bench attention (\(provenance.build) build), \(provenance.machine.cpuModel), OpenBLAS \(provenance.machine.blasCore) × \(BLAS.threads) threads")
        print("reference: d_model \(config.hiddenSize), \(config.numHeads) heads × \(config.headDim), kv heads \(config.numKVHeads) (gqa, swa), w \(config.slidingWindow!), d_c \(config.kvLoraRank), d_R \(config.qkRopeHeadDim)")
        if provenance.build != "release" { print("warning: debug build; timings are meaningless") }

        let header = ["benchmark", "variant", "tokens", "d_model", "heads", "head_dim", "kv_heads", "window", "kv_lora_rank",
                      "metric", "value", "unit"] + Provenance.header
        var rows: [[String]] = []
        var rng = Xoshiro256StarStar(seed: 0x6174_746E)  // "attn"

        func layer(_ s: Series) throws -> any AttentionMechanism {
            var init_ = Xoshiro256StarStar(seed: 1)
            let m = try s.variant.make(config: config, rng: &init_)
            if let path = s.mlaPath, let mla = m as? MultiHeadLatentAttention { mla.path = path }
            return m
        }
        func add(_ bench: String, _ s: Series, _ m: any AttentionMechanism, _ tokens: Int, _ metric: String, _ value: Double, _ unit: String) {
            let c = m.config
            rows.append([bench, s.label, String(tokens), String(c.hiddenSize), String(c.numHeads), String(c.headDim),
                         String(c.numKVHeads), c.slidingWindow.map(String.init) ?? "", String(c.kvLoraRank),
                         metric, String(value), unit] + provenance.columns(blasThreads: BLAS.threads))
        }

        print("\nprefill (batch 1): median seconds, analytic GFLOP/s")
        for s in series where s.mlaPath != .absorbed {
            let m = try layer(s)
            for t in prefillLengths {
                let x = Tensor.randn([1, t, config.hiddenSize], rng: &rng)
                let times = time(samples: samples, minSeconds: quick ? 0 : 1) { _ = m.prefill(x, cache: m.makeCache(batch: 1, capacity: t)) }
                let med = median(times), flops = m.prefillFLOPs(tokens: t)
                add("prefill", s, m, t, "median_seconds", med, "s")
                add("prefill", s, m, t, "min_seconds", times.min()!, "s")
                add("prefill", s, m, t, "tokens_per_second", Double(t) / med, "tokens/s")
                add("prefill", s, m, t, "analytic_gflop", flops / 1e9, "GFLOP")
                add("prefill", s, m, t, "achieved_gflops", flops / med / 1e9, "GFLOP/s")
                print(String(format: "  %@ T %6d  %9.4f s  %7.1f GFLOP/s", s.label.padding(toLength: 13, withPad: " ", startingAt: 0), t, med, flops / med / 1e9))
            }
        }

        print("\ndecode (batch 1): median seconds per token, cache GB/s, analytic GFLOP/s")
        for s in series {
            let m = try layer(s)
            for n in decodeContexts {
                let cache = m.makeCache(batch: 1, capacity: n + 1)
                cache.synthesize(tokens: n, rng: &rng)
                let bytesRead = cache.bytes
                let x = Tensor.randn([1, 1, config.hiddenSize], rng: &rng)
                // Every timed step decodes at context n: the cache is rewound before each.
                let times = time(samples: quick ? 5 : 20, minSeconds: quick ? 0.05 : 0.5, maxSamples: 900,
                                 reset: { cache.rewind(to: n) }) { _ = m.decode(x, cache: cache) }
                let med = median(times), flops = m.decodeFLOPs(context: n)
                add("decode", s, m, n, "median_seconds", med, "s")
                add("decode", s, m, n, "min_seconds", times.min()!, "s")
                add("decode", s, m, n, "cache_bytes_read", Double(bytesRead), "bytes")
                add("decode", s, m, n, "achieved_gbps", Double(bytesRead) / med / 1e9, "GB/s")
                add("decode", s, m, n, "analytic_gflop", flops / 1e9, "GFLOP")
                add("decode", s, m, n, "achieved_gflops", flops / med / 1e9, "GFLOP/s")
                print(String(format: "  %@ n %6d  %9.3f ms  %6.2f GB/s  %6.1f GFLOP/s", s.label.padding(toLength: 13, withPad: " ", startingAt: 0), n, med * 1e3,
                             Double(bytesRead) / med / 1e9, flops / med / 1e9))
            }
        }
        try CSV.writeAtomically(CSV.render(header: header, rows: rows), to: out)
        print("\nwrote \(rows.count) rows to \(out)")
    }
}
