// The KV-cache policies section: trained models (MHA, GQA, MLA) evaluated with every
// layer's cache compressed at the boundary between context and questions, per policy and
// setting, against the bytes the compressed cache keeps per context token (mean over
// seeds; per task, MQAR and the multi-key needle, its largest cell run). Writes cache-policies.csv for the two figures (against bytes, and
// against the fraction of the bytes removed, kvpress's x axis), cache-policies.tex (the
// table) and the numbers the prose cites.

import CachePolicies
import TensorCore
import Foundation

extension ReportGenerator {
    mutating func cachePolicies(_ f: ResultsFile, architectures: ResultsFile) throws {
        let all = f.rows("accuracy")
        guard !all.isEmpty else { throw HarnessError.failed("report: cache-policies has no accuracy rows") }
        // Per task, its largest cell run; MQAR first (the prose and the claim cite it), then the needle task.
        let taskOrder = ["mqar", "multikey-needle"]
        let tasks = Array(Set(all.map { $0["task"] })).sorted {
            (taskOrder.firstIndex(of: $0) ?? taskOrder.count, $0) < (taskOrder.firstIndex(of: $1) ?? taskOrder.count, $1)
        }
        var cells: [String: [String: String]] = [:]
        for task in tasks {
            let rows = all.filter { $0["task"] == task }
            let seqLen = rows.compactMap { $0.int("seq_len") }.max()!
            let first = rows.first { $0.int("seq_len") == seqLen }!
            cells[task] = ["task": task, "seq_len": String(seqLen), "kv_pairs": first["kv_pairs"], "d_model": first["d_model"],
                           "needles": first["needles"], "questions": first["questions"], "vocab": first["vocab"]]
        }
        struct Setting: Hashable { var policy: String; var ratio: String; var bits: String }
        func setting(_ r: ResultsFile.Row) -> Setting { Setting(policy: r["policy"], ratio: r["ratio"], bits: r["bits"]) }
        let policyOrder = CachePolicy.allCases.map(\.rawValue)
        let variants = seriesOrder(Array(Set(all.map(\.variant))))
        func label(_ s: Setting) -> String {
            let name = CachePolicy(rawValue: s.policy)?.displayName ?? s.policy
            switch CachePolicy(rawValue: s.policy)?.kind {
            case .eviction?: return "\(name), \(formatNumber((Double(s.ratio) ?? .nan) * 100, decimals: 1)) % removed"
            case .quantisation?: return "\(name), \(s.bits) bits"
            default: return name
            }
        }
        var csvRows: [(task: Int, variant: Int, policy: Int, bytes: Double, line: String)] = []
        let columns: [(title: String, alignment: Character)] = variants.flatMap { v -> [(title: String, alignment: Character)] in
            [("\(Self.label(v)) accuracy %", "r"), ("bytes/token", "r")]
        }
        var table = ReportTable(columns: [("policy", "l")] + columns, rows: [])
        for (t, task) in tasks.enumerated() {
            let cell = cells[task]!.filter { !$0.value.isEmpty }
            let rows = f.rows("accuracy", cell)
            let settings = Array(Set(rows.map(setting))).sorted {
                let a = policyOrder.firstIndex(of: $0.policy) ?? policyOrder.count, b = policyOrder.firstIndex(of: $1.policy) ?? policyOrder.count
                if a != b { return a < b }
                return (Double($0.ratio) ?? 0, -(Double($0.bits) ?? 0)) < (Double($1.ratio) ?? 0, -(Double($1.bits) ?? 0))
            }
            if !table.rows.isEmpty { table.rulesAfter.insert(table.rows.count - 1) }
            table.rows.append([Self.policyTaskTitle(cells[task]!)] + Array(repeating: "", count: columns.count))
            table.rulesAfter.insert(table.rows.count - 1)
            for s in settings {
                var row = [label(s)]
                for v in variants {
                    let filter = cell.merging(["variant": v, "policy": s.policy, "ratio": s.ratio, "bits": s.bits]) { $1 }
                    let acc = f.rows("accuracy", filter).map(\.value), bytes = f.rows("cache_bytes_per_context_token", filter).map(\.value)
                    let kept = f.rows("kept_fraction", filter).map(\.value)
                    guard !acc.isEmpty, !bytes.isEmpty, !kept.isEmpty else { row += ["—", "—"]; continue }
                    let mean = acc.reduce(0, +) / Double(acc.count), meanBytes = bytes.reduce(0, +) / Double(bytes.count)
                    let removed = 1 - kept.reduce(0, +) / Double(kept.count)
                    csvRows.append((t, variants.firstIndex(of: v)!, policyOrder.firstIndex(of: s.policy) ?? policyOrder.count, meanBytes,
                                    "\(v),\(s.policy),\(s.ratio),\(s.bits),\(acc.count),\(meanBytes),\(removed),\(mean),\(acc.min()!),\(acc.max()!),\(task)"))
                    row += [formatNumber(mean * 100, decimals: 1), formatNumber(meanBytes, decimals: 0)]
                }
                table.rows.append(row)
            }
        }
        // One run of rows per (task, mechanism, policy), by bytes: the figure draws each as one line.
        let sorted = csvRows.sorted { ($0.task, $0.variant, $0.policy, $0.bytes) < ($1.task, $1.variant, $1.policy, $1.bytes) }
        files["cache-policies.csv"] = "variant,policy,ratio,bits,seeds,bytes,bytes_removed,accuracy,accuracy_min,accuracy_max,task\n"
            + sorted.map { $0.line + "\n" }.joined()
        files["cache-policies.tex"] = table.latex
        numbers.add("PoliciesSeeds", String(Set(all.map { $0["seed"] }).count), "seeds per cache-policy point")
        try policyDecode()
        try evictionDecode()
        try policiesPeer()
        policyNumbers(f, mqar: cells["mqar"].map { $0.filter { !$0.value.isEmpty } })
        needlePolicyNumbers(f, needle: cells["multikey-needle"].map { $0.filter { !$0.value.isEmpty } })
        if let mqar = cells["mqar"] {
            architecturesOnPolicyAxis(architectures, cell: mqar, vocab: mqar["vocab"] ?? "")
        } else {
            architecturesOnPolicyAxis(architectures, cell: [:], vocab: "")
        }
        familiesAtBudgets(f, architectures: architectures, cell: cells["mqar"])
    }

