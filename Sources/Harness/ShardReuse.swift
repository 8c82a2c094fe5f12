// A run another experiment has already trained is not trained again. A training run is a
// deterministic function of its variant, seed and parameters (data streams, initial
// weights and schedule derive from nothing else), and a shard's key hashes exactly these
// and the spec version; recall-vs-cache's width points, for instance, are mqar-recall's
// (64, 4) cells at widths 64 and 128. Such a shard is adopted: its rows are copied with
// this experiment's name and profile (the version is the same: the key hashes it), its
// provenance (commit, date, machine) kept as written, and its `run_seconds` renamed
// `reused_run_seconds`, so that each experiment's run time counts the machine time it
// spent itself.
//
// Adopted only after checking every row: variant, seed, spec version and each parameter
// cell equal to this run's; for a run at the grid's chosen rate, the rate it trained at
// equal to the one this experiment's own grid chooses.

import Foundation
import TensorCore

extension ExperimentKind {
    /// Kinds whose runs are pure functions of their parameters and measure no timing that
    /// the comparison depends on: training runs. Timed kinds always measure anew.
    var reusesEquivalentRuns: Bool { self == .train }
}

extension ShardStore {
    /// The metric a reused shard's run time is kept under.
    public static let reusedRunSeconds = "reused_run_seconds"

    /// Adopts a finished shard of another experiment that trained exactly `run`, writing it
    /// as this run's shard; returns the source's path, or nil when there is none (or a
    /// run at the chosen rate whose grid has not finished here).
    func adoptEquivalentShard(_ run: RunSpec, _ profile: Profile, spec: ExperimentSpec,
                              finished: (RunSpec) throws -> [Measurement]?) throws -> String? {
        guard spec.kind.reusesEquivalentRuns, let hash = run.key.split(separator: "-").last else { return nil }
        var chosenRate: Float? = nil
        if LearningRateChoice.isSelected(run) {
            guard let rate = try? LearningRateChoice.resolve(run, finished: finished) else { return nil }
            chosenRate = Float(rate)
        }
        let header = Self.header(spec)
        let column = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        for source in candidates(endingIn: "-\(hash).csv", excluding: spec.name) {
            guard let text = try? String(contentsOfFile: source, encoding: .utf8), let table = try? CSVTable.parse(text),
                  let rows = table.header == header ? table.rows : Self.addingUnsetParameters(table, to: header, run: run, kind: spec.kind),
                  !rows.isEmpty else { continue }
            let sameRun = rows.allSatisfy { row in
                row[column["variant"]!] == run.variant && row[column["seed"]!] == String(run.seed)
                    && row[column["spec_version"]!] == String(spec.version)
                    && spec.kind.parameterNames.allSatisfy { row[column[$0]!] == (run.parameters[$0] ?? "") }
            }
            guard sameRun else { continue }
            if let chosenRate {
                let used = rows.first { $0[column["metric"]!] == "learning_rate" }.flatMap { Double($0[column["value"]!]) }
                guard let used, Float(used) == chosenRate else { continue }
            }
            let adopted = rows.map { row -> [String] in
                var r = row
                r[column["experiment"]!] = spec.name
                r[column["profile"]!] = profile.rawValue
                if r[column["metric"]!] == "run_seconds" { r[column["metric"]!] = Self.reusedRunSeconds }
                return r
            }
            try AtomicFile.write(CSVTable.render(header: header, rows: adopted), to: path(run, profile))
            return source
        }
        return nil
    }

    /// Whether another experiment holds a shard under this run's hash (cheap: names only;
    /// `adoptEquivalentShard` checks the contents).
    func mayHaveEquivalentShard(_ run: RunSpec, spec: ExperimentSpec) -> Bool {
        guard spec.kind.reusesEquivalentRuns, let hash = run.key.split(separator: "-").last else { return false }
        return !candidates(endingIn: "-\(hash).csv", excluding: spec.name).isEmpty
    }

    /// Shard files of every other experiment and profile whose names end in `suffix`, sorted.
    private func candidates(endingIn suffix: String, excluding experiment: String) -> [String] {
        let fm = FileManager.default
        let root = "\(results)/shards"
        var found: [String] = []
        for other in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where other != experiment && !other.hasPrefix(".") {
            for profile in Profile.allCases {
                let dir = "\(root)/\(other)/\(profile.rawValue)"
                for file in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where file.hasSuffix(suffix) && !file.hasPrefix(".") {
                    found.append("\(dir)/\(file)")
                }
            }
        }
        return found
    }
}
