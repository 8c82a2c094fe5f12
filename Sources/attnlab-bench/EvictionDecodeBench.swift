// `attnlab-bench eviction-decode`: decode time per token while a policy holds the cache at
// a budget by evicting one entry per generated token (StreamingLLM, H2O, TOVA:
// EvictingDecodeCache), against the Float32 decode kernel over the whole context and over
// a cache of the budget's size with nothing to decide (what a compress-once policy such as
// SnapKV or PyramidKV costs after its boundary), timed interleaved in the same run. The
// reference layer's head shapes (8 query heads of 64; MHA 8 kv heads, GQA 2, MQA 1), one
// thread, the attention core alone. `time_ratio_to_budget` is the price of a rule's
// bookkeeping (the probabilities it reads, the scan for the entry to drop), and
// `time_ratio_to_full` what the policy saves at that context. Policy `snapkv-boundary`:
// SnapKV's one-off decision at the end of the prompt (window 32, kernel 5:
// SnapKVBoundaryScorer), its time and that time in decode steps over the whole context.

import Attention
import CachePolicies
import Foundation
import Harness
import TensorCore

enum EvictionDecodeBench {
    static let usage = """
    usage: attnlab-bench eviction-decode [--out results/bench/eviction-decode.csv] [--quick] [--decode 4096,...] [--ratios 0.5,0.875]
    Decode time per token with a cache held at a budget by StreamingLLM, H2O or TOVA (one
    eviction per token), against Float32 decode over the whole context and over the budget,
    per kv-head grouping, context length and ratio removed, one thread.
    """

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "eviction-decode", argv)
        let out = try args.value("--out") ?? "results/bench/eviction-decode.csv"
        let quick = args.flag("--quick")
        let contexts = try args.intList("--decode", atLeast: 64) ?? (quick ? [1024, 4096] : [4096, 16384, 32768])
        let ratios = try args.fractionList("--ratios", between: 0, and: 1) ?? [0.5, 0.875]
        try args.finish()
        let provenance = Provenance.current()
        let reference = Variant.reference
        let heads = reference.numHeads, d = reference.headDim
        print("attnlab-bench eviction-decode (\(provenance.build) build), \(provenance.machine.cpuModel), one thread")
        if provenance.build != "release" { print("warning: debug build; timings are meaningless") }
        let header = ["benchmark", "variant", "tokens", "ratio", "budget", "heads", "head_dim", "kv_heads", "policy", "metric", "value", "unit"]
            + Provenance.header
        var rows: [[String]] = []
        var rng = Xoshiro256StarStar(seed: 0x6576_6963)
        let scale = 1 / Float(d).squareRoot()
        let plan = TimingPlan(minSeconds: quick ? 0.05 : 0.4, minSamples: quick ? 5 : 15)
        for (variant, g) in [("mha", heads), ("gqa", reference.numKVHeads), ("mqa", 1)] {
            for n in contexts {
                let keys = (0..<(n * g * d)).map { _ in rng.nextNormal() }, values = (0..<(n * g * d)).map { _ in rng.nextNormal() }
                // New tokens cycle through a pool, so a timed step does not generate numbers.
                let pool = 64
                let queries = (0..<(pool * heads * d)).map { _ in 2 * rng.nextNormal() }
                let newKeys = (0..<(pool * g * d)).map { _ in rng.nextNormal() }, newValues = (0..<(pool * g * d)).map { _ in rng.nextNormal() }
                for ratio in ratios {
                    let budget = n - Int((ratio * Double(n)).rounded(.down))
                    let caches = EvictingDecodeCache.Rule.allCases.map { rule -> EvictingDecodeCache in
                        let c = EvictingDecodeCache(rule: rule, budget: budget, heads: heads, kvHeads: g, headDim: d)
                        c.fill(keys: Array(keys[0..<(budget * g * d)]), values: Array(values[0..<(budget * g * d)]), count: budget)
                        return c
                    }
                    // The plain kernel over the budget reads its own copy, as each eviction cache
                    // does: rows shared with the whole context's would be warm in cache from it.
                    let budgetKeys = Array(keys[0..<(budget * g * d)]), budgetValues = Array(values[0..<(budget * g * d)])
                    var output = [Float](repeating: 0, count: heads * d)
                    var scratch: [Float] = []
                    var next = 0
                    func float(_ keys: [Float], _ values: [Float], _ tokens: Int) -> () -> Void {
                        {
                            queries.withUnsafeBufferPointer { pq in keys.withUnsafeBufferPointer { pk in values.withUnsafeBufferPointer { pv in
                                output.withUnsafeMutableBufferPointer { po in
                                    FloatDecode.attend(query: pq.baseAddress!, heads: heads, kvHeads: g, headDim: d, keys: pk.baseAddress!,
                                                       values: pv.baseAddress!, tokens: tokens, scale: scale, out: po.baseAddress!, scratch: &scratch)
                                }
                            } } }
                        }
                    }
                    func evicting(_ cache: EvictingDecodeCache) -> () -> Void {
                        {
                            let i = next % pool
                            next += 1
                            queries.withUnsafeBufferPointer { pq in newKeys.withUnsafeBufferPointer { pk in newValues.withUnsafeBufferPointer { pv in
                                output.withUnsafeMutableBufferPointer { po in
                                    cache.step(query: pq.baseAddress! + i * heads * d, key: pk.baseAddress! + i * g * d,
                                               value: pv.baseAddress! + i * g * d, scale: scale, out: po.baseAddress!)
                                }
                            } } }
                        }
                    }
                    let series: [(policy: String, rows: Int, body: () -> Void)] = [("full", n, float(keys, values, n)),
                                                                                   ("budget", budget, float(budgetKeys, budgetValues, budget))]
                        + caches.map { ($0.rule.rawValue, budget + 1, evicting($0)) }
                    let stats = timeInterleaved(series.map(\.body), plan: plan)
                    let full = stats[0].median, atBudget = stats[1].median
                    for (s, st) in zip(series, stats) {
                        func add(_ metric: String, _ value: Double, _ unit: String) {
                            rows.append(["eviction-decode", variant, String(n), String(ratio), String(budget), String(heads), String(d), String(g),
                                         s.policy, metric, String(value), unit] + provenance.columns(blasThreads: 1))
                        }
                        add("median_seconds", st.median, "s")
                        add("min_seconds", st.min, "s")
                        add("cache_bytes_read", Double(2 * s.rows * g * d * 4), "bytes")
                        add("time_ratio_to_full", st.median / full, "1")
                        add("time_ratio_to_budget", st.median / atBudget, "1")
                    }
                    // SnapKV's (and PyramidKV's) one-off decision at the end of the prompt, with the
                    // public code's smallest window (32): its cost in decode steps over the whole context.
                    let w = min(32, budget)
                    let window = (0..<(w * heads * d)).map { _ in 2 * rng.nextNormal() * scale }
                    let boundary = AttentionBench.median(AttentionBench.time(samples: quick ? 3 : 5, minSeconds: quick ? 0 : 0.5) {
                        _ = SnapKVBoundaryScorer.kept(scaledQueries: window, window: w, heads: heads, keys: keys, tokens: n, kvHeads: g,
                                                      headDim: d, kernel: 5, budget: budget)
                    })
                    for (metric, value, unit) in [("median_seconds", boundary, "s"), ("time_ratio_to_full", boundary / full, "1")] {
                        rows.append(["eviction-decode", variant, String(n), String(ratio), String(budget), String(heads), String(d), String(g),
                                     "snapkv-boundary", metric, String(value), unit] + provenance.columns(blasThreads: 1))
                    }
                    print(String(format: "  %@ n %6d ratio %.3f  full %7.3f ms  budget %.2f×  snapkv boundary %.1f steps  ", variant, n, ratio,
                                 full * 1e3, atBudget / full, boundary / full)
                          + zip(series, stats).dropFirst(2).map { String(format: "%@ %.2f× (%.2f× budget)", $0.0.policy, $0.1.median / full, $0.1.median / atBudget) }
                            .joined(separator: "  "))
                }
            }
        }
        try CSV.writeAtomically(CSV.render(header: header, rows: rows), to: out)
        print("\nwrote \(rows.count) rows to \(out)")
    }
}
