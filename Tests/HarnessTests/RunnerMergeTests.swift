// Runner and Merger on a tiny kv-cache-scaling spec in a temporary results directory:
// shards are written once and skipped afterwards, merging is deterministic whichever way
// the shards were produced, refuses an incomplete sweep without writing, leaves an
// unchanged file alone, and ignores temporary (dot) files.

import Foundation
import Testing
@testable import Harness
import TensorCore

/// A merged CSV as rows without the provenance columns (commit, date, machine…), which
/// legitimately differ between two runs of the same sweep.
func rowsWithoutProvenance(_ path: String, droppingMetrics: Set<String> = ["run_seconds"]) throws -> [[String]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let table = try CSVTable.parse(text)
    let keep = table.header.indices.filter { !Provenance.header.contains(table.header[$0]) }
    let metric = table.header.firstIndex(of: "metric")!
    return table.rows.filter { !droppingMetrics.contains($0[metric]) }.map { row in keep.map { row[$0] } }
}

@Suite("Runner and merge")
struct RunnerMergeTests {
    private func setUp(_ label: String) throws -> (TempDir, ExperimentSpec, ShardStore) {
        let dir = try TempDir(label)
        let spec = try ExperimentSpec.load(path: try dir.write("tiny.json", try json(kvScalingSpec())))
        return (dir, spec, ShardStore(results: dir.file("results")))
    }

    @Test func aRunWritesEveryShardAndASecondRunSkipsThemAll() throws {
        let (_, spec, store) = try setUp("rerun")
        let runner = Runner(store: store, log: CollectingLog())
        let first = try runner.run(spec, profile: .smoke)
        #expect(first.ran == 12 && first.skipped == 0 && first.failed.isEmpty)
        let runs = try spec.runs(profile: .smoke)
        let mtimes = try runs.map { try FileManager.default.attributesOfItem(atPath: store.path($0, .smoke))[.modificationDate] as! Date }
        let second = try runner.run(spec, profile: .smoke)
        #expect(second.ran == 0 && second.skipped == 12)
        let after = try runs.map { try FileManager.default.attributesOfItem(atPath: store.path($0, .smoke))[.modificationDate] as! Date }
        #expect(mtimes == after)
        // Other profiles are separate shards.
        #expect(try runner.run(spec, profile: .quick).ran == 12)
    }

