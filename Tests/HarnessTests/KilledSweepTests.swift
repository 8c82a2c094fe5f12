// The acceptance test for resumable sweeps: `attnlab run` in a child process is
// killed (SIGKILL) once its first shard exists; what it leaves is only finished shards
// (and perhaps a temporary dot-file, which runs and merges ignore); a rerun completes the
// rest, and the merged CSV equals an uninterrupted sweep's, with every run's rows exactly
// once. Training with the same seed and one thread is deterministic; wall-time metrics and
// provenance columns are left out of the comparison.

import Foundation
import Testing
import Attention
@testable import Harness
import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// The debug `attnlab` that `swift build --build-tests` (make test) builds before the tests run.
private let attnlabBinary = harnessRepoRoot.appendingPathComponent(".build/debug/attnlab").path

/// Metrics that measure wall time, not the model: they differ between two identical runs.
private let timeMetrics: Set<String> = ["train_seconds", "train_tokens_per_second", "run_seconds"]
/// Rows one smoke training run (no target accuracy) writes: accuracy, val_accuracy, best_accuracy,
/// learning_rate, steps, train_seconds, train_tokens_per_second, parameters, kv_elements_per_token,
/// kv_bytes_per_token, kv_elements_at_seq_len, state_bytes_at_seq_len, run_seconds, and one curve point
/// (eval_accuracy, train_loss).
private let rowsPerRun = 15

private func attnlab(_ arguments: [String], in directory: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: attnlabBinary)
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

/// Runs attnlab to the end; returns its exit status.
private func attnlabToCompletion(_ arguments: [String], in directory: String) throws -> Int32 {
    let p = try attnlab(arguments, in: directory)
    p.waitUntilExit()
    return p.terminationStatus
}

@Suite("Killed sweep", .serialized)
struct KilledSweepTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: attnlabBinary), "needs .build/debug/attnlab (swift build first)"))
    func aKilledSweepResumesWithoutDuplicateOrLostRows() throws {
        let dir = try TempDir("killed")
        // Every mechanism × 8 seeds (48 runs for the six) of a few training steps each (about 0.1 s apiece in debug).
        let seeds = Array(0..<8)
        try dir.write("specs/sweep.json", try json(trainSpec(name: "sweep", seeds: seeds)))
        let spec = try ExperimentSpec.load(path: dir.file("specs/sweep.json"))
        let runs = try spec.runs(profile: .smoke)
        #expect(runs.count == Variant.allCases.count * seeds.count)
        let common = ["--profile", "smoke", "--experiments", dir.file("specs")]

        // The sweep to kill.
        let killedResults = dir.file("killed")
        let shardDir = ShardStore(results: killedResults).directory("sweep", .smoke)
        let child = try attnlab(["run", "sweep"] + common + ["--results", killedResults], in: dir.path)
        let deadline = Date(timeIntervalSinceNow: 300)
        func finishedShards() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: shardDir)) ?? []).filter { !$0.hasPrefix(".") }
        }
        while finishedShards().isEmpty && child.isRunning && Date() < deadline { usleep(2_000) }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal, "the sweep ended before it was killed")

        // Only finished shards: each one a known run's key, whole, with the shard header.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: shardDir)) ?? []
        let shards = left.filter { !$0.hasPrefix(".") }
        let keys = Set(runs.map { "\($0.key).csv" })
        #expect(!shards.isEmpty && shards.count < runs.count, "killed after \(shards.count) of \(runs.count) shards")
        #expect(shards.allSatisfy(keys.contains), "unexpected files: \(shards.filter { !keys.contains($0) })")
        let store = ShardStore(results: killedResults)
        for run in runs where shards.contains("\(run.key).csv") {
            let rows = try store.read(run, .smoke, spec: spec)
            #expect(rows.count == rowsPerRun, "\(run.key) has \(rows.count) rows")
        }
        // Besides the machine lock, anything else is an interrupted write's temporary file or
        // the killed run's claim (its flock died with the process; the next run takes it over).
        for name in left where name.hasPrefix(".") && name != ".machine.lock" {
            #expect(name.contains(".csv.tmp-") || name.hasSuffix(".claim"), "unexpected file \(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(killedResults)/sweep.csv"))

        // Rerun to completion with a merge, and an uninterrupted sweep beside it.
        #expect(try attnlabToCompletion(["run", "sweep"] + common + ["--results", killedResults, "--merge"], in: dir.path) == 0)
        let wholeResults = dir.file("whole")
        #expect(try attnlabToCompletion(["run", "sweep"] + common + ["--results", wholeResults, "--merge"], in: dir.path) == 0)
        let finished = finishedShards()
        #expect(Set(finished) == keys)

        let resumed = try rowsWithoutProvenance("\(killedResults)/sweep.csv", droppingMetrics: timeMetrics)
        let whole = try rowsWithoutProvenance("\(wholeResults)/sweep.csv", droppingMetrics: timeMetrics)
        #expect(resumed.count == whole.count)
        #expect(resumed == whole)
        // Exactly one row set per run: every (variant, seed, metric, step) once, every run present.
        let header = try CSVTable.parse(String(contentsOfFile: "\(killedResults)/sweep.csv", encoding: .utf8)).header
            .filter { !Provenance.header.contains($0) }
        let columns = ["variant", "seed", "metric", "step"].map { header.firstIndex(of: $0)! }
        let identities = resumed.map { row in columns.map { row[$0] }.joined(separator: "|") }
        #expect(Set(identities).count == identities.count, "duplicate rows")
        let seedIndex = header.firstIndex(of: "seed")!, variantIndex = header.firstIndex(of: "variant")!
        let runsPresent = Set(resumed.map { "\($0[variantIndex])/\($0[seedIndex])" })
        #expect(runsPresent == Set(runs.map { "\($0.variant)/\($0.seed)" }))
        #expect(resumed.count == runs.count * (rowsPerRun - timeMetrics.count))
    }
}
