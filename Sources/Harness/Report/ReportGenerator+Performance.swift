// Implementation performance from results/bench (machine.csv, peers.csv): perf.csv/.tex/.md
// (achieved rates against the machine's ceilings) and peers.tex/.md (AttnLab against PyTorch);
// claim peers-agree.

import Attention
import Foundation
import TensorCore

extension ReportGenerator {
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
        // Decode at 32k where measured (the target), else at the longest context.
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
}
