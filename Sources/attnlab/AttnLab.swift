import ArgumentParser
import CPUCheck
import Foundation
import TensorCore

@main
struct AttnLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attnlab",
        abstract: "A reproducible harness that compares attention mechanisms on the CPU.",
        version: AttnLabVersion.string,
        subcommands: [Info.self, Variants.self, Policies.self, Forward.self, Train.self, Eval.self, KVCache.self, List.self, Run.self, Merge.self, Prune.self, Report.self]
    )

    /// Every failure a user can cause (bad option, unknown id, bad file) prints one
    /// "error:" message naming the bad value and exits with status 2; help and
    /// --version exit 0 as usual.
    static func main() {
        CPUCheck.requireBuildFeatures(program: "attnlab")
        RuntimeEnvironment.apply()
        MemoryTuning.keepFreedMemory()
        // SIGTERM/SIGINT/SIGHUP: remove unfinished temporary files, say so, die of the signal.
        Interruption.install(program: "attnlab")
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            // A run that failed (not the user's input) has already said why: exit 1.
            if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
            FileHandle.standardError.write(Data("\(fullMessage(for: error))\n".utf8))
            Foundation.exit(2)
        }
    }
}
