import ArgumentParser
import Foundation
import Harness

/// `attnlab report`: numbers, tables, figure data and checked claims for paper/.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate paper/generated/ (numbers.tex, tables, figure data) from results/*.csv and check the report's claims.",
        discussion: """
        The prose is written about the paper profile: for paper results a claim the data no longer support fails \
        (exit 1, naming it); for quick or smoke results the unsupported claims are listed on the report's first page.
        """
    )

    @Option(help: "Results directory.") var results = "results"
    @Option(help: "Benchmark directory (machine.csv, peers.csv; default: <results>/bench).") var bench: String?
    @Option(help: "Output directory.") var out = "paper/generated"
    @Flag(help: "Never fail on an unsupported claim; list it in the report.") var noClaims = false
    @Flag(help: "Fail on an unsupported claim whatever the profile.") var enforceClaims = false

    func run() throws {
        if noClaims && enforceClaims { throw ValidationError("--no-claims and --enforce-claims contradict each other; give one") }
        var generator = ReportGenerator(results: results, output: out, bench: bench,
                                        claimPolicy: noClaims ? .report : enforceClaims ? .enforce : .automatic)
        let claims: [Claim]
        do { claims = try generator.run() } catch HarnessError.failed(let message) {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            throw ExitCode(1)
        }
        for path in generator.removedTemporaries {
            FileHandle.standardError.write(Data("removed a temporary file left by an interrupted report: \(path)\n".utf8))
        }
        for c in claims { print("[\(c.holds ? "holds" : "unsupported (not enforced)")] \(c.id): \(c.evidence)") }
        print("wrote \(out)/")
    }
}
