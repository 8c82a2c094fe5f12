// Shards: one CSV per run under <results>/shards/<experiment>/<profile>/<key>.csv,
// written atomically (AtomicFile), so a file that exists is a finished run. Tidy long
// format, one row per measured value; the columns are the same for every run of an
// experiment, so merging is concatenation and a sort. A shard from before a parameter
// column was added reads as if written now, when its run does not set that parameter.

import Foundation
import TensorCore

public struct ShardStore: Sendable {
    /// The results directory (results/ by default).
    public var results: String

    public init(results: String) { self.results = results }

    public func directory(_ experiment: String, _ profile: Profile) -> String {
        "\(results)/shards/\(experiment)/\(profile.rawValue)"
    }

    public func path(_ run: RunSpec, _ profile: Profile) -> String {
        "\(directory(run.experiment, profile))/\(run.key).csv"
    }

    /// The claim file a process holds while it executes the run (see RunClaim).
    public func claimPath(_ run: RunSpec, _ profile: Profile) -> String {
        "\(directory(run.experiment, profile))/.\(run.key).claim"
    }

    /// A shard is a regular file (whatever else sits at its path does not finish the run).
    public func isFinished(_ run: RunSpec, _ profile: Profile) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path(run, profile), isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Shards of a profile that no run of `spec` writes any more (after a spec's version, a
    /// parameter or a grid changed): file names, sorted. Temporary and claim files are not shards.
    public func orphans(of spec: ExperimentSpec, _ profile: Profile) throws -> [String] {
        let keys = Set(try spec.runs(profile: profile).map { "\($0.key).csv" })
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory(spec.name, profile))) ?? []
        return files.filter { $0.hasSuffix(".csv") && !$0.hasPrefix(".") && !keys.contains($0) }.sorted()
    }

    /// Whether any shard of the profile exists (used by `--profile auto`).
    public func hasShards(_ experiment: String, _ profile: Profile) -> Bool {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory(experiment, profile))) ?? []
        return files.contains { $0.hasSuffix(".csv") && !$0.hasPrefix(".") }
    }

    /// The profile a plain `make all` uses: paper where every paper run has its shard
    /// (committed), quick otherwise. A paper sweep still in progress (its shards land over
    /// several sessions) is continued only by asking for it (`--profile paper`), never by a
    /// plain `make all` that would start hours of training.
    public func automaticProfile(_ spec: ExperimentSpec) -> Profile {
        guard let runs = try? spec.runs(profile: .paper), !runs.isEmpty else { return .quick }
        return runs.allSatisfy { isFinished($0, .paper) } ? .paper : .quick
    }

    /// The CSV header of an experiment's shards and merged file.
    public static func header(_ spec: ExperimentSpec) -> [String] {
        ["experiment", "spec_version", "profile", "variant"] + spec.kind.parameterNames + ["seed"]
            + spec.kind.pointColumns + ["metric", "value", "unit"] + Provenance.header
    }

    /// A value as CSV text: integers without a fraction, others in Swift's shortest round-trip form.
    public static func format(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    public func write(_ measurements: [Measurement], of run: RunSpec, spec: ExperimentSpec, profile: Profile,
                      provenance: Provenance, blasThreads: Int) throws {
        let kind = spec.kind
        let rows = measurements.map { m -> [String] in
            [spec.name, String(spec.version), profile.rawValue, run.variant]
                + kind.parameterNames.map { run.parameters[$0] ?? "" } + [String(run.seed)]
                + kind.pointColumns.map { m.point[$0] ?? "" }
                + [m.metric, Self.format(m.value), m.unit] + provenance.columns(blasThreads: blasThreads)
        }
        try AtomicFile.write(CSVTable.render(header: Self.header(spec), rows: rows), to: path(run, profile))
    }

    public func read(_ run: RunSpec, _ profile: Profile, spec: ExperimentSpec) throws -> [[String]] {
        let p = path(run, profile)
        guard let text = try? String(contentsOfFile: p, encoding: .utf8) else { throw HarnessError.failed("cannot read shard \(p)") }
        let table: (header: [String], rows: [[String]])
        do { table = try CSVTable.parse(text) } catch { throw HarnessError.failed("shard \(p): \(error)") }
        let expected = Self.header(spec)
        if table.header == expected { return table.rows }
        if let rows = Self.addingUnsetParameters(table, to: expected, run: run, kind: spec.kind) { return rows }
        throw HarnessError.failed("shard \(p) has columns \(table.header.joined(separator: ",")); expected \(expected.joined(separator: ",")). Delete it to rerun that run.")
    }

    /// A shard written before some parameter columns existed (a knob added to a kind later,
    /// e.g. `needles` or `test_examples`): when the run sets none of them, each of their
    /// cells would be empty, so the rows are read with empty cells there; nil otherwise
    /// (a missing column that is not a parameter or that the run sets, or an extra column).
    static func addingUnsetParameters(_ table: (header: [String], rows: [[String]]), to header: [String],
                                      run: RunSpec, kind: ExperimentKind) -> [[String]]? {
        let index = Dictionary(table.header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let missing = header.filter { index[$0] == nil }
        guard index.count == table.header.count, Set(table.header).isSubset(of: header),
              missing.allSatisfy({ kind.parameterNames.contains($0) && run.parameters[$0] == nil }) else { return nil }
        return table.rows.map { row in header.map { name in index[name].map { row[$0] } ?? "" } }
    }

    /// A finished run's measurements, as its shard holds them; nil if it has no shard yet.
    public func measurements(_ run: RunSpec, _ profile: Profile, spec: ExperimentSpec) throws -> [Measurement]? {
        guard isFinished(run, profile) else { return nil }
        let header = Self.header(spec)
        let column = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        return try read(run, profile, spec: spec).map { row in
            var point: [String: String] = [:]
            for name in spec.kind.pointColumns where !row[column[name]!].isEmpty { point[name] = row[column[name]!] }
            guard let value = Double(row[column["value"]!]) else {
                throw HarnessError.failed("shard \(path(run, profile)): value '\(row[column["value"]!])' is not a number")
            }
            return Measurement(row[column["metric"]!], value, row[column["unit"]!], at: point)
        }
    }
}