    /// The table's heading row of a task's block.
    static func policyTaskTitle(_ cell: [String: String]) -> String {
        switch cell["task"] {
        case "mqar"?: return "MQAR (T = \(cell["seq_len"]!), N = \(cell["kv_pairs"]!), width \(cell["d_model"]!))"
        case "multikey-needle"?:
            return "Multi-key needle (T = \(cell["seq_len"]!), K = \(cell["needles"]!), \(cell["questions"]!) questions, width \(cell["d_model"]!))"
        default: return cell["task"] ?? ""
        }
    }

    /// The numbers the prose cites on the MQAR cell, and the attention-sink claim there.
    mutating func policyNumbers(_ f: ResultsFile, mqar cell: [String: String]?) {
        let cell = cell ?? ["task": "mqar", "seq_len": "none"]
        numbers.add("PoliciesCell", cell["kv_pairs"].map { "T = \(cell["seq_len"]!), N = \($0), width \(cell["d_model"] ?? "")" } ?? "n/a",
                    "cache-policies MQAR cell shown")
        let c = Double(2 * (Int(cell["kv_pairs"] ?? "") ?? 0))
        numbers.add("PoliciesContext", String(Int(c)), "context tokens compressed (MQAR's pairs)")
        // Attention sinks: the first token's mean share of the other context queries' attention,
        // over layers and kv heads, against even attention over each causal prefix.
        let harmonic = c >= 1 ? (1...Int(c)).reduce(0.0) { $0 + 1 / Double($1) } : .nan
        numbers.add("PoliciesSinkEven", (harmonic - 1) / (c - 1), decimals: 2, "first-token attention if spread evenly over each prefix")
        for v in Self.variants {
            let mass = f.rows("first_token_attention", cell.merging(["variant": v]) { $1 }).map(\.value)
            numbers.add("PoliciesSink" + macroWord(v), mass.isEmpty ? .nan : mass.reduce(0, +) / Double(mass.count), decimals: 2,
                        "\(v) mean attention on the first context token (layers, kv heads, seeds)")
            numbers.add("PoliciesSinkMax" + macroWord(v), mass.max() ?? .nan, decimals: 2, "\(v) largest first-token attention of any layer and kv head")
            let trained = f.rows("trained_accuracy", cell.merging(["variant": v]) { $1 }).map(\.value)
            numbers.add("PoliciesTrained" + macroWord(v), trained.isEmpty ? .nan : trained.reduce(0, +) / Double(trained.count) * 100,
                        decimals: 1, "\(v) test accuracy % of the trained MQAR models the policies start from")
        }
        let allMass = f.rows("first_token_attention", cell).map(\.value)
        claim(.policiesNoFirstTokenSink, !allMass.isEmpty && allMass.allSatisfy { $0 <= 2 * (harmonic - 1) / (c - 1) },
              "largest first-token attention \(allMass.max() ?? .nan), even attention \((harmonic - 1) / (c - 1))")
    }

