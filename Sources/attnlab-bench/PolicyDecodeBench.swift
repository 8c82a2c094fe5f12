// `attnlab-bench policy-decode`: decode time per token over a cache held at 8 bits (the
// int8 policy's layout, read by a kernel that dequantises as it goes: Int8DecodeCache) and
// over KIVI's 4- and 2-bit caches (group 32, residual 128: KIVIDecodeCache) against the
// Float32 decode kernel over the same keys and values, measured in the same run, at the reference layer's head shapes (8 query heads of 64; MHA 8 kv heads, GQA 2,
// MQA 1) and contexts up to 32k. The attention core alone (no projections), one thread
// for both: the int8 kernel has no split across workers yet. Rows carry the bytes a step
// reads, so GB/s compare with the triad bandwidth of machine.csv, and the int8 rows the
// time ratio to Float32.

import Attention
import CachePolicies
import Foundation
import Harness
import TensorCore

enum PolicyDecodeBench {
    static let usage = """
    usage: attnlab-bench policy-decode [--out results/bench/policy-decode.csv] [--quick] [--decode 1024,4096,...]
    Decode time per token over an int8 cache (dequantised in the kernel) against the Float32
    kernel, per kv-head grouping and context length, one thread.
    """

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "policy-decode", argv)
        let out = try args.value("--out") ?? "results/bench/policy-decode.csv"
        let quick = args.flag("--quick")
        let contexts = try args.intList("--decode", atLeast: 1) ?? (quick ? [1024, 4096] : [1024, 4096, 16384, 32768])
        try args.finish()
        let provenance = Provenance.current()
        let reference = Variant.reference
        let heads = reference.numHeads, d = reference.headDim
        print("attnlab-bench policy-decode (\(provenance.build) build), \(provenance.machine.cpuModel), one thread")
        if provenance.build != "release" { print("warning: debug build; timings are meaningless") }
        let header = ["benchmark", "variant", "tokens", "heads", "head_dim", "kv_heads", "layout", "metric", "value", "unit"] + Provenance.header
        var rows: [[String]] = []
        var rng = Xoshiro256StarStar(seed: 0x6B76_3862)
        let scale = 1 / Float(d).squareRoot()
        for (variant, g) in [("mha", heads), ("gqa", reference.numKVHeads), ("mqa", 1)] {
            for n in contexts {
                let keys = (0..<(n * g * d)).map { _ in rng.nextNormal() }, values = (0..<(n * g * d)).map { _ in rng.nextNormal() }
                let q = (0..<(heads * d)).map { _ in rng.nextNormal() }
                let int8 = Int8DecodeCache(keys: keys, values: values, tokens: n, kvHeads: g, headDim: d)
                // KIVI at the paper's group (32) and residual (128): these contexts are long enough.
                let kivi = [4, 2].map { KIVIDecodeCache(keys: keys, values: values, tokens: n, kvHeads: g, headDim: d, bits: $0, groupSize: 32, residual: 128) }
                var output = [Float](repeating: 0, count: heads * d)
                var scratch: [Float] = []
                var workspace = [Float](repeating: 0, count: max(int8.workspaceCount(heads: heads), kivi[0].workspaceCount(heads: heads)))
                let samples = quick ? 5 : 20, minSeconds = quick ? 0.05 : 0.5
                let floatTimes = AttentionBench.time(samples: samples, minSeconds: minSeconds, maxSamples: 900) {
                    q.withUnsafeBufferPointer { pq in keys.withUnsafeBufferPointer { pk in values.withUnsafeBufferPointer { pv in
                        output.withUnsafeMutableBufferPointer { po in
                            FloatDecode.attend(query: pq.baseAddress!, heads: heads, kvHeads: g, headDim: d, keys: pk.baseAddress!,
                                               values: pv.baseAddress!, tokens: n, scale: scale, out: po.baseAddress!, scratch: &scratch)
                        }
                    } } }
                }
                let int8Times = AttentionBench.time(samples: samples, minSeconds: minSeconds, maxSamples: 900) {
                    q.withUnsafeBufferPointer { pq in output.withUnsafeMutableBufferPointer { po in workspace.withUnsafeMutableBufferPointer { pw in
                        int8.attend(query: pq.baseAddress!, heads: heads, scale: scale, out: po.baseAddress!, workspace: pw.baseAddress!)
                    } } }
                }
                let kiviTimes = kivi.map { cache in
                    AttentionBench.time(samples: samples, minSeconds: minSeconds, maxSamples: 900) {
                        q.withUnsafeBufferPointer { pq in output.withUnsafeMutableBufferPointer { po in workspace.withUnsafeMutableBufferPointer { pw in
                            cache.attend(query: pq.baseAddress!, heads: heads, scale: scale, out: po.baseAddress!, workspace: pw.baseAddress!)
                        } } }
                    }
                }
                let floatBytes = 2 * n * g * d * 4
                let floatMedian = AttentionBench.median(floatTimes), int8Median = AttentionBench.median(int8Times)
                func add(_ layout: String, _ metric: String, _ value: Double, _ unit: String) {
                    rows.append(["policy-decode", variant, String(n), String(heads), String(d), String(g), layout, metric, String(value), unit]
                                + provenance.columns(blasThreads: 1))
                }
                let layouts = [("float32", floatTimes, floatBytes), ("int8", int8Times, int8.bytes),
                               ("kivi4", kiviTimes[0], kivi[0].bytes), ("kivi2", kiviTimes[1], kivi[1].bytes)]
                for (layout, times, bytes) in layouts {
                    let median = AttentionBench.median(times)
                    add(layout, "median_seconds", median, "s")
                    add(layout, "min_seconds", times.min()!, "s")
                    add(layout, "cache_bytes_read", Double(bytes), "bytes")
                    add(layout, "achieved_gbps", Double(bytes) / median / 1e9, "GB/s")
                    if layout != "float32" { add(layout, "time_ratio_to_float32", median / floatMedian, "1") }
                }
                print(String(format: "  %@ n %6d  float32 %7.3f ms   int8 %.2f×   kivi4 %.2f×   kivi2 %.2f× (time ratios)", variant, n,
                             floatMedian * 1e3, int8Median / floatMedian, AttentionBench.median(kiviTimes[0]) / floatMedian,
                             AttentionBench.median(kiviTimes[1]) / floatMedian))
            }
        }
        try CSV.writeAtomically(CSV.render(header: header, rows: rows), to: out)
        print("\nwrote \(rows.count) rows to \(out)")
    }
}
