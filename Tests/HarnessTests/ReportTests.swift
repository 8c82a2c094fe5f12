import Foundation
import Testing
@testable import Harness

@Suite struct ReportPieces {
    @Test func logLogSlopeRecoversPowerLaws() {
        let quadratic = [256.0, 512, 1024, 2048].map { (x: $0, y: 3e-9 * $0 * $0) }
        #expect(abs(logLogSlope(quadratic) - 2) < 1e-12)
        let linear = [1.0, 10, 100].map { (x: $0, y: 5 * $0) }
        #expect(abs(logLogSlope(linear) - 1) < 1e-12)
        #expect(logLogSlope([(x: 1, y: 1)]).isNaN)
    }

    @Test func numbersAreGroupedAndRounded() {
        #expect(formatNumber(32768, decimals: 0) == "32,768")
        #expect(formatNumber(56.888, decimals: 1) == "56.9")
        #expect(formatNumber(-1234567.25, decimals: 2) == "-1,234,567.25")
        #expect(formatNumber(.nan, decimals: 1) == "n/a")
        #expect(latexEscape("32,768") == "32{,}768")
        #expect(latexEscape("a_b 5%") == "a\\_b 5\\%")
        #expect(latexEscape("$2 n_h d_h l$") == "$2 n_h d_h l$")
    }

    @Test func macroNamesAreLetters() {
        #expect(macroWord("mla-absorbed") == "MLAAbsorbed")
        #expect(macroWord("linear") == "Linear")
        var sheet = NumberSheet()
        sheet.add("KVAtMaxMHA", 16, decimals: 1, "note")
        #expect(sheet.latex.contains("\\newcommand{\\KVAtMaxMHA}{16.0}"))
    }

    @Test func tablesRenderBothWays() {
        let t = ReportTable(columns: [("mechanism", "l"), ("value", "r")], rows: [["MHA", "1,024"], ["MQA", "128"]])
        #expect(t.latex.contains("\\toprule"))
        #expect(t.latex.contains("MHA & 1{,}024 \\\\"))
        #expect(t.markdown == "| mechanism | value |\n|---|---:|\n| MHA | 1,024 |\n| MQA | 128 |\n")
    }

    @Test func resultsFileRejectsDuplicateColumns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "experiment,variant,profile,seed,metric,value,distance,distance\n".write(toFile: "\(dir)/x.csv", atomically: true, encoding: .utf8)
        #expect(throws: HarnessError.self) { try ResultsFile.load(results: dir, experiment: "x") }
        #expect(throws: HarnessError.self) { try ResultsFile.load(results: dir, experiment: "missing") }
    }

    @Test func kindsKeepParametersAndPointColumnsApart() {
        // A column name used twice would make the merged CSV ambiguous.
        for kind in ExperimentKind.allCases {
            let columns = ["experiment", "spec_version", "profile", "variant", "seed", "metric", "value", "unit"]
                + kind.parameterNames + kind.pointColumns + Provenance.header
            #expect(Set(columns).count == columns.count, "\(kind.rawValue) repeats a column name")
        }
    }
}

/// The cache-policies section's claim, checked on hand-made results: it holds when no layer
/// and kv head gives the first context token more than twice even attention over each
/// prefix (0.245 for MQAR's 8-token context), and fails on one that does.
@Suite struct CachePoliciesClaim {
    /// The cache-policies results, and an empty recall-vs-cache file (no architectures drawn).
    func results(firstTokenAttention: [Double]) throws -> (ResultsFile, ResultsFile) {
        let dir = try TempDir("policies-claim")
        let header = "experiment,profile,variant,task,seq_len,kv_pairs,d_model,seed,policy,ratio,bits,layer,kv_head,metric,value"
        var lines = [header]
        for v in ["mha", "gqa"] {
            lines.append("cache-policies,quick,\(v),mqar,64,4,128,0,full,0,,,,accuracy,0.99")
            lines.append("cache-policies,quick,\(v),mqar,64,4,128,0,full,0,,,,cache_bytes_per_context_token,2048")
            lines.append("cache-policies,quick,\(v),mqar,64,4,128,0,full,0,,,,kept_fraction,1")
            for (i, mass) in firstTokenAttention.enumerated() {
                lines.append("cache-policies,quick,\(v),mqar,64,4,128,0,,,,\(i / 2),\(i % 2),first_token_attention,\(mass)")
            }
        }
        _ = try dir.write("results/cache-policies.csv", lines.joined(separator: "\n") + "\n")
        _ = try dir.write("results/recall-vs-cache.csv", "experiment,profile,variant,seq_len,kv_pairs,vocab,seed,metric,value\n")
        return (try ResultsFile.load(results: dir.file("results"), experiment: "cache-policies"),
                try ResultsFile.load(results: dir.file("results"), experiment: "recall-vs-cache"))
    }

    func claim(_ files: (ResultsFile, ResultsFile)) throws -> Claim {
        var generator = ReportGenerator(results: "", output: "")
        try generator.cachePolicies(files.0, architectures: files.1)
        return try #require(generator.claims.first { $0.id == ClaimID.policiesNoFirstTokenSink.rawValue })
    }

    @Test func holdsWithoutASinkAndFailsWithOne() throws {
        let even = ((1...8).reduce(0.0) { $0 + 1 / Double($1) } - 1) / 7
        #expect(try claim(results(firstTokenAttention: [0.2, 0.19, 0.25, even * 1.99])).holds)
        let sink = try claim(results(firstTokenAttention: [0.2, 0.19, 0.25, even * 2.01]))
        #expect(!sink.holds && sink.evidence.contains("largest first-token attention"))
        #expect(try !claim(results(firstTokenAttention: [])).holds, "no attention measured: nothing to claim")
    }
}
