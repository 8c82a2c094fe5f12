// `attnlab report`: reads results/*.csv and writes paper/generated/: numbers.tex (every
// number the prose cites), tables (LaTeX and Markdown), the derived CSV some figures
// plot (fitted slopes, joined points), and the list of checked claims. A claim the data
// stop supporting fails the build with a message, unless checking is turned off (the
// smoke-profile pipeline check, whose seconds-long runs support nothing).

import Attention
import Foundation
import TensorCore

public struct ReportGenerator {
    public var results: String
    public var output: String
    /// machine.csv and peers.csv (`make bench`, `make bench-peers`); `<results>/bench` by default.
    public var bench: String
    /// When claims must hold: the prose is written about the paper profile's results, so by
    /// default a failing claim fails the build for paper results and is listed on the report's
    /// first page (not enforced) for quick or smoke results.
    public enum ClaimPolicy: Sendable { case automatic, enforce, report }
    public var claimPolicy: ClaimPolicy

    public init(results: String, output: String, bench: String? = nil, claimPolicy: ClaimPolicy = .automatic) {
        self.results = results; self.output = output; self.bench = bench ?? "\(results)/bench"; self.claimPolicy = claimPolicy
    }

    var numbers = NumberSheet()
    var claims: [Claim] = []
    var files: [String: String] = [:]

    static let experiments = ["kv-cache-models", "kv-cache-scaling", "prefill-scaling", "decode-scaling", "mqar-recall",
                              "recall-vs-cache", "passkey-distance", "multikey-needle", "copying", "selective-copying", "throughput"]

    /// Display name of a series (a mechanism or one of its inference paths).
    static func label(_ series: String) -> String { Series.label(series) }

    static var variants: [String] { Variant.allCases.map(\.rawValue) }

