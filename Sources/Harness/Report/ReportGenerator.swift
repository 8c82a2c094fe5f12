// `attnlab report`: reads results/*.csv and writes paper/generated/: numbers.tex (every
// number the prose cites), tables (LaTeX and Markdown), the derived CSV some figures
// plot (fitted slopes, joined points), and the list of checked claims. A claim the data
// stop supporting fails the build with a message, unless checking is turned off (the
// smoke-profile pipeline check, whose seconds-long runs support nothing). The files are one
// set, published together: a generator that fails or is stopped leaves the previous set.
//
// This file holds the struct, the list of sections (`run()`) and `claim(...)`; each section
// is an extension of its own, ReportGenerator+<Section>.swift, shared helpers in +Helpers.

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
    /// Temporary files a killed generator had left in the output directory, removed by `run()`.
    public private(set) var removedTemporaries: [String] = []

    /// Adding an experiment to the report: one file, ReportGenerator+<Section>.swift, with
    /// its section (an extension, like +Needle), its name here and one line in `run()`'s list
    /// of sections; nothing else in the generator changes. (A new claim also needs its
    /// ClaimID in ClaimCatalog.swift and its \checked{} sentence in paper/report.tex; the
    /// Makefile lists the experiments and generated files it tracks.)
    static let experiments = ["kv-cache-models", "kv-cache-scaling", "prefill-scaling", "decode-scaling", "mqar-recall",
                              "mqar-one-head", "recall-vs-cache", "passkey-distance", "multikey-needle", "copying", "selective-copying", "throughput",
                              "cache-policies"]

    /// Display name of a series (a mechanism or one of its inference paths).
    static func label(_ series: String) -> String { Series.label(series) }

    static var variants: [String] { Variant.allCases.map(\.rawValue) }

    /// Generates everything; returns the claims (all holding, unless not enforced).
    public mutating func run() throws -> [Claim] {
        var loaded: [String: ResultsFile] = [:]
        for e in Self.experiments { loaded[e] = try ResultsFile.load(results: results, experiment: e) }
        // The sections, one line each (each in ReportGenerator+<Section>.swift), in output order.
        try provenance(loaded)
        try kvModels(loaded["kv-cache-models"]!)
        try kvScaling(loaded["kv-cache-scaling"]!)
        try prefill(loaded["prefill-scaling"]!)
        try decode(loaded["decode-scaling"]!)
        try mqar(loaded["mqar-recall"]!, oneHead: loaded["mqar-one-head"]!)
        try recallVsCache(loaded["recall-vs-cache"]!)
        try passkey(loaded["passkey-distance"]!)
        try multikeyNeedle(loaded["multikey-needle"]!)
        try copying(loaded["copying"]!, loaded["selective-copying"]!)
        try throughput(loaded["throughput"]!)
        try cachePolicies(loaded["cache-policies"]!, architectures: loaded["recall-vs-cache"]!)
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
        removedTemporaries = AtomicFile.removeStaleTemporaries(in: output)
        // One set: all written first, then renamed into place together, so an interrupted or
        // failed generator leaves the previous outputs (see AtomicFile.writeAll).
        try AtomicFile.writeAll(files.sorted(by: { $0.key < $1.key }).map { (path: "\(output)/\($0.key)", data: Data($0.value.utf8)) })
        return claims
    }

    mutating func claim(_ id: ClaimID, _ holds: Bool, _ evidence: String) {
        claims.append(Claim(id: id.rawValue, statement: id.statement, holds: holds, evidence: evidence))
    }
}
