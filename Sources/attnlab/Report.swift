import ArgumentParser
import Foundation
import Harness

/// `attnlab report`: numbers, tables, figure data and checked claims for paper/.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate paper/generated/ (numbers.tex, tables, figure data) from results/*.csv and check the report's claims.",
        discussion: "Fails (exit 1) with the claims the data no longer support, unless --no-claims (for smoke-profile data)."
    )

    @Option(help: "Results directory.") var results = "results"
    @Option(help: "Output directory.") var out = "paper/generated"
    @Flag(help: "Report unsupported claims as warnings instead of failing (smoke data).") var noClaims = false

    func run() throws {
        var generator = ReportGenerator(results: results, output: out, enforceClaims: !noClaims)
        let claims: [Claim]
        do { claims = try generator.run() } catch HarnessError.failed(let message) {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            throw ExitCode(1)
        }
        for c in claims { print("[\(c.holds ? "holds" : (noClaims ? "unsupported (not enforced)" : "FAILS"))] \(c.id): \(c.evidence)") }
        print("wrote \(out)/")
    }
}