    /// Generates everything; returns the claims (all holding, unless not enforced).
    public mutating func run() throws -> [Claim] {
        var loaded: [String: ResultsFile] = [:]
        for e in Self.experiments { loaded[e] = try ResultsFile.load(results: results, experiment: e) }
        try provenance(loaded)
        try kvModels(loaded["kv-cache-models"]!)
        try kvScaling(loaded["kv-cache-scaling"]!)
        try prefill(loaded["prefill-scaling"]!)
        try decode(loaded["decode-scaling"]!)
        try mqar(loaded["mqar-recall"]!)
        try recallVsCache(loaded["recall-vs-cache"]!)
        try passkey(loaded["passkey-distance"]!)
        try multikeyNeedle(loaded["multikey-needle"]!)
        try copying(loaded["copying"]!, loaded["selective-copying"]!)
        try throughput(loaded["throughput"]!)
        try summary(loaded)
        try performance(loaded)

        let profiles = Set(loaded.values.map(\.profile))
        let enforce: Bool
        switch claimPolicy {
        case .automatic: enforce = profiles == [Profile.paper.rawValue]
        case .enforce: enforce = true
        case .report: enforce = false
        }
        let failing = claims.filter { !$0.holds }
        numbers.add("ResultsProfile", profiles.sorted().joined(separator: "+"), "profile(s) of the results")
        numbers.add("ClaimsChecked", "\(claims.count - failing.count) of \(claims.count) hold" + (enforce ? " (enforced)" : " (not enforced for these results)"),
                    "claims checked by the generator")
        // Shown under the abstract when a claim fails on results the build does not enforce.
        let notice = failing.isEmpty ? "" :
            "\\par\\medskip\\noindent\\fbox{\\parbox{0.95\\linewidth}{\\small\\textbf{These results (profile "
            + latexEscape(profiles.sorted().joined(separator: "+"))
            + ") do not support \\emph{\(failing.count) of \(claims.count)} statements of the text, which was written about the paper profile:} "
            + failing.map { latexEscape($0.statement) }.joined(separator: "; ") + ".}}"
        numbers.add("ClaimsNotice", notice, "unsupported claims, listed when not enforced")
        files["numbers.tex"] = numbers.latex
        files["series.gp"] = Series.gnuplot()
        files["claims.txt"] = claims.map { "[\($0.holds ? "holds" : "FAILS")] \($0.id): \($0.statement) (\($0.evidence))" }.joined(separator: "\n") + "\n"
        if enforce && !failing.isEmpty {
            throw HarnessError.failed("report: the data no longer support \(failing.count) claim(s) the report makes:\n"
                + failing.map { "  \($0.id): \($0.statement) — \($0.evidence)" }.joined(separator: "\n")
                + "\nChange the prose in paper/report.tex and the claim in ReportGenerator, or rerun the experiments.")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for (name, text) in files.sorted(by: { $0.key < $1.key }) { try AtomicFile.write(text, to: "\(output)/\(name)") }
        return claims
    }

    mutating func claim(_ id: ClaimID, _ holds: Bool, _ evidence: String) {
        claims.append(Claim(id: id.rawValue, statement: id.statement, holds: holds, evidence: evidence))
    }

    // MARK: provenance and cost

    mutating func provenance(_ loaded: [String: ResultsFile]) throws {
        let all = loaded.values.flatMap(\.rows)
        func mostCommon(_ column: String) -> String {
            let counts = Dictionary(grouping: all.map { $0[column] }, by: { $0 }).mapValues(\.count)
            return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? ""
        }
        let commits = Set(all.map { $0["git_commit"] }).sorted()
        numbers.add("ResultsCommit", String(mostCommon("git_commit").prefix(10)), "commit of most rows")
        numbers.add("ResultsCommitCount", String(commits.count), "distinct commits in results")
        numbers.add("ResultsDirty", all.contains { $0["git_dirty"] == "true" } ? "some rows from a modified tree" : "clean tree", "dirty flag")
        numbers.add("MachineCPU", mostCommon("cpu_model"), "CPU model")
        numbers.add("MachineCores", mostCommon("logical_cores"), "logical cores")
        numbers.add("BlasCore", mostCommon("blas_core"), "OpenBLAS core")
        numbers.add("SwiftVersion", mostCommon("swift_version"), "compiler")
        numbers.add("ResultsBuild", mostCommon("build"), "build configuration")
        let dates = all.map { $0["date"] }.filter { !$0.isEmpty }.sorted()
        numbers.add("ResultsFirstDate", String(dates.first?.prefix(10) ?? ""), "first run date")
        numbers.add("ResultsLastDate", String(dates.last?.prefix(10) ?? ""), "last run date")

        var table = ReportTable(columns: [("experiment", "l"), ("profile", "l"), ("runs", "r"), ("run time (min)", "r")], rows: [])
        var totalRuns = 0, totalSeconds = 0.0
        for e in Self.experiments {
            let f = loaded[e]!
            let times = f.rows("run_seconds")
            let seconds = times.map(\.value).reduce(0, +)
            totalRuns += times.count; totalSeconds += seconds
            table.rows.append([e, f.profile, String(times.count), formatNumber(seconds / 60, decimals: 1)])
        }
        table.rows.append(["all", "", String(totalRuns), formatNumber(totalSeconds / 60, decimals: 1)])
        table.rulesAfter = [Self.experiments.count - 1]
        files["runtime.tex"] = table.latex
        files["runtime.md"] = table.markdown
        numbers.add("TotalRuns", String(totalRuns), "runs in all results")
        numbers.add("TotalRunHours", totalSeconds / 3600, decimals: 1, "sum of run wall times, hours")
    }

    // MARK: KV cache of published models

    mutating func kvModels(_ f: ResultsFile) throws {
        let models = f.distinct("variant")
        var table = ReportTable(columns: [("model", "l"), ("attention", "l"), ("layers", "r"), ("elements/token/layer", "r"),
                                          ("KiB/token", "r"), ("4k (GiB)", "r"), ("32k (GiB)", "r"), ("128k (GiB)", "r")], rows: [])
        let gib = 1024.0 * 1024 * 1024
        for m in models {
            let perLayer = f.rows("elements_per_token_per_layer", ["variant": m])
            // "gqa" or, with sliding-window layers, "gqa, local w 4096".
            let base = Array(Set(perLayer.map { String($0["layer_kind"].split(separator: "-").first ?? "") })).sorted()
            let windows = Array(Set(perLayer.compactMap { r -> String? in
                let k = r["layer_kind"]
                return k.contains("-sliding-") ? String(k.split(separator: "-").last!) : nil
            })).sorted()
            let kinds = [base.map { $0.uppercased() }.joined(separator: "/") + (windows.isEmpty ? "" : ", local w " + windows.joined(separator: "/"))]
            let perLayerText = Array(Set(perLayer.map { formatNumber($0.value, decimals: 0) })).sorted().joined(separator: "/")
            let layers = try f.value("layers", ["variant": m]), sliding = try f.value("sliding_layers", ["variant": m])
            let layerText = sliding > 0 ? "\(formatNumber(layers, decimals: 0)) (\(formatNumber(sliding, decimals: 0)) local)" : formatNumber(layers, decimals: 0)
            let bytes = try f.value("bytes_per_token", ["variant": m])
            var row = [m, kinds.joined(separator: " + "), layerText, perLayerText, formatNumber(bytes / 1024, decimals: 1)]
            for n in ["4096", "32768", "131072"] {
                row.append(formatNumber(try f.value("cache_bytes", ["variant": m, "context": n]) / gib, decimals: 2))
            }
            table.rows.append(row)
        }
        files["kv-models.tex"] = table.latex
        files["kv-models.md"] = table.markdown

        // DeepSeek-V3/R1: MLA against MHA with the same heads (DeepSeek-V2 Table 1's formulas).
        let v3 = ["variant": "deepseek-v3"]
        let mla = try f.value("elements_per_token_per_layer", v3)
        let mhaEq = try f.value("mha_equivalent_elements_per_token_per_layer", v3)
        let reduction = try f.value("mla_reduction_vs_mha", v3)
        numbers.add("DSVThreeMLAElements", mla, decimals: 0, "DeepSeek-V3 MLA elements per token per layer")
        numbers.add("DSVThreeMHAElements", mhaEq, decimals: 0, "MHA-equivalent elements per token per layer")
        numbers.add("DSVThreeReduction", reduction, decimals: 1, "MLA reduction against MHA")
        numbers.add("DSVThreeKiBPerToken", try f.value("bytes_per_token", v3) / 1024, decimals: 1, "DeepSeek-V3 KiB per token, bf16")
        // DeepSeek-V2 Table 1's formulas at DeepSeek-V2's sizes (GQA shown with 8 groups).
        let v2 = ["variant": "deepseek-v2"]
        let nh = Int(try f.value("attention_heads", v2)), dh = Int(try f.value("head_dim", v2)), l = Int(try f.value("layers", v2))
        let dc = Int(try f.value("kv_lora_rank", v2)), dr = Int(try f.value("qk_rope_head_dim", v2))
        let groups = 8
        let mhaV2 = Double(DeepSeekV2Table1.mha(nHeads: nh, headDim: dh, layers: l))
        var t1 = ReportTable(columns: [("mechanism", "l"), ("KV cache per token", "l"), ("DeepSeek-V2 sizes", "r"), ("vs MHA", "r")], rows: [])
        let formulas: [(String, String, Double)] = [
            ("MHA", "$2 n_h d_h l$", mhaV2),
            ("GQA (\(groups) groups)", "$2 n_g d_h l$", Double(DeepSeekV2Table1.gqa(groups: groups, headDim: dh, layers: l))),
            ("MQA", "$2 d_h l$", Double(DeepSeekV2Table1.mqa(headDim: dh, layers: l))),
            ("MLA", "$(d_c + d_h^R)\\, l \\approx \\tfrac{9}{2} d_h l$", Double(DeepSeekV2Table1.mla(latentDim: dc, ropeDim: dr, layers: l))),
        ]
        for (name, formula, value) in formulas {
            t1.rows.append([name, formula, formatNumber(value, decimals: 0), formatNumber(mhaV2 / value, decimals: 1) + "×"])
        }
        files["table1.tex"] = t1.latex
        numbers.add("TableOneGroups", Double(groups), decimals: 0, "GQA groups shown in Table 1")
        numbers.add("MLAEquivGroups", DeepSeekV2Table1.mlaEquivalentGQAGroups, decimals: 2, "GQA groups with MLA's cache at d_c = 4 d_h")
        numbers.add("BytesPerElement", f.rows("bytes_per_token").first?["bytes_per_element"] ?? "", "bytes per cached element")
        let mistralWindow = f.rows("elements_per_token_per_layer", ["variant": "mistral-7b"]).first?["layer_kind"].split(separator: "-").last.map(String.init) ?? ""
        numbers.add("MistralWindow", mistralWindow, "Mistral-7B sliding window")
        numbers.add("DSVTwoHeads", Double(nh), decimals: 0, "DeepSeek-V2 heads")
        numbers.add("DSVTwoHeadDim", Double(dh), decimals: 0, "DeepSeek-V2 head dim")
        numbers.add("DSVTwoLayers", Double(l), decimals: 0, "DeepSeek-V2 layers")
        numbers.add("DSVTwoLatent", Double(dc), decimals: 0, "DeepSeek-V2 d_c")
        numbers.add("DSVTwoRope", Double(dr), decimals: 0, "DeepSeek-V2 d_h^R")
        claim(.dsv2Table1, dc == 4 * dh && 2 * dr == dh && Double(DeepSeekV2Table1.mla(latentDim: dc, ropeDim: dr, layers: l)) == DeepSeekV2Table1.mlaPaperChoice(headDim: dh, layers: l),
              "d_c \(dc), d_h^R \(dr), d_h \(dh)")

        claim(.deepseekV3Reduction, mla == 576 && mhaEq == 32768 && abs(reduction - 56.9) < 0.1, "MLA \(mla), MHA equivalent \(mhaEq), ratio \(reduction)")

        let llama2 = ["variant": "llama-2-7b"]
        numbers.add("LlamaTwoKiBPerToken", try f.value("bytes_per_token", llama2) / 1024, decimals: 0, "Llama-2-7B KiB per token")
        numbers.add("LlamaTwoLongGiB", try f.value("cache_bytes", llama2.merging(["context": "131072"]) { $1 }) / gib, decimals: 0, "Llama-2-7B GiB at 128k")
        let llama3 = ["variant": "llama-3-70b"]
        numbers.add("LlamaThreeSeventyKiBPerToken", try f.value("bytes_per_token", llama3) / 1024, decimals: 0, "Llama-3-70B KiB per token")
        numbers.add("LlamaThreeSeventyLongGiB", try f.value("cache_bytes", llama3.merging(["context": "131072"]) { $1 }) / gib, decimals: 0, "Llama-3-70B GiB at 128k")

        // Sliding-window layers: Mistral's cache stops growing at its window; Gemma 3's local layers cut its long-context cache.
        let mistral4k = try f.value("cache_bytes", ["variant": "mistral-7b", "context": "4096"])
        let mistral32k = try f.value("cache_bytes", ["variant": "mistral-7b", "context": "32768"])
        claim(.mistralWindow, mistral32k == mistral4k,
              "4k \(mistral4k) B, 32k \(mistral32k) B")
        let gemma = models.first { $0.hasPrefix("gemma-3") } ?? "gemma-3"
        let gemmaLong = try f.value("cache_bytes", ["variant": gemma, "context": "131072"])
        let gemmaAllGlobal = try f.value("bytes_per_token", ["variant": gemma]) * 131072
        let gemmaCut = gemmaAllGlobal / gemmaLong
        numbers.add("GemmaThreeLongCut", gemmaCut, decimals: 1, "Gemma 3 cache at 128k, all-global / actual")
        numbers.add("GemmaThreeName", gemma, "the Gemma 3 model in configs/models")
        claim(.gemma3Local, gemmaCut > 3, "ratio \(gemmaCut)")
    }

    // MARK: KV cache against context (reference layer)

    mutating func kvScaling(_ f: ResultsFile) throws {
        var worst = 0.0, measuredCount = 0
        for r in f.rows("measured_bytes") {
            let analytic = try f.value("analytic_bytes", ["variant": r.variant, "context": r["context"]])
            worst = max(worst, abs(r.value - analytic) / analytic)
            measuredCount += 1
        }
        numbers.add("KVScalingMeasuredPoints", String(measuredCount), "measured cache sizes")
        claim(.kvMeasuredEqualsAnalytic, measuredCount > 0 && worst == 0,
              "\(measuredCount) points, worst relative difference \(worst)")
        let contexts = f.distinct("context").compactMap(Int.init).sorted()
        guard let maxContext = contexts.last else { throw HarnessError.failed("report: kv-cache-scaling has no contexts") }
        numbers.add("KVScalingMaxContext", Double(maxContext), decimals: 0, "largest context")
        let mib = 1024.0 * 1024
        for v in Self.variants {
            let bytes = try f.value("analytic_bytes", ["variant": v, "context": String(maxContext)])
            numbers.add("KVAtMax" + macroWord(v), bytes / mib, decimals: 1, "\(v) MiB at the largest context")
        }
        // The baseline against the mechanisms that keep one kv head (MQA) at the reference size.
        let baseline = Variant.baseline
        let ref = Variant.reference
        let oneKVHead = Variant.allCases.filter { v in
            v.referenceFamily == .softmax && v.cacheGrowth == .perToken && (try? v.resolve(ref))?.numKVHeads == 1
        }
        func elements(_ v: Variant) throws -> Double {
            try f.value("analytic_elements_per_token_per_layer", ["variant": v.rawValue, "context": String(maxContext)])
        }
        let full = try elements(baseline)
        numbers.add("RefMHAElements", full, decimals: 0, "reference \(baseline.rawValue) (baseline) elements per token per layer")
        if let first = oneKVHead.first {
            numbers.add("RefMQAElements", try elements(first), decimals: 0, "reference \(first.rawValue) (one kv head) elements per token per layer")
        }
        numbers.add("RefHeads", Double(ref.numHeads), decimals: 0, "reference heads")
        numbers.add("RefDModel", Double(ref.hiddenSize), decimals: 0, "reference d_model")
        numbers.add("RefHeadDim", Double(ref.headDim), decimals: 0, "reference head dim")
        numbers.add("RefKVHeads", Double(ref.numKVHeads), decimals: 0, "reference kv heads (gqa, swa)")
        numbers.add("RefLatent", Double(ref.kvLoraRank), decimals: 0, "reference MLA d_c")
        numbers.add("RefRope", Double(ref.qkRopeHeadDim), decimals: 0, "reference MLA d_h^R")
        let oneKV = try oneKVHead.map { ($0, try elements($0)) }
        claim(.oneKVHeadCache, !oneKV.isEmpty && oneKV.allSatisfy { full / $0.1 == Double(ref.numHeads) },
              "\(baseline.rawValue) \(full); " + oneKV.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", "))
    }

