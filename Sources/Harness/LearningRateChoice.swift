// Choosing the learning rate on the validation set, zoology's protocol made honest:
// zoology trains every lr of a grid and plots the best accuracy on the set it reports. Here
// the grid runs at one seed; the choice reads only validation accuracy and steps to the
// target; the other seeds then train at the chosen lr; and every accuracy a result reports
// comes from the disjoint test set. The rule lives here once, for the runs that resolve
// lr = "best" and for the report that says which lr each point used.

import Foundation

public enum LearningRateChoice {
    /// Parameters of a run at the chosen rate: the grid, as written in the spec, and its seed.
    public static let gridParameter = "lr_grid"
    public static let gridSeedParameter = "lr_grid_seed"
    /// The lr parameter of a run that trains at the grid's choice.
    public static let selected = "best"

    /// One grid run's outcome on the validation set.
    public struct Candidate: Sendable, Equatable {
        public var learningRate: Double
        /// Validation accuracy where the run stopped.
        public var validationAccuracy: Double
        /// The first evaluation step at the target accuracy; nil if never reached.
        public var stepsToTarget: Double?

        public init(learningRate: Double, validationAccuracy: Double, stepsToTarget: Double?) {
            self.learningRate = learningRate; self.validationAccuracy = validationAccuracy; self.stepsToTarget = stepsToTarget
        }
    }

    /// The index of the chosen candidate: among those that reached the target, the one that
    /// reached it in the fewest steps; if none did, the highest validation accuracy. Ties go to
    /// the smaller learning rate (the more stable one). Nil for an empty grid.
    public static func choose(_ candidates: [Candidate]) -> Int? {
        func better(_ a: Candidate, _ b: Candidate) -> Bool {
            switch (a.stepsToTarget, b.stepsToTarget) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default:
                if a.validationAccuracy != b.validationAccuracy { return a.validationAccuracy > b.validationAccuracy }
                return a.learningRate < b.learningRate
            }
        }
        guard !candidates.isEmpty else { return nil }
        return candidates.indices.min { better(candidates[$0], candidates[$1]) }
    }

    /// A run's parameters at the chosen rate of `grid`, whose runs use `seed`.
    static func selectedParameters(_ parameters: Parameters, grid: [String], seed: Int) -> Parameters {
        var p = parameters
        p["lr"] = selected
        p[gridParameter] = grid.joined(separator: " ")
        p[gridSeedParameter] = String(seed)
        return p
    }

    /// Whether a run trains at the grid's choice rather than at a given rate.
    public static func isSelected(_ run: RunSpec) -> Bool { run.parameters["lr"] == selected }

    /// The grid values a selected run chooses from, validated.
    static func grid(of run: RunSpec) throws -> [String] {
        guard let text = run.parameters[gridParameter], !text.isEmpty else {
            throw HarnessError.badInput("lr = \(selected) needs \(gridParameter): the learning rates to choose from")
        }
        let values = text.split(separator: " ").map(String.init)
        for v in values where !(Double(v).map { $0 > 0 && $0.isFinite } ?? false) {
            throw HarnessError.badInput("\(gridParameter) = '\(text)': '\(v)' is not a positive learning rate")
        }
        return values
    }

    /// The runs of the grid a selected run chooses from: the same point at the grid's seed,
    /// one per learning rate, exactly as the spec expanded them (same keys).
    static func gridRuns(of run: RunSpec) throws -> [RunSpec] {
        let seed = try run.int(gridSeedParameter)
        return try grid(of: run).map { lr in
            var p = run.parameters
            p[gridParameter] = nil
            p[gridSeedParameter] = nil
            p["lr"] = lr
            var g = run
            g.parameters = p
            g.seed = seed
            return g
        }
    }

    /// For each grid run among `runs`, the other runs of its grid, by key: the rates it
    /// competes with for the choice.
    static func rivals(in runs: [RunSpec]) -> [String: [RunSpec]] {
        var out: [String: [RunSpec]] = [:]
        for run in runs where isSelected(run) {
            guard let grid = try? gridRuns(of: run) else { continue }
            for g in grid where out[g.key] == nil { out[g.key] = grid.filter { $0.key != g.key } }
        }
        return out
    }

    /// Whether a grid run that has not reached the target by evaluation `step` can no longer
    /// be chosen: a rival reached the target at a step no later than this one. The run's own
    /// steps to the target, if it ever gets there, will be more than `step`, and the choice
    /// prefers fewer steps; so training it further cannot change the choice, only cost time.
    /// Returns the index of the rival that outpaced it (the fewest steps), else nil.
    public static func outpacingRival(at step: Int, rivalStepsToTarget: [Double?]) -> Int? {
        let reached = rivalStepsToTarget.indices.compactMap { i in rivalStepsToTarget[i].map { (i, $0) } }
        guard let best = reached.min(by: { $0.1 < $1.1 }), best.1 <= Double(step) else { return nil }
        return best.0
    }

    /// Resolves a selected run's learning rate from its grid's finished shards; throws
    /// `WaitingForRuns` naming the grid runs not finished yet.
    static func resolve(_ run: RunSpec, finished: (RunSpec) throws -> [Measurement]?) throws -> Double {
        let grid = try gridRuns(of: run)
        var candidates: [Candidate] = []
        var missing: [String] = []
        for g in grid {
            guard let m = try finished(g) else { missing.append(g.key); continue }
            func value(_ metric: String) -> Double? { m.first { $0.metric == metric && $0.point.isEmpty }?.value }
            guard let accuracy = value("val_accuracy") else {
                throw HarnessError.failed("grid run \(g.key) has no val_accuracy; delete its shard to rerun it")
            }
            candidates.append(Candidate(learningRate: Double(g.parameters["lr"]!)!, validationAccuracy: accuracy,
                                        stepsToTarget: value("steps_to_target")))
        }
        guard missing.isEmpty else { throw WaitingForRuns(keys: missing) }
        return candidates[choose(candidates)!].learningRate
    }
}

/// A run that needs other runs' results (the lr grid) before it can start; the runner
/// defers it and retries once the others have finished.
public struct WaitingForRuns: Error, CustomStringConvertible, Equatable {
    public var keys: [String]
    public var description: String { "waiting for \(keys.count) run(s) it depends on: \(keys.joined(separator: ", "))" }
}
