// Where and when a result was produced: the commit and whether the tree was dirty, the
// build, the Swift compiler, the machine and OpenBLAS's core and threads, the date.
// Recorded as columns on every results row, so each number can be traced.

import Foundation
import TensorCore

public struct Provenance: Sendable {
    public var machine: MachineInfo
    /// "release" or "debug": only release timings mean anything.
    public var build: String
    public var swiftVersion: String
    /// Start of the run, ISO 8601 in UTC.
    public var date: String
    /// `git rev-parse HEAD`, or "" outside a git checkout.
    public var gitCommit: String
    /// "true" when tracked files outside results/ differ from the commit (the code that ran is
    /// not the commit's), "false" when they do not, "" without git. Results written earlier in
    /// the same checkout (e.g. results/bench/machine.csv) do not make the code dirty.
    public var gitDirty: String

    public static func current() -> Provenance {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        let commit = runGit(["rev-parse", "HEAD"]) ?? ""
        var dirty = ""
        if !commit.isEmpty, let status = runGit(["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"]) {
            dirty = status.isEmpty ? "false" : "true"
        }
        return Provenance(machine: MachineInfo.current(), build: build, swiftVersion: compilerVersion,
                          date: formatter.string(from: Date()), gitCommit: commit, gitDirty: dirty)
    }

    /// Column names, in the order of `columns(blasThreads:)`.
    public static let header = ["git_commit", "git_dirty", "date", "build", "swift_version", "cpu_model", "logical_cores",
                                "blas_core", "blas_threads", "openblas_coretype_env"]

    /// `blasThreads`: what OpenBLAS used for the row's measurement.
    public func columns(blasThreads: Int) -> [String] {
        [gitCommit, gitDirty, date, build, swiftVersion, machine.cpuModel, String(machine.logicalCores),
         machine.blasCore, String(blasThreads), machine.blasCoreTypeEnv]
    }

    /// The compiler this binary was built with (major.minor[.patch] as far as `#if compiler` tells).
    public static var compilerVersion: String {
        #if compiler(>=6.5)
        return ">=6.5"
        #elseif compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3.1)
        return "6.3.1"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

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
