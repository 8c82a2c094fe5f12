// `attnlab merge`: every shard of a profile's runs → results/<experiment>.csv, sorted
// deterministically (variant in registry order, then the parameters, seed, point and
// metric, numbers compared as numbers). Refuses while runs are missing, so a merged
// file is always a whole sweep; rewrites the file only when its content changes, so
// make sees an unchanged CSV as up to date. The file is replaced atomically (AtomicFile): a
// merge that is killed leaves the previous CSV whole. Each experiment's CSV is a whole sweep
// of its own; merging several is several independent files.

import Attention
import Foundation
import TensorCore

public enum Merger {
    public struct Outcome: Sendable {
        public var path: String
        public var rows: Int
        public var changed: Bool
        /// Temporary files a killed merge had left in the output directory, now removed.
        public var removedTemporaries: [String] = []
    }

    /// Writes `<directory>/<experiment>.csv`; the directory defaults to the store's results
    /// directory (a profile's own output directory keeps the committed CSV untouched).
    public static func merge(_ spec: ExperimentSpec, profile: Profile, store: ShardStore, into directory: String? = nil) throws -> Outcome {
        let runs = try spec.runs(profile: profile)
        let missing = runs.filter { !store.isFinished($0, profile) }
        if !missing.isEmpty {
            let names = missing.prefix(3).map(\.key).joined(separator: ", ")
            throw HarnessError.failed("\(spec.name) (\(profile.rawValue)): \(missing.count) of \(runs.count) runs have no shard yet (\(names)\(missing.count > 3 ? ", …" : "")); run `attnlab run \(spec.name) --profile \(profile.rawValue)` first")
        }
        var rows: [[String]] = []
        for run in runs { rows += try store.read(run, profile, spec: spec) }
        let header = ShardStore.header(spec)
        rows.sort { compare($0, $1, header: header) }
        let text = CSVTable.render(header: header, rows: rows)
        let path = "\(directory ?? store.results)/\(spec.name).csv"
        let removed = AtomicFile.removeStaleTemporaries(in: directory ?? store.results)
        let old = try? String(contentsOfFile: path, encoding: .utf8)
        if old != text { try AtomicFile.write(text, to: path) }
        return Outcome(path: path, rows: rows.count, changed: old != text, removedTemporaries: removed)
    }

    /// Sort order of merged rows: everything before the measured value, variant first by registry order.
    static func compare(_ a: [String], _ b: [String], header: [String]) -> Bool {
        let variantIndex = header.firstIndex(of: "variant")!
        let order = Dictionary(uniqueKeysWithValues: Variant.allCases.enumerated().map { ($1.rawValue, $0) })
        let ra = order[a[variantIndex]] ?? Int.max, rb = order[b[variantIndex]] ?? Int.max
        if ra != rb { return ra < rb }
        let valueIndex = header.firstIndex(of: "value")!
        for i in 0..<valueIndex where a[i] != b[i] {
            if let x = Double(a[i]), let y = Double(b[i]) { return x < y }
            return a[i] < b[i]
        }
        return false
    }
}