    /// The numbers the prose cites on the multi-key needle cell ("n/a" where it did not run).
    mutating func needlePolicyNumbers(_ f: ResultsFile, needle cell: [String: String]?) {
        let context = cell.flatMap { c -> Int? in
            guard let t = Int(c["seq_len"] ?? ""), let q = Int(c["questions"] ?? "") else { return nil }
            return t - 2 * q  // MultiKeyNeedleTask.contextLength
        }
        numbers.add("PoliciesNeedleCell", cell.map { Self.policyTaskTitle($0) } ?? "n/a", "cache-policies needle cell shown")
        numbers.add("PoliciesNeedleContext", context.map(String.init) ?? "n/a", "needle context tokens compressed")
        for v in Self.variants {
            let trained = cell.map { c in f.rows("trained_accuracy", c.merging(["variant": v]) { $1 }).map(\.value) } ?? []
            numbers.add("PoliciesNeedleTrained" + macroWord(v), trained.isEmpty ? .nan : trained.reduce(0, +) / Double(trained.count) * 100,
                        decimals: 1, "\(v) test accuracy % of the trained needle models the policies start from")
        }
    }

    /// Decode over the int8 and KIVI caches against Float32 (results/bench/policy-decode.csv,
    /// `make bench`): at the longest context measured, per kv-head grouping, the time ratios
    /// of one run. Missing file: "n/a".
    mutating func policyDecode() throws {
        let path = "\(bench)/policy-decode.csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            numbers.add("PolicyDecodeContext", "n/a", "no results/bench/policy-decode.csv")
            for v in Self.variants {
                for name in ["", "KIVIFour", "KIVITwo"] { numbers.add("PolicyDecode\(name)Ratio" + macroWord(v), "n/a", "no results/bench/policy-decode.csv") }
            }
            return
        }
        let table: (header: [String], rows: [[String]])
        do { table = try CSVTable.parse(text) } catch { throw HarnessError.failed("report: \(path): \(error)") }
        let col = Dictionary(uniqueKeysWithValues: table.header.enumerated().map { ($1, $0) })
        guard let variant = col["variant"], let tokens = col["tokens"], let layoutColumn = col["layout"], let metric = col["metric"],
              let value = col["value"] else {
            throw HarnessError.failed("report: \(path) lacks variant/tokens/layout/metric/value columns")
        }
        guard let longest = table.rows.compactMap({ Int($0[tokens]) }).max() else { throw HarnessError.failed("report: \(path) has no rows") }
        numbers.add("PolicyDecodeContext", Double(longest), decimals: 0, "context of the int8 decode comparison")
        // Every mechanism gets its macros: "n/a" where the benchmark did not time its head shape.
        for v in Self.variants {
            for (layout, name) in [("int8", ""), ("kivi4", "KIVIFour"), ("kivi2", "KIVITwo")] {
                func matches(_ row: [String]) -> Bool {
                    row[variant] == v && Int(row[tokens]) == longest && row[layoutColumn] == layout && row[metric] == "time_ratio_to_float32"
                }
                let ratio = table.rows.first(where: matches).flatMap { Double($0[value]) } ?? .nan
                numbers.add("PolicyDecode\(name)Ratio" + macroWord(v), ratio, decimals: 2, "\(v) \(layout) / Float32 decode time at \(longest) tokens")
            }
        }
    }

    /// Generation at a budget with one eviction per token (results/bench/eviction-decode.csv,
    /// `make bench`): at the longest context and the ratio removed nearest a half, per
    /// kv-head grouping, the plain kernel over the budget against the whole context, and
    /// each rule against the plain kernel over the budget (its bookkeeping's price).
    mutating func evictionDecode() throws {
        let path = "\(bench)/eviction-decode.csv"
        let rules = EvictingDecodeCache.Rule.allCases.map(\.rawValue)
        func missing() {
            for name in ["Context", "Removed"] { numbers.add("EvictionDecode\(name)", "n/a", "no results/bench/eviction-decode.csv") }
            for v in Self.variants {
                for name in ["Budget", "SnapKVBoundary"] + rules.map(macroWord) {
                    numbers.add("EvictionDecode\(name)" + macroWord(v), "n/a", "no results/bench/eviction-decode.csv")
                }
            }
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return missing() }
        let table: (header: [String], rows: [[String]])
        do { table = try CSVTable.parse(text) } catch { throw HarnessError.failed("report: \(path): \(error)") }
        let col = Dictionary(uniqueKeysWithValues: table.header.enumerated().map { ($1, $0) })
        guard let variant = col["variant"], let tokens = col["tokens"], let ratioColumn = col["ratio"], let policy = col["policy"],
              let metric = col["metric"], let value = col["value"] else {
            throw HarnessError.failed("report: \(path) lacks variant/tokens/ratio/policy/metric/value columns")
        }
        guard let longest = table.rows.compactMap({ Int($0[tokens]) }).max(),
              let removed = Set(table.rows.compactMap { Double($0[ratioColumn]) }).min(by: { abs($0 - 0.5) < abs($1 - 0.5) }) else {
            throw HarnessError.failed("report: \(path) has no rows")
        }
        numbers.add("EvictionDecodeContext", Double(longest), decimals: 0, "context of the eviction decode comparison")
        numbers.add("EvictionDecodeRemoved", removed * 100, decimals: 1, "% of the context evicted in the eviction decode comparison")
        for v in Self.variants {
            func ratio(_ p: String, _ m: String) -> Double {
                table.rows.first { $0[variant] == v && Int($0[tokens]) == longest && Double($0[ratioColumn]) == removed && $0[policy] == p && $0[metric] == m }
                    .flatMap { Double($0[value]) } ?? .nan
            }
            numbers.add("EvictionDecodeBudget" + macroWord(v), ratio("budget", "time_ratio_to_full"), decimals: 2,
                        "\(v) decode time over the budget / over the whole context")
            numbers.add("EvictionDecodeSnapKVBoundary" + macroWord(v), ratio("snapkv-boundary", "time_ratio_to_full"), decimals: 1,
                        "\(v) SnapKV's one-off decision at the boundary, in decode steps over the whole context")
            for r in rules {
                numbers.add("EvictionDecode\(macroWord(r))" + macroWord(v), ratio(r, "time_ratio_to_budget"), decimals: 2,
                            "\(v) decode time with \(r) eviction / plain decode over the budget")
            }
        }
    }

    /// results/bench/policies-peer.csv (make policies-peer), when present: AttnLab's policies
    /// against kvpress's presses on the same trained models, the accuracy each side gets and
    /// how far the kept token sets agree. Absent: a table saying so.
    mutating func policiesPeer() throws {
        var table = ReportTable(columns: [("task", "l"), ("mechanism", "l"), ("policy", "l"), ("kvpress press", "l"), ("ratio", "r"),
                                          ("AttnLab acc.", "r"), ("kvpress acc.", "r"), ("kept: Jaccard", "r"), ("identical", "r")], rows: [])
        let path = "\(bench)/policies-peer.csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            numbers.add("PoliciesPeerStatus", "not measured (no results/bench/policies-peer.csv; run make policies-peer)", "kvpress comparison")
            numbers.add("PoliciesPeerAgreement", "n/a", "least prediction agreement with kvpress's model on the full cache")
            numbers.add("PoliciesPeerKvpressVersion", "n/a", "kvpress version")
            table.rows.append(["not measured", "", "", "", "", "", "", "", ""])
            files["policies-peer.tex"] = table.latex
            files["policies-peer.md"] = table.markdown
            return
        }
        let parsed: (header: [String], rows: [[String]])
        do { parsed = try CSVTable.parse(text) } catch { throw HarnessError.failed("report: \(path): \(error)") }
        let col = Dictionary(uniqueKeysWithValues: parsed.header.enumerated().map { ($1, $0) })
        let needed = ["task", "variant", "policy", "press", "ratio", "metric", "value", "kvpress_version"]
        guard needed.allSatisfy({ col[$0] != nil }) else { throw HarnessError.failed("report: \(path) lacks one of \(needed)") }
        func cell(_ r: [String], _ name: String) -> String { r[col[name]!] }
        func value(_ task: String, _ variant: String, _ policy: String, _ ratio: String, _ metric: String) -> Double {
            parsed.rows.first { cell($0, "task") == task && cell($0, "variant") == variant && cell($0, "policy") == policy
                && cell($0, "ratio") == ratio && cell($0, "metric") == metric }.flatMap { Double(cell($0, "value")) } ?? .nan
        }
        var seen = Set<[String]>()
        for r in parsed.rows where cell(r, "policy") != "full" {
            let key = ["task", "variant", "policy", "ratio"].map { cell(r, $0) }
            guard seen.insert(key).inserted else { continue }
            let (t, v, p, ratio) = (key[0], key[1], key[2], key[3])
            func pct(_ m: String) -> String { formatNumber(value(t, v, p, ratio, m) * 100, decimals: 1) }
            let jaccard = value(t, v, p, ratio, "kept_jaccard"), same = value(t, v, p, ratio, "kept_identical")
            table.rows.append([t, Self.label(v), (try? CachePolicy.parse(p).displayName) ?? p, cell(r, "press"), ratio, pct("attnlab_accuracy"),
                               pct("peer_accuracy"), jaccard.isNaN ? "—" : formatNumber(jaccard, decimals: 3),
                               same.isNaN ? "—" : formatNumber(same * 100, decimals: 0) + " %"])
        }
        let agreement = parsed.rows.filter { cell($0, "policy") == "full" && cell($0, "metric") == "prediction_agreement" }.compactMap { Double(cell($0, "value")) }
        let least = agreement.min() ?? .nan
        numbers.add("PoliciesPeerStatus", "measured", "kvpress comparison")
        numbers.add("PoliciesPeerAgreement", least * 100, decimals: 2, "least prediction agreement (%) with kvpress's model on the full cache")
        numbers.add("PoliciesPeerKvpressVersion", parsed.rows.first.map { cell($0, "kvpress_version") } ?? "", "kvpress version")
        // The two methods whose rules both sides state the same way must keep the same tokens.
        let sameRules = [CachePolicy.streaming, .snapkv].map(\.rawValue)
        let exact = parsed.rows.filter { sameRules.contains(cell($0, "policy")) && cell($0, "metric") == "kept_jaccard" }
            .compactMap { Double(cell($0, "value")) }
        claim(.policiesMatchKvpress, !exact.isEmpty && exact.allSatisfy { $0 == 1 } && least >= 0.995,
              "StreamingLLM/SnapKV Jaccard \(exact), least full-cache agreement \(least)")
        files["policies-peer.tex"] = table.latex
        files["policies-peer.md"] = table.markdown
    }

    /// The other family on the policies' axis: recall-vs-cache's configurations (the
    /// architectures and their knobs) as bytes per token, the state each keeps at the cell's
    /// length divided by that length (for a cache that grows per token, exactly its bytes
    /// per token; for a fixed state, the sliding window's or linear attention's, its cost
    /// spread over the sequence), with their Pareto frontier. Drawn only when both
    /// experiments ran the same MQAR cell (length, pairs, vocabulary).
    mutating func architecturesOnPolicyAxis(_ a: ResultsFile, cell: [String: String], vocab: String) {
        let header = "variant,knob,bytes,accuracy,frontier\n"
        let first = a.rows("accuracy").first
        let sameCell = first.map { $0["seq_len"] == cell["seq_len"] && $0["kv_pairs"] == cell["kv_pairs"] && $0["vocab"] == vocab } ?? false
        guard sameCell, let seqLen = Double(cell["seq_len"] ?? "") else {
            files["cache-policies-frontier.csv"] = header
            numbers.add("PoliciesFrontierNote", " (Not drawn here: recall-vs-cache ran another cell.)", "why the policy figure lacks the architectures")
            numbers.add("PoliciesFrontierProfile", a.profile, "profile of the recall-vs-cache results")
            return
        }
        let entries = Self.recallCacheEntries(a)
        var csv = header
        for e in entries.sorted(by: { $0.bytes < $1.bytes }) {
            csv += "\(e.variant),\(e.knob),\(e.bytes / seqLen),\(e.meanAccuracy),\(Self.dominated(e, in: entries) ? 0 : 1)\n"
        }
        files["cache-policies-frontier.csv"] = csv
        numbers.add("PoliciesFrontierNote", "", "why the policy figure lacks the architectures (empty: it has them)")
        numbers.add("PoliciesFrontierProfile", a.profile, "profile of the recall-vs-cache results drawn with the policies")
    }
}
