// Provenance and cost: the commit, machine, compiler and dates the results came from, and
// runtime.tex/.md (runs and run time per experiment). Numbers only; no claims.

import Attention
import Foundation

extension ReportGenerator {
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

        // Run time is the machine time each experiment spent: a run adopted from another
        // experiment (the same training) is counted where it ran, and listed as reused here.
        var table = ReportTable(columns: [("experiment", "l"), ("profile", "l"), ("runs", "r"), ("reused", "r"), ("run time (min)", "r")], rows: [])
        var totalRuns = 0, totalReused = 0, totalSeconds = 0.0
        for e in Self.experiments {
            let f = loaded[e]!
            let times = f.rows("run_seconds"), reused = f.rows(ShardStore.reusedRunSeconds).count
            let seconds = times.map(\.value).reduce(0, +)
            totalRuns += times.count + reused; totalReused += reused; totalSeconds += seconds
            table.rows.append([e, f.profile, String(times.count + reused), String(reused), formatNumber(seconds / 60, decimals: 1)])
        }
        table.rows.append(["all", "", String(totalRuns), String(totalReused), formatNumber(totalSeconds / 60, decimals: 1)])
        table.rulesAfter = [Self.experiments.count - 1]
        files["runtime.tex"] = table.latex
        files["runtime.md"] = table.markdown
        numbers.add("TotalRuns", String(totalRuns), "runs in all results")
        numbers.add("TotalRunHours", totalSeconds / 3600, decimals: 1, "sum of run wall times, hours")
    }
}
