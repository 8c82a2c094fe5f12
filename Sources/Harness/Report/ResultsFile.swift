// A merged results CSV (results/<experiment>.csv) read back for the report generator:
// rows addressed by column name, filtered by metric and column values.

import Foundation
import TensorCore

public struct ResultsFile: Sendable {
    public struct Row: Sendable {
        let fields: [String]
        let index: [String: Int]

        public subscript(_ column: String) -> String { index[column].map { fields[$0] } ?? "" }
        public var value: Double { Double(self["value"]) ?? .nan }
        public var variant: String { self["variant"] }
        /// The series a figure draws: the variant, with MLA's inference path where there is one.
        public var series: String {
            let path = self["mla_path"]
            return path.isEmpty ? variant : "\(variant)-\(path)"
        }
        public func int(_ column: String) -> Int? { Int(self[column]) }
        public func double(_ column: String) -> Double? { Double(self[column]) }
    }

    public let name: String
    public let path: String
    public let rows: [Row]

    public static func load(results: String, experiment: String) throws -> ResultsFile {
        let path = "\(results)/\(experiment).csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HarnessError.failed("report: \(path) is missing; run `attnlab run \(experiment) --merge` (or make all) first")
        }
        let table: (header: [String], rows: [[String]])
        do { table = try CSVTable.parse(text) } catch { throw HarnessError.failed("report: \(path): \(error)") }
        if let dup = Dictionary(grouping: table.header, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw HarnessError.failed("report: \(path) has the column '\(dup)' twice")
        }
        let index = Dictionary(uniqueKeysWithValues: table.header.enumerated().map { ($1, $0) })
        for needed in ["variant", "metric", "value", "profile", "seed"] where index[needed] == nil {
            throw HarnessError.failed("report: \(path) has no column '\(needed)'")
        }
        return ResultsFile(name: experiment, path: path, rows: table.rows.map { Row(fields: $0, index: index) })
    }

    /// Rows of one metric whose columns equal the given values.
    public func rows(_ metric: String, _ filter: [String: String] = [:]) -> [Row] {
        rows.filter { r in r["metric"] == metric && filter.allSatisfy { r[$0.key] == $0.value } }
    }

    /// The one value of a metric under a filter; fails when there is none or several.
    public func value(_ metric: String, _ filter: [String: String] = [:]) throws -> Double {
        let found = rows(metric, filter)
        guard found.count == 1 else {
            throw HarnessError.failed("report: \(path): expected one \(metric) row for \(filter), found \(found.count)")
        }
        return found[0].value
    }

    /// Distinct values of a column in first-seen order.
    public func distinct(_ column: String, metric: String? = nil) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for r in rows where metric == nil || r["metric"] == metric! {
            if seen.insert(r[column]).inserted { out.append(r[column]) }
        }
        return out
    }

    /// The profile the file was produced with (all rows share it).
    public var profile: String { rows.first?["profile"] ?? "" }
}

/// Least-squares slope of log y against log x (the exponent of a power law).
public func logLogSlope(_ points: [(x: Double, y: Double)]) -> Double {
    let p = points.filter { $0.x > 0 && $0.y > 0 }
    guard p.count >= 2 else { return .nan }
    let xs = p.map { log($0.x) }, ys = p.map { log($0.y) }
    let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
    var sxy = 0.0, sxx = 0.0
    for i in xs.indices { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) * (xs[i] - mx) }
    return sxx > 0 ? sxy / sxx : .nan
}

func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