    /// A shard that cannot be written (here: its path is taken by a directory, as a full
    /// disk or a read-only directory would refuse it) stops the sweep with a clear error,
    /// keeps the finished shards and leaves no partial one; the rerun resumes.
    @Test func aShardThatCannotBeWrittenStopsTheSweepAndTheRerunResumes() throws {
        let (_, spec, store) = try setUp("nowrite")
        let runs = try spec.runs(profile: .smoke)
        let blocked = store.path(runs[3], .smoke)
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
        let log = CollectingLog()
        #expect {
            try Runner(store: store, log: log).run(spec, profile: .smoke)
        } throws: { error in
            let text = "\(error)"
            return text.contains("cannot write") && text.contains("stopped the sweep") && text.contains("rerun to resume")
        }
        let dir = store.directory(spec.name, .smoke)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!files.contains { $0.contains(".tmp-") }, "a partial shard was left: \(files)")
        let written = files.filter { $0.hasSuffix(".csv") && !$0.hasPrefix(".") }.count - 1  // the blocking directory ends in .csv
        #expect(written < runs.count - 1, "the sweep went on after the failed write")
        try FileManager.default.removeItem(atPath: blocked)
        let rerun = try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        #expect(rerun.skipped == written && rerun.ran == runs.count - written && rerun.failed.isEmpty)
    }

    @Test func mergeIsDeterministicAndLeavesAnUnchangedFileAlone() throws {
        let (_, spec, store) = try setUp("merge")
        try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        let first = try Merger.merge(spec, profile: .smoke, store: store)
        #expect(first.changed && first.rows > 0)
        #expect(first.path == "\(store.results)/tiny.csv")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: first.path))
        let mtime = try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as! Date
        Thread.sleep(forTimeInterval: 0.05)
        let second = try Merger.merge(spec, profile: .smoke, store: store)
        #expect(!second.changed && second.rows == first.rows)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.path)) == bytes)
        #expect(try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as! Date == mtime)
        // Sorted: variants in registry order (gqa, mqa, linear), then context as a number, then seed.
        let rows = try rowsWithoutProvenance(first.path)
        let table = try CSVTable.parse(String(contentsOfFile: first.path, encoding: .utf8))
        let v = table.header.firstIndex(of: "variant")!, c = table.header.firstIndex(of: "context")!
        #expect(rows.map { $0[v] }.removingAdjacentDuplicates() == ["gqa", "mqa", "linear"])
        #expect(rows.filter { $0[v] == "gqa" }.map { $0[c] }.removingAdjacentDuplicates() == ["16", "32"])
    }

    /// `make PROFILE=smoke|quick` merges into out/<profile>/results: the shards are read from
    /// the store, and the results directory gets no merged CSV.
    @Test func mergeIntoAnotherDirectoryLeavesTheResultsDirectoryAlone() throws {
        let (dir, spec, store) = try setUp("merge-into")
        try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        let other = dir.file("out/smoke/results")
        let into = try Merger.merge(spec, profile: .smoke, store: store, into: other)
        #expect(into.changed && into.path == "\(other)/tiny.csv")
        #expect(!FileManager.default.fileExists(atPath: "\(store.results)/tiny.csv"))
        let here = try Merger.merge(spec, profile: .smoke, store: store)
        #expect(try Data(contentsOf: URL(fileURLWithPath: here.path)) == Data(contentsOf: URL(fileURLWithPath: into.path)))
    }

    @Test func twoSlicesMergeToTheSameRowsAsOneRun() throws {
        let (dir, spec, sliced) = try setUp("slices")
        let whole = ShardStore(results: dir.file("whole"))
        let log = CollectingLog()
        try Runner(store: sliced, log: log).run(spec, profile: .smoke, slice: ShardSlice.parse("1/2"))
        try Runner(store: sliced, log: log).run(spec, profile: .smoke, slice: ShardSlice.parse("0/2"))
        try Runner(store: whole, log: log).run(spec, profile: .smoke)
        let a = try Merger.merge(spec, profile: .smoke, store: sliced), b = try Merger.merge(spec, profile: .smoke, store: whole)
        #expect(a.rows == b.rows)
        #expect(try rowsWithoutProvenance(a.path) == rowsWithoutProvenance(b.path))
    }

    @Test func mergeRefusesWhileARunIsMissingAndWritesNothing() throws {
        let (dir, spec, store) = try setUp("missing")
        let runs = try spec.runs(profile: .smoke)
        try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke, slice: ShardSlice.parse("0/3"))
        do {
            _ = try Merger.merge(spec, profile: .smoke, store: store)
            Issue.record("merge of an incomplete sweep succeeded")
        } catch HarnessError.failed(let message) {
            #expect(message.contains("8 of 12 runs have no shard yet"), "\(message)")
            #expect(message.contains("attnlab run tiny --profile smoke"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(store.results)/tiny.csv"))
        #expect(dir.allFiles().allSatisfy { !$0.hasSuffix("tiny.csv") && !$0.contains("tmp-") })

        // Complete, merge, then lose a shard: the merged file stays as it was.
        try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        let merged = try Merger.merge(spec, profile: .smoke, store: store)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: merged.path))
        try FileManager.default.removeItem(atPath: store.path(runs[5], .smoke))
        #expect(throws: HarnessError.self) { try Merger.merge(spec, profile: .smoke, store: store) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged.path)) == bytes)
    }

    @Test func mergeRefusesAShardWithOtherColumns() throws {
        let (_, spec, store) = try setUp("columns")
        try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        let run = try spec.runs(profile: .smoke)[0]
        try "experiment,value\ntiny,1\n".write(toFile: store.path(run, .smoke), atomically: true, encoding: .utf8)
        do {
            _ = try Merger.merge(spec, profile: .smoke, store: store)
            Issue.record("merge accepted a shard with the wrong columns")
        } catch HarnessError.failed(let message) {
            #expect(message.contains(run.key) && message.contains("Delete it to rerun"), "\(message)")
        }
    }

    /// A shard written before a parameter column existed (the committed results when
    /// `needles` was added to the train kind) reads as if written now, with that cell
    /// empty, as long as its run does not set the parameter; other differences are refused.
    @Test func aShardWithoutALaterParameterColumnReadsWithItEmpty() throws {
        let dir = try TempDir("older-shard")
        let spec = try ExperimentSpec.load(path: try dir.write("tiny-train.json", try json(trainSpec(variants: ["mha"]))))
        let store = ShardStore(results: dir.file("results"))
        let run = try spec.runs(profile: .smoke)[0]
        try store.write([Measurement("accuracy", 0.5, "fraction")], of: run, spec: spec, profile: .smoke,
                        provenance: .current(), blasThreads: 1)
        let now = try store.read(run, .smoke, spec: spec)
        let table = try CSVTable.parse(try String(contentsOfFile: store.path(run, .smoke), encoding: .utf8))
        func dropping(_ column: String) -> (header: [String], rows: [[String]]) {
            let i = table.header.firstIndex(of: column)!
            func drop(_ r: [String]) -> [String] { var r = r; r.remove(at: i); return r }
            return (drop(table.header), table.rows.map(drop))
        }
        let older = dropping("needles")
        try CSVTable.render(header: older.header, rows: older.rows).write(toFile: store.path(run, .smoke), atomically: true, encoding: .utf8)
        #expect(try store.read(run, .smoke, spec: spec) == now)
        #expect(try Merger.merge(spec, profile: .smoke, store: store).rows == 1)

        var setting = run
        setting.parameters["needles"] = "4"
        let header = ShardStore.header(spec)
        #expect(ShardStore.addingUnsetParameters(older, to: header, run: setting, kind: spec.kind) == nil)
        for column in ["vocab", "seed", "metric"] {  // set by the run, or not a parameter
            #expect(ShardStore.addingUnsetParameters(dropping(column), to: header, run: run, kind: spec.kind) == nil, "\(column)")
        }
    }

    /// A killed write leaves `.<key>.csv.tmp-<pid>-<uuid>` beside the shards: runs and merges
    /// ignore it; a run removes it once it is older than any live write could be.
    @Test func aClaimIsHeldUntilReleasedAndLookingDoesNotCreateIt() throws {
        let dir = try TempDir("claim")
        let path = dir.file("shards/x/.run.claim")
        #expect(!RunClaim.isHeld(path))
        #expect(!FileManager.default.fileExists(atPath: path))
        let claim = try #require(try RunClaim.acquire(path))
        #expect(RunClaim.isHeld(path))
        #expect(try RunClaim.acquire(path) == nil)   // looking did not take it
        claim.release(removing: true)
        #expect(!RunClaim.isHeld(path))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aMergeRemovesStaleTemporaryFilesOfItsOutputDirectory() throws {
        let (_, spec, store) = try setUp("merge-temps")
        try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        let stale = "\(store.results)/.tiny.csv.tmp-999999-\(UUID().uuidString)"
        let fresh = "\(store.results)/.tiny.csv.tmp-999998-\(UUID().uuidString)"
        for path in [stale, fresh] { try "experiment,half".write(toFile: path, atomically: false, encoding: .utf8) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: stale)
        let outcome = try Merger.merge(spec, profile: .smoke, store: store)
        #expect(outcome.removedTemporaries == [stale])
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: fresh))
    }

    @Test func temporaryFilesAreIgnoredAndStaleOnesRemoved() throws {
        let (_, spec, store) = try setUp("tempfiles")
        let runs = try spec.runs(profile: .smoke)
        let directory = store.directory("tiny", .smoke)
        let stale = "\(directory)/.\(runs[0].key).csv.tmp-999999-\(UUID().uuidString)"
        let fresh = "\(directory)/.\(runs[1].key).csv.tmp-999998-\(UUID().uuidString)"
        let other = "\(directory)/.notes"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for path in [stale, fresh, other] { try "experiment,half a row\ntiny,".write(toFile: path, atomically: false, encoding: .utf8) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: stale)
        #expect(!store.hasShards("tiny", .smoke))

        let log = CollectingLog()
        let summary = try Runner(store: store, log: log).run(spec, profile: .smoke)
        #expect(summary.ran == 12)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh))   // could be another process's write in progress
        #expect(FileManager.default.fileExists(atPath: other))   // not ours
        #expect(log.lines.contains { $0.contains("removed a temporary file") && $0.contains(stale) })
        let merged = try Merger.merge(spec, profile: .smoke, store: store)
        let shardRows = try runs.reduce(0) { $0 + (try store.read($1, .smoke, spec: spec)).count }
        #expect(merged.rows == shardRows)
    }
}

extension Array where Element: Equatable {
    func removingAdjacentDuplicates() -> [Element] {
        var out: [Element] = []
        for e in self where out.last != e { out.append(e) }
        return out
    }
}
