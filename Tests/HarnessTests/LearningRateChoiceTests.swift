// The learning-rate protocol: a spec's lr_grid expands into the grid at the first seed and
// one run per further seed at the grid's choice; the choice rule; a chosen-rate run reads
// its grid's shards, waits for them when they are missing, and records the rate it used;
// the test set's accuracy is what `accuracy` reports.

import Foundation
import Testing
@testable import Harness

@Suite("Learning-rate choice")
struct LearningRateChoiceTests {
    typealias C = LearningRateChoice.Candidate

    @Test func fewestStepsToTheTargetWinsThenValidationAccuracyThenTheSmallerRate() {
        // Two reached the target: the faster one, whatever the accuracies.
        #expect(LearningRateChoice.choose([C(learningRate: 1e-3, validationAccuracy: 0.999, stepsToTarget: 900),
                                           C(learningRate: 3e-3, validationAccuracy: 0.991, stepsToTarget: 500),
                                           C(learningRate: 1e-2, validationAccuracy: 0.97, stepsToTarget: nil)]) == 1)
        // One reached it: that one, even with a lower final accuracy than… nothing can beat it.
        #expect(LearningRateChoice.choose([C(learningRate: 1e-3, validationAccuracy: 0.98, stepsToTarget: nil),
                                           C(learningRate: 3e-3, validationAccuracy: 0.99, stepsToTarget: 2000)]) == 1)
        // None reached it: the highest validation accuracy.
        #expect(LearningRateChoice.choose([C(learningRate: 1e-3, validationAccuracy: 0.25, stepsToTarget: nil),
                                           C(learningRate: 3e-3, validationAccuracy: 0.60, stepsToTarget: nil),
                                           C(learningRate: 1e-2, validationAccuracy: 0.10, stepsToTarget: nil)]) == 1)
        // Ties: the smaller rate, in either order.
        #expect(LearningRateChoice.choose([C(learningRate: 1e-2, validationAccuracy: 0.5, stepsToTarget: nil),
                                           C(learningRate: 1e-3, validationAccuracy: 0.5, stepsToTarget: nil)]) == 1)
        #expect(LearningRateChoice.choose([C(learningRate: 1e-3, validationAccuracy: 1, stepsToTarget: 300),
                                           C(learningRate: 1e-2, validationAccuracy: 1, stepsToTarget: 300)]) == 0)
        #expect(LearningRateChoice.choose([]) == nil)
    }

    private func gridSpec(seeds: [Int] = [0, 1, 2], grid: [Any] = [0.003, 0.01], set: [String: Any] = [:]) throws -> (TempDir, ExperimentSpec) {
        let dir = try TempDir("lr-grid")
        let spec = gridTrainSpec(seeds: seeds, grid: grid, set: set)
        return (dir, try ExperimentSpec.load(path: try dir.write("tiny-train.json", try json(spec))))
    }

    @Test func aGridExpandsIntoTheGridAtTheFirstSeedAndOneChosenRunPerOtherSeed() throws {
        let (_, spec) = try gridSpec()
        let runs = try spec.runs(profile: .smoke)
        #expect(runs.count == 2 * (2 + 2))
        let mha = runs.filter { $0.variant == "mha" }
        #expect(mha.map(\.seed) == [0, 0, 1, 2])
        #expect(mha.map { $0.parameters["lr"]! } == ["0.003", "0.01", "best", "best"])
        #expect(mha[2].parameters["lr_grid"] == "0.003 0.01" && mha[2].parameters["lr_grid_seed"] == "0")
        #expect(mha[0].parameters["lr_grid"] == nil, "grid runs do not depend on the grid: adding a rate keeps their shards")
        #expect(mha.allSatisfy { $0.key.contains("lr=") })
        // The grid a chosen run reads is exactly the spec's grid runs (same shard keys).
        #expect(try LearningRateChoice.gridRuns(of: mha[3]).map(\.key) == mha[0...1].map(\.key))
        // Other profiles (no grid) are unchanged: one run per seed at the base rate.
        #expect(try spec.runs(profile: .quick).allSatisfy { $0.parameters["lr"] == nil && $0.parameters["lr_grid"] == nil })
    }

    @Test func aBadGridIsRejectedNamingTheValue() throws {
        expectBadInput(["lr_grid[1] = -1", "positive"]) { _ = try gridSpec(grid: [0.003, -1]) }
        expectBadInput(["lr_grid lists a learning rate twice"]) { _ = try gridSpec(grid: [0.003, 0.003]) }
        var spec = trainSpec(set: ["lr": 0.01])
        var profiles = spec["profiles"] as! [String: Any]
        var smoke = profiles["smoke"] as! [String: Any]
        smoke["lr_grid"] = [0.003]
        profiles["smoke"] = smoke
        spec["profiles"] = profiles
        let dir = try TempDir("lr-grid-bad")
        let path = try dir.write("tiny-train.json", try json(spec))
        expectBadInput(["sets lr = 0.01", "lr_grid chooses the learning rate"]) { _ = try ExperimentSpec.load(path: path) }
    }

    @Test func chosenRunsTrainAtTheGridsChoiceAndWaitForTheGrid() throws {
        let (dir, spec) = try gridSpec(seeds: [0, 1])
        let store = ShardStore(results: dir.file("results"))
        let runs = try spec.runs(profile: .smoke)
        let log = CollectingLog()
        // Only the chosen runs' slice (positions 2 and 5): their grids are in other slices, so they wait and fail nothing.
        let chosenSlice = ShardSlice(index: 2, count: 3)
        #expect(runs.enumerated().filter { chosenSlice.contains($0.offset) }.map(\.element.parameters["lr"]!) == ["best", "best"])
        let first = try Runner(store: store, log: log).run(spec, profile: .smoke, slice: chosenSlice)
        #expect(first.ran == 0 && first.waiting == 2 && first.failed.isEmpty)
        #expect(log.lines.contains { $0.contains("deferred, waiting for 2 run(s)") })
        // The whole sweep: the grid first, then the chosen runs, in one invocation.
        let all = try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        #expect(all.failed.isEmpty && all.waiting == 0 && all.ran == runs.count)
        for run in runs where LearningRateChoice.isSelected(run) {
            let m = try #require(try store.measurements(run, .smoke, spec: spec))
            let grid = try LearningRateChoice.gridRuns(of: run).map { g -> C in
                let gm = try store.measurements(g, .smoke, spec: spec)!
                func v(_ name: String) -> Double? { gm.first { $0.metric == name }?.value }
                return C(learningRate: Double(g.parameters["lr"]!)!, validationAccuracy: v("val_accuracy")!, stepsToTarget: v("steps_to_target"))
            }
            let used = m.first { $0.metric == "learning_rate" }!.value
            #expect(abs(used - grid[LearningRateChoice.choose(grid)!].learningRate) < 1e-9)
        }
        // Every train run reports test and validation accuracy, whether it reached the target, and its state in bytes.
        let m = try #require(try store.measurements(runs[0], .smoke, spec: spec))
        for name in ["accuracy", "val_accuracy", "best_accuracy", "learning_rate", "reached_target", "state_bytes_at_seq_len"] {
            #expect(m.contains { $0.metric == name }, "missing \(name)")
        }
        _ = try Merger.merge(spec, profile: .smoke, store: store)
    }

    @Test func twoProcessesOnOneResultsDirectoryRunEveryRunOnceAndWaitForEachOthersGrids() throws {
        let (dir, spec) = try gridSpec(seeds: [0, 1, 2])
        let store = ShardStore(results: dir.file("results"))
        Runner.busyPollSeconds = 0.05
        let summaries = UnsafeMutablePointer<RunSummary>.allocate(capacity: 2)
        defer { summaries.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            (summaries + i).initialize(to: (try? Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)) ?? RunSummary())
        }
        let a = summaries[0], b = summaries[1]
        let runs = try spec.runs(profile: .smoke)
        #expect(a.ran + b.ran == runs.count, "ran \(a.ran) + \(b.ran) of \(runs.count)")
        #expect(a.failed.isEmpty && b.failed.isEmpty && a.waiting == 0 && b.waiting == 0)
        #expect(runs.allSatisfy { store.isFinished($0, .smoke) })
        let leftovers = (try FileManager.default.contentsOfDirectory(atPath: store.directory(spec.name, .smoke))).filter { $0.hasSuffix(".claim") }
        #expect(leftovers.isEmpty, "claim files left: \(leftovers)")
    }

    @Test func cheapRunsGoFirstAndAChosenRunRightAfterItsGrid() throws {
        var spec = trainSpec(variants: ["mha"], seeds: [0, 1])
        var profiles = spec["profiles"] as! [String: Any]
        var smoke = profiles["smoke"] as! [String: Any]
        smoke["cells"] = [["seq_len": 16, "kv_pairs": 2], ["seq_len": 8, "kv_pairs": 2]]
        smoke["lr_grid"] = [0.003, 0.01]
        profiles["smoke"] = smoke
        spec["profiles"] = profiles
        var base = spec["base"] as! [String: Any]
        base["lr"] = nil
        spec["base"] = base
        let dir = try TempDir("order")
        let loaded = try ExperimentSpec.load(path: try dir.write("tiny-train.json", try json(spec)))
        let log = CollectingLog()
        try Runner(store: ShardStore(results: dir.file("results")), log: log).run(loaded, profile: .smoke)
        let order = log.lines.filter { $0.contains(": done in") }.map { line -> String in
            let seq = line.contains("seq_len=8") ? "T8" : "T16"
            return seq + (line.contains("lr=best") ? "-best" : "-grid")
        }
        #expect(order == ["T8-grid", "T8-grid", "T8-best", "T16-grid", "T16-grid", "T16-best"], "\(order)")
    }

    @Test func aGridRunIsOutpacedOnceARivalReachedTheTargetInNoMoreSteps() {
        let outpaced = LearningRateChoice.outpacingRival
        #expect(outpaced(400, [500, nil]) == nil, "the rival got there later than this evaluation: this run may still win")
        #expect(outpaced(500, [500, nil]) == 0, "this run will need more than 500 steps; the rival needed 500")
        #expect(outpaced(900, [nil, 800, 600]) == 2, "the fastest rival is named")
        #expect(outpaced(5000, [nil, nil]) == nil, "no rival reached the target: the choice reads final accuracy, so train on")
        #expect(outpaced(5000, []) == nil)
    }

    @Test func aGridRunStopsWhereARivalHasWonAndTheChoiceIsUnchanged() throws {
        let (dir, spec) = try gridSpec(seeds: [0, 1], set: ["steps": 6, "eval_every": 1])
        let store = ShardStore(results: dir.file("results"))
        let runs = try spec.runs(profile: .smoke)
        let mha = runs.filter { $0.variant == "mha" }
        // The rate 0.01 reached the target at step 3 (its shard stands in for a finished run).
        try store.write([Measurement("val_accuracy", 0.995, "fraction"), Measurement("steps_to_target", 3, "steps")],
                        of: mha[1], spec: spec, profile: .smoke, provenance: Provenance.current(), blasThreads: 1)
        let summary = try Runner(store: store, log: CollectingLog()).run(spec, profile: .smoke)
        #expect(summary.failed.isEmpty && summary.waiting == 0)
        func value(_ run: RunSpec, _ metric: String) throws -> Double? {
            try store.measurements(run, .smoke, spec: spec)?.first { $0.metric == metric && $0.point.isEmpty }?.value
        }
        // The other rate stopped at step 3, where it could no longer be chosen, and says why.
        #expect(try value(mha[0], "steps") == 3)
        #expect(try value(mha[0], "outpaced_by_lr") == 0.01 && value(mha[0], "outpaced_by_steps") == 3)
        #expect(try value(mha[0], "reached_target") == 0)
        // The choice is the rival, and the chosen-rate seed trains the whole budget.
        #expect(try value(mha[2], "learning_rate") == Double(Float(0.01)))
        #expect(try value(mha[2], "steps") == 6 && value(mha[2], "outpaced_by_lr") == nil)
        // Where no rate reaches the target, every grid run trains the whole budget.
        for run in runs where run.variant == "linear" {
            #expect(try value(run, "steps") == 6 && value(run, "outpaced_by_lr") == nil)
        }
    }

    @Test func lrGridParametersBelongToChosenRunsOnly() throws {
        var run = try #require(try gridSpec().1.runs(profile: .smoke).first)
        run.parameters["lr_grid"] = "0.003 0.01"
        expectBadInput(["lr_grid = 0.003 0.01 applies only to runs with lr = best"]) { _ = try TrainingExperiment.recipe(run) }
    }
}
