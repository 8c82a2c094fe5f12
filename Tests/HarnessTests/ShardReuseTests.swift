// A training run another experiment has already done is adopted, not retrained: only
// when variant, seed, version and every parameter agree (and, at the grid's chosen rate,
// the rate itself); the adopted rows are the source's apart from the experiment, profile
// and the run time's name; timed and other kinds always measure anew.

import Foundation
import Testing
@testable import Harness
import TensorCore

@Suite("Shard reuse across experiments")
struct ShardReuseTests {
    /// A train spec named `name` with an lr grid (mha and linear, seeds 0 and 1: four grid
    /// runs and two at the chosen rate), written into `dir`.
    private func gridSpec(_ dir: TempDir, name: String, steps: Int = 2) throws -> ExperimentSpec {
        let spec = gridTrainSpec(name: name, seeds: [0, 1], set: ["steps": steps])
        return try ExperimentSpec.load(path: try dir.write("\(name).json", try json(spec)))
    }

    private func table(_ path: String) throws -> (header: [String], rows: [[String]]) {
        try CSVTable.parse(try String(contentsOfFile: path, encoding: .utf8))
    }

    @Test func anotherExperimentsIdenticalRunsAreAdoptedWithTheirRowsAndProvenance() throws {
        let dir = try TempDir("reuse")
        let store = ShardStore(results: dir.file("results"))
        let first = try gridSpec(dir, name: "first"), second = try gridSpec(dir, name: "second")
        let trained = try Runner(store: store, log: CollectingLog()).run(first, profile: .smoke)
        #expect(trained.ran == 6 && trained.reused == 0)
        let log = CollectingLog()
        let adopted = try Runner(store: store, log: log).run(second, profile: .smoke)
        #expect(adopted.ran == 0 && adopted.reused == 6 && adopted.failed.isEmpty && adopted.waiting == 0)
        #expect(log.lines.filter { $0.contains("reused \(store.directory("first", .smoke))/") }.count == 6)
        for run in try second.runs(profile: .smoke) {
            let source = try table(store.path(try #require(try first.runs(profile: .smoke).first { $0.key == run.key }), .smoke))
            let copy = try table(store.path(run, .smoke))
            #expect(copy.header == source.header)
            let metric = copy.header.firstIndex(of: "metric")!
            #expect(copy.rows.count == source.rows.count)
            for (a, b) in zip(source.rows, copy.rows) {
                #expect(b[0] == "second" && a[0] == "first")
                #expect(Array(b[1...]).enumerated().allSatisfy { i, cell in
                    i + 1 == metric ? cell == (a[metric] == "run_seconds" ? ShardStore.reusedRunSeconds : a[metric]) : cell == a[i + 1]
                }, "row differs beyond experiment and metric name: \(a) vs \(b)")
            }
            #expect(copy.rows.contains { $0[metric] == ShardStore.reusedRunSeconds } && !copy.rows.contains { $0[metric] == "run_seconds" })
        }
        _ = try Merger.merge(second, profile: .smoke, store: store)
    }

    @Test func aRunDifferingInOneParameterTrains() throws {
        let dir = try TempDir("reuse-differs")
        let store = ShardStore(results: dir.file("results"))
        try Runner(store: store, log: CollectingLog()).run(try gridSpec(dir, name: "first"), profile: .smoke)
        let other = try Runner(store: store, log: CollectingLog()).run(try gridSpec(dir, name: "second", steps: 3), profile: .smoke)
        #expect(other.ran == 6 && other.reused == 0)
    }

    /// A shard at the chosen rate is adopted only when its rate is the one this
    /// experiment's own grid chooses (here the source's was altered, as a grid computed by
    /// other code could have chosen differently).
    @Test func aChosenRateRunIsAdoptedOnlyAtTheRateThisGridChooses() throws {
        let dir = try TempDir("reuse-rate")
        let store = ShardStore(results: dir.file("results"))
        let first = try gridSpec(dir, name: "first"), second = try gridSpec(dir, name: "second")
        try Runner(store: store, log: CollectingLog()).run(first, profile: .smoke)
        let chosen = try first.runs(profile: .smoke).filter(LearningRateChoice.isSelected)
        #expect(chosen.count == 2)
        let altered = store.path(chosen[0], .smoke)
        var t = try table(altered)
        let metric = t.header.firstIndex(of: "metric")!, value = t.header.firstIndex(of: "value")!
        for i in t.rows.indices where t.rows[i][metric] == "learning_rate" { t.rows[i][value] = "0.5" }
        try CSVTable.render(header: t.header, rows: t.rows).write(toFile: altered, atomically: true, encoding: .utf8)
        let summary = try Runner(store: store, log: CollectingLog()).run(second, profile: .smoke)
        #expect(summary.reused == 5 && summary.ran == 1)
        let retrainedRun = try #require(try second.runs(profile: .smoke).first { $0.key == chosen[0].key })
        let retrained = try #require(try store.measurements(retrainedRun, .smoke, spec: second))
        #expect(retrained.contains { $0.metric == "run_seconds" } && retrained.first { $0.metric == "learning_rate" }!.value != 0.5)
    }

    @Test func otherKindsNeverReuse() throws {
        let dir = try TempDir("reuse-kinds")
        let store = ShardStore(results: dir.file("results"))
        let a = try ExperimentSpec.load(path: try dir.write("a.json", try json(kvScalingSpec(name: "a"))))
        let b = try ExperimentSpec.load(path: try dir.write("b.json", try json(kvScalingSpec(name: "b"))))
        try Runner(store: store, log: CollectingLog()).run(a, profile: .smoke)
        let second = try Runner(store: store, log: CollectingLog()).run(b, profile: .smoke)
        #expect(second.ran == 12 && second.reused == 0)
    }
}