    // MARK: prefill

    mutating func prefill(_ f: ResultsFile) throws {
        let tokens = f.distinct("tokens").compactMap(Int.init).sorted()
        guard let maxT = tokens.last else { throw HarnessError.failed("report: prefill-scaling has no lengths") }
        // The slope is fitted over the longer half of the lengths, where attention dominates the projections.
        let fitFrom = tokens[tokens.count / 2]
        numbers.add("PrefillMaxTokens", Double(maxT), decimals: 0, "longest prompt")
        numbers.add("PrefillFitFrom", Double(fitFrom), decimals: 0, "slopes fitted from this length")
        var csv = "series,slope,fit_from_tokens\n"
        var slopes: [String: Double] = [:]
        for s in seriesOrder(f.distinct("variant")) {
            let points = f.rows("median_seconds", ["variant": s]).compactMap { r -> (x: Double, y: Double)? in
                guard let t = r.int("tokens"), t >= fitFrom else { return nil }
                return (Double(t), r.value)
            }
            let slope = logLogSlope(points)
            slopes[s] = slope
            csv += "\(s),\(String(format: "%.3f", slope)),\(fitFrom)\n"
            numbers.add("PrefillSlope" + macroWord(s), slope, decimals: 2, "\(s) log-log slope")
            numbers.add("PrefillMaxSeconds" + macroWord(s), try f.value("median_seconds", ["variant": s, "tokens": String(maxT)]), decimals: 2, "\(s) seconds at the longest prompt")
        }
        files["prefill-slopes.csv"] = csv
        let baseline = Variant.baseline
        let baseGF = try f.value("achieved_gflops", ["variant": baseline.rawValue, "tokens": String(maxT)])
        numbers.add("PrefillMHAGflops", baseGF, decimals: 1, "\(baseline.rawValue) (baseline) GFLOP/s at the longest prompt")
        // Mechanisms whose state is bounded (a window or a fixed state) against the full-attention baseline.
        let full = slopes[baseline.rawValue] ?? .nan
        let bounded = (Variant.with(.window) + Variant.with(.fixed)).map { ($0, slopes[$0.rawValue] ?? .nan) }
        let fixed = bounded.filter { $0.0.cacheGrowth == .fixed }
        claim(.prefillSlopes, !bounded.isEmpty && bounded.allSatisfy { full > $0.1 + 0.3 } && fixed.allSatisfy { $0.1 < 1.3 },
              "slopes \(baseline.rawValue) \(full); " + bounded.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", "))
    }

    // MARK: decode

    mutating func decode(_ f: ResultsFile) throws {
        let contexts = f.distinct("context").compactMap(Int.init).sorted()
        guard let maxC = contexts.last, let minC = contexts.first else { throw HarnessError.failed("report: decode-scaling has no contexts") }
        numbers.add("DecodeMaxContext", Double(maxC), decimals: 0, "longest context")
        numbers.add("DecodeMinContext", Double(minC), decimals: 0, "shortest context")
        func ms(_ series: String, _ c: Int) throws -> Double {
            let rows = f.rows("median_seconds", ["context": String(c)]).filter { $0.series == series }
            guard rows.count == 1 else { throw HarnessError.failed("report: decode-scaling: \(rows.count) rows for \(series) at \(c)") }
            return rows[0].value * 1e3
        }
        let series = seriesOrder(f.rows("median_seconds").map(\.series))
        for s in series {
            numbers.add("DecodeMaxMs" + macroWord(s), try ms(s, maxC), decimals: 2, "\(s) ms per token at the longest context")
            numbers.add("DecodeGrowth" + macroWord(s), try ms(s, maxC) / ms(s, minC), decimals: 1, "\(s) time growth from shortest to longest context")
        }
        let baseline = Variant.baseline.rawValue
        let gbps = f.rows("achieved_gbps", ["context": String(maxC)]).first { $0.series == baseline }?.value ?? .nan
        numbers.add("DecodeMHAGBps", gbps, decimals: 1, "\(baseline) (baseline) GB/s of cache read at the longest context")
        let window = Variant.reference.slidingWindow ?? 0
        numbers.add("RefWindow", Double(window), decimals: 0, "reference sliding window")
        let growthBaseline = try ms(baseline, maxC) / ms(baseline, minC)
        let fixedGrowth = try Variant.with(.fixed).map { ($0.rawValue, try ms($0.rawValue, maxC) / ms($0.rawValue, minC)) }
        let contextGrowth = Double(maxC) / Double(minC)
        claim(.decodeFixedStateFlat, fixedGrowth.allSatisfy { $0.1 < 1.5 } && (contextGrowth < 16 || growthBaseline > 4),
              fixedGrowth.map { "\($0.0) ×\($0.1)" }.joined(separator: ", ") + ", \(baseline) ×\(growthBaseline) over a context ×\(contextGrowth)")
        let beyond = contexts.filter { $0 >= 2 * window }
        if let first = beyond.first, first < maxC {
            let growth = try Variant.with(.window).map { ($0.rawValue, try ms($0.rawValue, maxC) / ms($0.rawValue, first)) }
            claim(.decodeWindowFlat, growth.allSatisfy { $0.1 < 1.5 }, growth.map { "\($0.0) ×\($0.1)" }.joined(separator: ", ") + " from \(first) to \(maxC)")
        }
        // A mechanism with several inference paths (MLA naive and absorbed): the deployed one is the faster.
        var pathTimes: [(deployed: String, other: String, ratio: Double)] = []
        for v in Variant.allCases {
            let deployed = Series.deployed(v)
            for p in v.descriptor.inferencePaths where !p.deployed {
                let other = "\(v.rawValue)-\(p.name)"
                pathTimes.append((deployed, other, try ms(other, maxC) / ms(deployed, maxC)))
            }
        }
        if let first = pathTimes.first {
            numbers.add("DecodeMLAAbsorbedSpeedup", first.ratio, decimals: 1, "\(first.other) / \(first.deployed) decode time at the longest context")
        }
        claim(.deployedPathFaster, pathTimes.allSatisfy { $0.ratio > 1 }, pathTimes.map { "\($0.other) / \($0.deployed) = \($0.ratio)" }.joined(separator: ", "))
    }

    // MARK: MQAR

    mutating func mqar(_ f: ResultsFile) throws {
        let points = f.recallPoints()
        // A cell is (T, N, width); sorted by length, pairs, then width.
        func cell(_ p: RecallPoint) -> [Int] { [p.int("seq_len") ?? 0, p.int("kv_pairs") ?? 0, p.int("d_model") ?? 0] }
        let cells = Array(Set(points.map(cell))).sorted { $0.lexicographicallyPrecedes($1) }
        guard let hardest = cells.last else { throw HarnessError.failed("report: mqar-recall has no accuracy rows") }
        func point(_ v: String, _ c: [Int]) -> RecallPoint? { points.first { $0.variant == v && cell($0) == c } }
        // The convergence gate: a cell whose full-attention baseline (MHA) did not reach 99 %
        // mean test accuracy compares training budgets, not mechanisms. Its entries are marked
        // and no ranking claim is checked on it.
        let target = 0.99
        let baseline = Variant.baseline.rawValue
        let converged = Set(cells.filter { (point(baseline, $0)?.meanAccuracy ?? 0) >= target })
        func cellTitle(_ c: [Int]) -> String { "T \(c[0]), N \(c[1]), C \(c[2])" }
        var accuracyTable = ReportTable(columns: [("mechanism", "l")] + cells.map { (cellTitle($0) + (converged.contains($0) ? "" : " †"), "r") }, rows: [])
        var stepsTable = ReportTable(columns: [("mechanism", "l")] + cells.map { (cellTitle($0), "r") }, rows: [])
        var csv = "variant,seq_len,kv_pairs,d_model,seed,lr,accuracy,steps_to_99,tokens_to_99,baseline_converged\n"
        for v in seriesOrder(Array(Set(points.map(\.variant)))) {
            var accRow = [Self.label(v)], stepsRow = [Self.label(v)]
            for c in cells {
                guard let p = point(v, c) else { accRow.append("—"); stepsRow.append("—"); continue }
                let m = p.meanAccuracy * 100, h = p.accuracyHalfWidth95 * 100
                accRow.append(formatNumber(m, decimals: 1) + (h.isNaN ? "" : " ± " + formatNumber(h, decimals: 1)))
                let reached = p.stepsTo99.compactMap { $0 }
                stepsRow.append(reached.isEmpty ? "— (0/\(p.seeds.count))"
                                : formatNumber(mean(reached), decimals: 0) + (reached.count < p.seeds.count ? " (\(reached.count)/\(p.seeds.count))" : ""))
                for i in p.seeds.indices {
                    csv += [v, String(c[0]), String(c[1]), String(c[2]), p.seeds[i], "\(p.learningRates[i])", "\(p.accuracies[i])",
                            p.stepsTo99[i].map { String(Int($0)) } ?? "", p.tokensTo99[i].map { String(Int($0)) } ?? "",
                            converged.contains(c) ? "1" : "0"].joined(separator: ",") + "\n"
                }
            }
            accuracyTable.rows.append(accRow)
            stepsTable.rows.append(stepsRow)
        }
        files["mqar.tex"] = accuracyTable.latex
        files["mqar.md"] = accuracyTable.markdown
        files["mqar-steps.tex"] = stepsTable.latex
        files["mqar-points.csv"] = csv
        // The reported runs' training curves (validation accuracy against step), for the curves figure.
        var curves = "variant,seq_len,kv_pairs,d_model,seed,step,eval_accuracy\n"
        for p in points {
            for (i, runFilter) in p.runFilters.enumerated() {
                for r in f.rows("eval_accuracy", runFilter) {
                    curves += [p.variant, p["seq_len"], p["kv_pairs"], p["d_model"], p.seeds[i], r["step"], "\(r.value)"].joined(separator: ",") + "\n"
                }
            }
        }
        files["mqar-curves.csv"] = curves

        let seeds = points.map(\.seeds.count).max() ?? 0
        numbers.add("MQARSeeds", String(seeds), "seeds per MQAR point")
        if let r = f.rows("accuracy").first {
            numbers.add("TrainLayers", r["layers"], "layers of the MQAR models")
            numbers.add("TrainHeads", r["heads"], "heads of the MQAR models")
            numbers.add("MQARBatch", r["batch"], "MQAR batch size")
            numbers.add("MQARTestExamples", r["test_examples"].isEmpty ? "n/a" : r["test_examples"], "MQAR test examples")
            numbers.add("MQAREvalExamples", r["eval_examples"], "MQAR validation examples")
        }
        numbers.add("TrainWidth", Set(cells.map { String($0[2]) }).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: " and "), "widths of the MQAR models")
        // The grid as the chosen-rate runs name it, else (no such run yet) the rates the grid runs used.
        let grids = Set(f.rows("accuracy").map { $0[LearningRateChoice.gridParameter] }.filter { !$0.isEmpty })
        let rates = Set(f.rows("accuracy").map { $0["lr"] }.filter { $0 != LearningRateChoice.selected }).sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
        let gridText = !grids.isEmpty ? grids.sorted().joined(separator: "; ").replacingOccurrences(of: " ", with: ", ")
            : points.contains(where: \.chosenFromGrid) ? rates.joined(separator: ", ") : "none (one rate: " + rates.joined(separator: ", ") + ")"
        numbers.add("MQARLRGrid", gridText, "MQAR learning-rate grid")
        numbers.add("MQARVocab", f.rows("accuracy").first?["vocab"] ?? "", "MQAR vocabulary")
        numbers.add("MQARStopTarget", (Double(f.rows("accuracy").first?["target_accuracy"] ?? "") ?? .nan) * 100, decimals: 1, "MQAR early-stop target, % validation accuracy")
        numbers.add("MQARSteps", Set(f.rows("accuracy").map { $0["steps"] }).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: "/"), "MQAR step budgets")
        numbers.add("MQARCells", String(cells.count), "MQAR cells (T, N, width)")
        numbers.add("MQARConvergedCells", String(converged.count), "cells where MHA reached 99 % mean test accuracy")
        let unconverged = cells.filter { !converged.contains($0) }
        numbers.add("MQARUnconvergedList", unconverged.isEmpty ? "none" : unconverged.map { "(\($0[0]), \($0[1]), \($0[2]))" }.joined(separator: ", "),
                    "cells whose MHA baseline did not converge")
        numbers.add("MQARHardLen", Double(hardest[0]), decimals: 0, "hardest cell length")
        numbers.add("MQARHardPairs", Double(hardest[1]), decimals: 0, "hardest cell pairs")
        numbers.add("MQARHardWidth", Double(hardest[2]), decimals: 0, "hardest cell width")
        for v in Self.variants {
            numbers.add("MQARHard" + macroWord(v), (point(v, hardest)?.meanAccuracy ?? .nan) * 100, decimals: 1, "\(v) mean test accuracy % on the hardest cell")
        }
        // Gated ranking claim: checked only on cells whose baseline converged.
        let fixedState = Variant.with(.fixed).map(\.rawValue)
        let gated = cells.filter(converged.contains).flatMap { c in fixedState.compactMap { v in point(v, c).map { (c, v, $0.meanAccuracy) } } }
        if !gated.isEmpty {
            let holds = gated.allSatisfy { $0.2 <= point(baseline, $0.0)!.meanAccuracy }
            claim(.mqarFixedStateNotAboveBaseline, holds, gated.map { "(\($0.0[0]),\($0.0[1]),\($0.0[2])) \($0.1) \($0.2) \(baseline) \(point(baseline, $0.0)!.meanAccuracy)" }.joined(separator: ", "))
        }
        // The baseline claim the protocol promises: MHA converges on every cell at the widest width.
        let widest = cells.map { $0[2] }.max()!
        let wideCells = cells.filter { $0[2] == widest }
        claim(.mqarBaselineConverges, wideCells.allSatisfy(converged.contains), wideCells.map { "(\($0[0]),\($0[1])) \(point(baseline, $0)?.meanAccuracy ?? .nan)" }.joined(separator: ", "))
    }

    // MARK: recall against cache

    mutating func recallVsCache(_ f: ResultsFile) throws {
        // Each point at its reported runs (chosen learning rate), against the state it keeps
        // at the cell's length in fp32 bytes over all layers (zoology's and Based's axis).
        let knobColumns = ["d_model", "heads", "kv_heads", "window", "latent", "feature_dim"]
        struct Entry { var variant: String; var knob: String; var bytes: Double; var acc: [Double] }
        var entries: [Entry] = []
        for p in f.recallPoints() {
            let bytes = mean(p.runFilters.compactMap { filter in
                f.rows("state_bytes_at_seq_len", filter).first?.value ?? f.rows("kv_elements_at_seq_len", filter).first.map { $0.value * 4 }
            })
            let knob = knobColumns.compactMap { c in p[c].isEmpty ? nil : "\(c)=\(p[c])" }.joined(separator: " ")
            entries.append(Entry(variant: p.variant, knob: knob, bytes: bytes, acc: p.accuracies))
        }
        // The Pareto frontier: no other point keeps at most as many bytes and recalls at least as well, one strictly.
        func dominated(_ e: Entry) -> Bool {
            entries.contains { o in o.bytes <= e.bytes && mean(o.acc) >= mean(e.acc) && (o.bytes < e.bytes || mean(o.acc) > mean(e.acc)) }
        }
        var csv = "variant,knob,state_bytes,mean,min,max,n,frontier\n"
        for e in entries.sorted(by: { ($0.variant, $0.bytes) < ($1.variant, $1.bytes) }) {
            csv += "\(e.variant),\(e.knob),\(e.bytes),\(mean(e.acc)),\(e.acc.min() ?? .nan),\(e.acc.max() ?? .nan),\(e.acc.count),\(dominated(e) ? 0 : 1)\n"
        }
        files["rvc-points.csv"] = csv
        var bestPerVariant: [String: Entry] = [:]
        for e in entries where mean(e.acc) > mean(bestPerVariant[e.variant]?.acc ?? [-1]) { bestPerVariant[e.variant] = e }
        let seq = Double(f.rows("accuracy").first?["seq_len"] ?? "") ?? .nan
        numbers.add("RVCPoints", String(entries.count), "configurations in recall-vs-cache")
        numbers.add("RVCSeeds", String(entries.map(\.acc.count).max() ?? 0), "seeds per configuration")
        numbers.add("RVCLength", f.rows("accuracy").first?["seq_len"] ?? "", "recall-vs-cache sequence length")
        numbers.add("RVCPairs", f.rows("accuracy").first?["kv_pairs"] ?? "", "recall-vs-cache pairs")
        numbers.add("RVCVocab", f.rows("accuracy").first?["vocab"] ?? "", "recall-vs-cache vocabulary")
        numbers.add("RVCFrontier", entries.filter { !dominated($0) }.map { "\(Self.label($0.variant)) (\($0.knob))" }.joined(separator: ", "),
                    "configurations on the Pareto frontier")
        for (v, b) in bestPerVariant {
            numbers.add("RVCBest" + macroWord(v), mean(b.acc) * 100, decimals: 1, "\(v) best mean accuracy %")
            numbers.add("RVCBestCache" + macroWord(v), b.bytes / 4 / seq, decimals: 1, "\(v) state elements per token at its best")
        }
    }

    // MARK: passkey

    mutating func passkey(_ f: ResultsFile) throws {
        guard let any = f.rows("accuracy_at_distance").first else { throw HarnessError.failed("report: passkey-distance has no accuracy_at_distance rows") }
        // Through L layers a window of w tokens reaches back L·(w − 1) positions.
        func reachOf(_ v: Variant) -> Double {
            let row = f.rows("accuracy_at_distance", ["variant": v.rawValue]).first
            return (Double(row?["layers"] ?? "") ?? .nan) * ((Double(row?["window"] ?? "") ?? .nan) - 1)
        }
        let windowed = Variant.with(.window).filter { !f.rows("accuracy_at_distance", ["variant": $0.rawValue]).isEmpty }
        // The macros the prose cites describe the first windowed mechanism (SWA).
        let window = Double(windowed.first.flatMap { f.rows("accuracy_at_distance", ["variant": $0.rawValue]).first?["window"] } ?? "") ?? .nan
        let layers = Double(any["layers"]) ?? .nan
        let reach = windowed.first.map(reachOf) ?? .nan
        numbers.add("PasskeyWindow", window, decimals: 0, "SWA window in the passkey experiment")
        numbers.add("PasskeyLayers", layers, decimals: 0, "layers")
        numbers.add("PasskeyReach", reach, decimals: 0, "receptive field L(w-1)")
        numbers.add("PasskeyLength", Double(any["seq_len"]) ?? .nan, decimals: 0, "sequence length")
        func meanAcc(_ v: String, _ within: Bool, reach: Double = reach) -> Double {
            mean(f.rows("accuracy_at_distance", ["variant": v]).filter { r in
                let d = r.double("distance") ?? 0
                return within ? d <= reach : d > reach
            }.map(\.value))
        }
        for v in seriesOrder(f.distinct("variant")) {
            numbers.add("PasskeyWithin" + macroWord(v), meanAcc(v, true) * 100, decimals: 1, "\(v) mean accuracy % within reach")
            numbers.add("PasskeyBeyond" + macroWord(v), meanAcc(v, false) * 100, decimals: 1, "\(v) mean accuracy % beyond reach")
        }
        let others = Variant.allCases.filter { $0.cacheGrowth != .window }.map(\.rawValue)
        let worstOther = others.map { v in
            Set(f.rows("accuracy_at_distance", ["variant": v]).map { $0["distance"] }).map { d in
                mean(f.rows("accuracy_at_distance", ["variant": v, "distance": d]).map(\.value))
            }.min() ?? 0
        }.min() ?? 0
        claim(.passkeyUnwindowedEveryDistance, worstOther >= 0.95, "worst mean accuracy at any distance \(worstOther)")
        let baseline = Variant.baseline.rawValue
        let windowStats = windowed.map { v in
            (v.rawValue, within: meanAcc(v.rawValue, true, reach: reachOf(v)), beyond: meanAcc(v.rawValue, false, reach: reachOf(v)),
             baselineBeyond: meanAcc(baseline, false, reach: reachOf(v)))
        }
        claim(.passkeyWindowReach, !windowStats.isEmpty && windowStats.allSatisfy { $0.beyond < 0.5 * $0.within && $0.beyond < $0.baselineBeyond },
              windowStats.map { "\($0.0) within \($0.within), beyond \($0.beyond); \(baseline) beyond \($0.baselineBeyond)" }.joined(separator: "; "))
    }

    // MARK: copying

    mutating func copying(_ copy: ResultsFile, _ selective: ResultsFile) throws {
        for (f, name, prefix) in [(copy, "copying", "Copy"), (selective, "selective-copying", "SelCopy")] {
            // The reported runs: per point the learning rate chosen on validation (every seed without a grid).
            let points = f.recallPoints()
            func point(_ v: String, _ t: Int) -> RecallPoint? { points.first { $0.variant == v && $0.int("seq_len") == t } }
            func acc(_ v: String, _ t: Int) -> Double { point(v, t)?.meanAccuracy ?? .nan }
            let lengths = f.distinct("seq_len", metric: "accuracy").compactMap(Int.init).sorted()
            var table = ReportTable(columns: [("mechanism", "l")] + lengths.map { ("T \($0)", "r") }, rows: [])
            for v in seriesOrder(f.distinct("variant")) {
                var row = [Self.label(v)]
                for t in lengths {
                    let h = (point(v, t)?.accuracyHalfWidth95 ?? .nan) * 100
                    row.append(formatNumber(acc(v, t) * 100, decimals: 1) + (h.isNaN ? "" : " ± " + formatNumber(h, decimals: 1)))
                }
                table.rows.append(row)
            }
            files["\(name).tex"] = table.latex
            files["\(name).md"] = table.markdown
            // The figure's data: the reported runs only (a grid's other rates served the choice).
            files["\(name)-points.csv"] = "variant,seq_len,seed,accuracy\n" + points.flatMap { p in
                p.seeds.indices.map { "\(p.variant),\(p["seq_len"]),\(p.seeds[$0]),\(p.accuracies[$0])\n" }
            }.joined()
            if name == "copying", lengths.count >= 2 {
                let baseline = Variant.baseline.rawValue
                let full = lengths.map { t in acc(baseline, t) }
                let fixed = Variant.with(.fixed).map { v in (v.rawValue, lengths.map { t in acc(v.rawValue, t) }) }
                claim(.copyingFixedStateFalls, full.allSatisfy { $0 >= 0.99 } && !fixed.isEmpty && fixed.allSatisfy { zip($0.1, $0.1.dropFirst()).allSatisfy { $0.0 > $0.1 } },
                      "\(baseline) \(full), " + fixed.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + " at lengths \(lengths)")
                // A token is copied from L + 1 positions back (string length L = (T − 1)/2);
                // through its layers the window reaches layers·(w − 1).
                var evidence: [String] = [], holds = true
                for v in Variant.with(.window) {
                    guard let row = f.rows("accuracy", ["variant": v.rawValue]).first, let w = row.int("window"), let layers = row.int("layers") else { continue }
                    let reach = layers * (w - 1)
                    let accuracies = lengths.map { t in (t, acc(v.rawValue, t)) }
                    holds = holds && accuracies.allSatisfy { (t, acc) in (t - 1) / 2 + 1 <= reach ? acc >= 0.99 : acc < 0.1 }
                    if !numbers.has("CopyReach") { numbers.add("CopyReach", Double(reach), decimals: 0, "\(v.rawValue) reach in the copying experiment") }
                    evidence.append("\(v.rawValue) reach \(reach): " + accuracies.map { "T \($0.0): \($0.1)" }.joined(separator: ", "))
                }
                if !evidence.isEmpty {
                    claim(.copyingWindowReach, holds, evidence.joined(separator: "; "))
                }
            }
            if name == "copying" && !numbers.has("CopyReach") { numbers.add("CopyReach", "n/a", "needs two lengths and a sliding-window run") }
            if let longest = lengths.last {
                numbers.add(prefix + "MaxLen", Double(longest), decimals: 0, "\(name) longest sequence")
                let window = Variant.with(.window).lazy.compactMap { f.rows("accuracy", ["variant": $0.rawValue]).first?["window"] }.first ?? ""
                numbers.add(prefix + "Window", window, "\(name) sliding window")
                for v in Self.variants {
                    numbers.add(prefix + "Longest" + macroWord(v), acc(v, longest) * 100,
                                decimals: 1, "\(v) accuracy % at the longest \(name) sequence")
                }
            }
        }
    }

    // MARK: throughput

    mutating func throughput(_ f: ResultsFile) throws {
        for v in Self.variants {
            numbers.add("TrainTokS" + macroWord(v), try f.value("tokens_per_second", ["variant": v, "phase": "train"]), decimals: 0, "\(v) training tokens/s")
            numbers.add("DecodeTokS" + macroWord(v), try f.value("tokens_per_second", ["variant": v, "phase": "decode"]), decimals: 0, "\(v) decode tokens/s")
        }
        if let r = f.rows("tokens_per_second").first {
            numbers.add("ThroughputDecodeContext", r["decode_context"], "decode prompt length in the throughput experiment")
        }
    }

    // MARK: per-mechanism summary

    mutating func summary(_ loaded: [String: ResultsFile]) throws {
        let kv = loaded["kv-cache-scaling"]!, pre = loaded["prefill-scaling"]!, dec = loaded["decode-scaling"]!
        let mq = loaded["mqar-recall"]!, pk = loaded["passkey-distance"]!, tp = loaded["throughput"]!
        let maxT = pre.distinct("tokens").compactMap(Int.init).max() ?? 0
        let maxC = dec.distinct("context").compactMap(Int.init).max() ?? 0
        let mqPoints = mq.recallPoints()
        func mqCell(_ p: RecallPoint) -> [Int] { [p.int("seq_len") ?? 0, p.int("kv_pairs") ?? 0, p.int("d_model") ?? 0] }
        let hardest = mqPoints.map(mqCell).max { $0.lexicographicallyPrecedes($1) } ?? [0, 0, 0]
        // Beyond the receptive field L·(w − 1) of the first windowed mechanism (as the passkey section).
        let windowRow = Variant.with(.window).lazy.compactMap { pk.rows("accuracy_at_distance", ["variant": $0.rawValue]).first }.first
        let reach = (Double(windowRow?["layers"] ?? "") ?? 0) * ((Double(windowRow?["window"] ?? "") ?? 0) - 1)
        var table = ReportTable(columns: [
            ("mechanism", "l"), ("cache/token/layer", "r"), ("prefill \(tokenCount(maxT)) (s)", "r"), ("decode \(tokenCount(maxC)) (ms)", "r"),
            ("MQAR \(hardest[0])/\(hardest[1]) C\(hardest[2]) (%)", "r"), ("passkey beyond reach (%)", "r"), ("parameters", "r"), ("train tok/s", "r"),
        ], rows: [])
        for v in Self.variants {
            let cache = (try? kv.value("analytic_elements_per_token_per_layer", ["variant": v, "context": kv.distinct("context").first ?? ""])) ?? .nan
            let mechanism = try Variant.parse(v)
            let cacheText = mechanism.cacheGrowth == .fixed ? "0 (fixed state)" : formatNumber(cache, decimals: 0)
            let prefill = (try? pre.value("median_seconds", ["variant": v, "tokens": String(maxT)])) ?? .nan
            let decodeSeries = Series.deployed(mechanism)
            let decode = (dec.rows("median_seconds", ["context": String(maxC)]).first { $0.series == decodeSeries }?.value ?? .nan) * 1e3
            let hardPoint = mqPoints.first { $0.variant == v && mqCell($0) == hardest }
            let acc = (hardPoint?.meanAccuracy ?? .nan) * 100
            let beyond = mean(pk.rows("accuracy_at_distance", ["variant": v]).filter { ($0.double("distance") ?? 0) > reach }.map(\.value)) * 100
            let params = hardPoint.flatMap { p in mq.rows("parameters", p.runFilters[0]).first?.value } ?? .nan
            let train = (try? tp.value("tokens_per_second", ["variant": v, "phase": "train"])) ?? .nan
            table.rows.append([Self.label(decodeSeries), cacheText, formatNumber(prefill, decimals: 2), formatNumber(decode, decimals: 2),
                               formatNumber(acc, decimals: 1), formatNumber(beyond, decimals: 1), formatNumber(params, decimals: 0), formatNumber(train, decimals: 0)])
        }
        files["summary.tex"] = table.latex
        files["summary.md"] = table.markdown
    }

    // MARK: implementation performance against the machine's ceilings

    /// Reads results/bench/machine.csv (attnlab-bench machine): the best sgemm peak over
    /// thread counts and the best triad bandwidth (best repeats: see MachineBench). Missing file: no ceilings.
    func machineCeilings() throws -> (peakGflops: Double, bandwidthGBps: Double, load: Double)? {
        let path = "\(bench)/machine.csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let table: (header: [String], rows: [[String]])
        do { table = try CSVTable.parse(text) } catch { throw HarnessError.failed("report: \(path): \(error)") }
        guard let b = table.header.firstIndex(of: "benchmark"), let m = table.header.firstIndex(of: "metric"),
              let v = table.header.firstIndex(of: "value") else { throw HarnessError.failed("report: \(path) lacks benchmark/metric/value columns") }
        let peak = table.rows.filter { $0[m] == "sgemm_peak_gflops" }.compactMap { Double($0[v]) }.max()
        let bw = table.rows.filter { $0[b] == "triad" && $0[m] == "best_gbps" }.compactMap { Double($0[v]) }.max()
        let load = table.rows.filter { $0[m] == "load_average_1m_before" }.compactMap { Double($0[v]) }.first ?? .nan
        guard let peak, let bw else { throw HarnessError.failed("report: \(path) lacks sgemm_peak_gflops or triad best_gbps rows") }
        return (peak, bw, load)
    }

    /// perf.csv: per operation, AttnLab's achieved rate (from the timed experiments) as a
    /// fraction of the ceiling that binds it, and PyTorch's at the same shape where
    /// `make bench-peers` measured it: AttnLab's rate times the time ratio AttnLab / PyTorch
    /// of that one interleaved run. On a shared host absolute rates drift between runs, the
    /// ratio within a run does not, so the two bars keep the ratio that was measured.
    mutating func performance(_ loaded: [String: ResultsFile]) throws {
        let pre = loaded["prefill-scaling"]!, dec = loaded["decode-scaling"]!
        let header = "operation,fraction_of_ceiling,achieved,ceiling,unit,pytorch_fraction\n"
        guard let ceilings = try machineCeilings() else {
            numbers.add("MachinePeakGflops", "n/a", "no results/bench/machine.csv")
            numbers.add("MachineTriadGBps", "n/a", "no results/bench/machine.csv")
            numbers.add("MachineLoad", "n/a", "no results/bench/machine.csv")
            for name in ["PerfPrefillTokens", "PerfPrefillPct", "PerfPrefillCorePct", "PerfDecodeContext", "PerfMLAPct", "PerfMLABound"]
                + Self.bandwidthBoundDecode.map({ "PerfDecodePct" + macroWord($0.rawValue) }) {
                numbers.add(name, "n/a", "no results/bench/machine.csv")
            }
            files["perf.csv"] = header
            let none = ReportTable(columns: [("operation", "l"), ("AttnLab", "r")], rows: [["no machine ceilings measured (make bench)", ""]])
            files["perf.tex"] = none.latex
            files["perf.md"] = none.markdown
            try peers()
            return
        }
        numbers.add("MachinePeakGflops", ceilings.peakGflops, decimals: 0, "sgemm peak GFLOP/s")
        numbers.add("MachineTriadGBps", ceilings.bandwidthGBps, decimals: 1, "STREAM triad GB/s")
        numbers.add("MachineLoad", ceilings.load, decimals: 1, "load average when the ceilings were measured")
        let torchTimes = try peerTimes(implementation: "pytorch"), ownTimes = try peerTimes(implementation: "attnlab")
        /// AttnLab time / PyTorch time at one point of the peers run.
        func ratio(_ operation: String, _ variant: String, _ tokens: Int) -> Double? {
            let key = PeerKey(operation: operation, variant: variant, tokens: tokens)
            guard let own = ownTimes[key], let torch = torchTimes[key] else { return nil }
            return own / torch
        }
        var csv = header
        var table = ReportTable(columns: [("operation", "l"), ("achieved", "r"), ("ceiling", "r"), ("AttnLab", "r"),
                                          ("PyTorch", "r"), ("target", "l")], rows: [])
        func row(_ operation: String, _ achieved: Double, _ ceiling: Double, _ unit: String, torchRate: Double?, target: String) {
            let torchFraction = torchRate.map { String($0 / ceiling) } ?? "NaN"
            csv += "\(operation),\(achieved / ceiling),\(achieved),\(ceiling),\(unit),\(torchFraction)\n"
            let percent = { (x: Double) in formatNumber(100 * x, decimals: 0) + " %" }
            table.rows.append([operation, formatNumber(achieved, decimals: 1) + " " + unit, formatNumber(ceiling, decimals: 1) + " " + unit,
                               percent(achieved / ceiling), torchRate.map { percent($0 / ceiling) } ?? "—", target])
        }
        // Prefill at the longest prompt PyTorch was also timed at, else the longest measured.
        let prefillLengths = pre.distinct("tokens").compactMap(Int.init)
        let baseline = Variant.baseline
        let torchPrefill = prefillLengths.filter { ratio("prefill", baseline.rawValue, $0) != nil }
        let prefillT = torchPrefill.max() ?? prefillLengths.max() ?? 0
        let prefillGflops = (try? pre.value("achieved_gflops", ["variant": baseline.rawValue, "tokens": String(prefillT)])) ?? .nan
        row("prefill \(baseline.displayName) \(tokenCount(prefillT))", prefillGflops, ceilings.peakGflops, "GFLOP/s",
            torchRate: ratio("prefill", baseline.rawValue, prefillT).map { prefillGflops * $0 }, target: "≥ PyTorch")
        numbers.add("PerfPrefillTokens", Double(prefillT), decimals: 0, "prompt length of the prefill target")
        numbers.add("PerfPrefillPct", prefillGflops / ceilings.peakGflops * 100, decimals: 0, "MHA prefill (layer) GFLOP/s as % of sgemm peak")
        // The attention core alone (score and value products over the kernel's own time).
        let coreGflops = (try? pre.value("attention_achieved_gflops", ["variant": baseline.rawValue, "tokens": String(prefillT)])) ?? .nan
        if !coreGflops.isNaN {
            row("prefill attention \(baseline.displayName) \(tokenCount(prefillT))", coreGflops, ceilings.peakGflops, "GFLOP/s", torchRate: nil, target: "≥ 60 %")
        }
        numbers.add("PerfPrefillCorePct", coreGflops.isNaN ? "n/a" : formatNumber(coreGflops / ceilings.peakGflops * 100, decimals: 0),
                    "MHA attention core GFLOP/s as % of sgemm peak")
        // Decode at 32k where measured (the issue's target), else at the longest context.
        let contexts = dec.distinct("context").compactMap(Int.init)
        let decodeContext = contexts.contains(32768) ? 32768 : contexts.max() ?? 0
        numbers.add("PerfDecodeContext", Double(decodeContext), decimals: 0, "context of the decode targets")
        func decodeRow(_ series: String, _ metric: String) -> Double {
            dec.rows(metric, ["context": String(decodeContext)]).first { $0.series == series }?.value ?? .nan
        }
        for v in Self.bandwidthBoundDecode {
            let s = v.rawValue
            let gbps = decodeRow(s, "achieved_gbps")
            row("decode \(Self.label(s)) \(tokenCount(decodeContext))", gbps, ceilings.bandwidthGBps, "GB/s",
                torchRate: ratio("decode", s, decodeContext).map { gbps * $0 }, target: "≥ 70 %")
            numbers.add("PerfDecodePct" + macroWord(s), gbps / ceilings.bandwidthGBps * 100, decimals: 0, "\(s) decode GB/s as % of triad")
        }
        // A deployed inference path of its own (absorbed MLA): the ceiling that binds at its
        // arithmetic intensity (roofline). The macros cite the first such mechanism.
        for v in Variant.allCases where v.descriptor.inferencePaths.contains(where: \.deployed) {
            let s = Series.deployed(v)
            let flops = decodeRow(s, "flops_per_token"), bytes = decodeRow(s, "cache_bytes_read")
            let achieved = decodeRow(s, "achieved_gflops")
            let bound = min(ceilings.peakGflops, flops / bytes * ceilings.bandwidthGBps)
            row("decode \(Self.label(s)) \(tokenCount(decodeContext))", achieved, bound, "GFLOP/s",
                torchRate: ratio("decode", s, decodeContext).map { achieved * $0 }, target: "≥ 50 %")
            if !numbers.has("PerfMLAPct") {
                numbers.add("PerfMLAPct", achieved / bound * 100, decimals: 0, "\(s) decode as % of its binding ceiling")
                numbers.add("PerfMLABound", flops / bytes * ceilings.bandwidthGBps < ceilings.peakGflops ? "memory bandwidth" : "compute", "which ceiling binds \(s)")
            }
        }
        files["perf.csv"] = csv
        files["perf.tex"] = table.latex
        files["perf.md"] = table.markdown
        try peers()
    }

    /// The mechanisms whose decode streams a per-token softmax cache (MHA, GQA, MQA): memory
    /// bandwidth binds them, and their target is a fraction of the triad bandwidth.
    static var bandwidthBoundDecode: [Variant] {
        Variant.allCases.filter { $0.referenceFamily == .softmax && $0.cacheGrowth == .perToken }
    }

    struct PeerKey: Hashable {
        var operation: String, variant: String, tokens: Int
    }

    /// results/bench/peers.csv (make bench-peers): its rows and the indices of the columns
    /// read here; nil when the file is absent.
    func peersTable() throws -> (rows: [[String]], operation: Int, variant: Int, tokens: Int, implementation: Int,
                                 metric: Int, value: Int, torchVersion: Int?)? {
        let path = "\(bench)/peers.csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let parsed: (header: [String], rows: [[String]])
        do { parsed = try CSVTable.parse(text) } catch { throw HarnessError.failed("report: \(path): \(error)") }
        let col = Dictionary(uniqueKeysWithValues: parsed.header.enumerated().map { ($1, $0) })
        guard let op = col["operation"], let v = col["variant"], let tok = col["tokens"], let impl = col["implementation"],
              let met = col["metric"], let val = col["value"] else { throw HarnessError.failed("report: \(path) lacks its columns") }
        return (parsed.rows, op, v, tok, impl, met, val, col["torch_version"])
    }

    /// Median seconds per (operation, variant, tokens) of one implementation in peers.csv.
    func peerTimes(implementation: String) throws -> [PeerKey: Double] {
        guard let p = try peersTable() else { return [:] }
        var times: [PeerKey: Double] = [:]
        for r in p.rows where r[p.implementation] == implementation && r[p.metric] == "median_seconds" {
            if let t = Int(r[p.tokens]), let seconds = Double(r[p.value]) {
                times[PeerKey(operation: r[p.operation], variant: r[p.variant], tokens: t)] = seconds
            }
        }
        return times
    }

    /// results/bench/peers.csv (make bench-peers), when present: AttnLab against PyTorch on the
    /// same shapes and threads, and the worst numerical disagreement. Absent: a table saying so.
    mutating func peers() throws {
        var table = ReportTable(columns: [("operation", "l"), ("mechanism", "l"), ("tokens", "r"), ("AttnLab", "r"),
                                          ("PyTorch", "r"), ("AttnLab / PyTorch", "r")], rows: [])
        guard let p = try peersTable() else {
            numbers.add("PeersStatus", "not measured (no results/bench/peers.csv; run make bench-peers)", "PyTorch comparison")
            numbers.add("PeersWorstRelError", "n/a", "worst relative disagreement with PyTorch")
            numbers.add("PeersTorchVersion", "n/a", "torch version")
            table.rows.append(["not measured", "", "", "", "", ""])
            files["peers.tex"] = table.latex
            files["peers.md"] = table.markdown
            return
        }
        let (rows, op, v, tok, impl, met, val) = (p.rows, p.operation, p.variant, p.tokens, p.implementation, p.metric, p.value)
        func time(_ row: [String], _ who: String) -> Double? {
            rows.first { $0[op] == row[op] && $0[v] == row[v] && $0[tok] == row[tok] && $0[impl] == who
                && ($0[met] == "median_seconds" || $0[met] == "median_step_seconds") }.flatMap { Double($0[val]) }
        }
        for r in rows where r[met] == "time_ratio" {
            guard let a = time(r, "attnlab"), let b = time(r, "pytorch"), let ratio = Double(r[val]) else { continue }
            let unit = r[op] == "decode" ? 1e3 : 1.0
            table.rows.append([r[op], Self.label(r[v]), r[tok], formatNumber(a * unit, decimals: r[op] == "decode" ? 2 : 3) + (r[op] == "decode" ? " ms" : " s"),
                               formatNumber(b * unit, decimals: r[op] == "decode" ? 2 : 3) + (r[op] == "decode" ? " ms" : " s"), formatNumber(ratio, decimals: 2)])
        }
        let worst = rows.filter { $0[met] == "rel_error" }.compactMap { Double($0[val]) }.max() ?? .nan
        numbers.add("PeersStatus", "measured", "PyTorch comparison")
        numbers.add("PeersWorstRelError", String(format: "%.1e", worst), "worst relative disagreement with PyTorch")
        numbers.add("PeersTorchVersion", p.torchVersion.map { rows.first?[$0] ?? "" } ?? "", "torch version")
        claim(.peersAgree, worst < 1e-4, "worst relative error \(worst)")
        files["peers.tex"] = table.latex
        files["peers.md"] = table.markdown
    }

    // MARK: helpers

    /// Series in registry order (a mechanism's inference paths after it), unknown ones last.
    func seriesOrder(_ names: [String]) -> [String] {
        let order = Series.all.map(\.id)
        return Array(Set(names)).sorted { (order.firstIndex(of: $0) ?? Int.max, $0) < (order.firstIndex(of: $1) ?? Int.max, $1) }
    }
}

/// 16384 → "16k", 128 → "128".
func tokenCount(_ n: Int) -> String { n >= 1024 && n % 1024 == 0 ? "\(n / 1024)k" : String(n) }

/// Half the min–max range, the ± shown next to a mean over seeds.
func spread(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : (xs.max()! - xs.min()!) / 2 }
