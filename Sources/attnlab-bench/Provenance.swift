// Where and when a benchmark ran: the machine, the OpenBLAS core, the build, the date
// and the commit. Recorded as columns on every CSV row.

import Foundation
import TensorCore

struct Provenance {
    var machine: MachineInfo
    /// "release" or "debug": only release numbers mean anything.
    var build: String
    /// Start of the run, ISO 8601 in UTC (e.g. 2025-01-31T12:00:00Z).
    var date: String
    /// `git rev-parse HEAD`, or "" outside a git checkout.
    var gitCommit: String
    /// "true" when tracked files differ from the commit, "false" when clean, "" without git.
    var gitDirty: String

    static func current() -> Provenance {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        let commit = runGit(["rev-parse", "HEAD"]) ?? ""
        let dirty: String
        if commit.isEmpty {
            dirty = ""
        } else if let status = runGit(["status", "--porcelain", "--untracked-files=no"]) {
            dirty = status.isEmpty ? "false" : "true"
        } else {
            dirty = ""
        }
        return Provenance(machine: MachineInfo.current(), build: build, date: formatter.string(from: Date()),
                          gitCommit: commit, gitDirty: dirty)
    }

    /// Column names, in the order of `columns(blasThreads:)`.
    static let header = ["build", "cpu_model", "logical_cores", "blas_core", "blas_threads",
                         "openblas_coretype_env", "date", "git_commit", "git_dirty"]

    /// The provenance columns of one row; `blasThreads` is what OpenBLAS reported for it.
    func columns(blasThreads: Int) -> [String] {
        [build, machine.cpuModel, String(machine.logicalCores), machine.blasCore, String(blasThreads),
         machine.blasCoreTypeEnv, date, gitCommit, gitDirty]
    }

    /// Runs git in the current directory; nil when git is missing or fails.
    private static func runGit(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
