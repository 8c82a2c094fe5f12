import ArgumentParser
import Foundation
import Harness
import TensorCore

/// Options shared by run, merge and list: where the specs and the results live.
struct SuiteOptions: ParsableArguments {
    @Option(help: "Directory of experiment specs.") var experiments = "experiments"
    @Option(help: "Results directory (shards under <results>/shards).") var results = "results"

    func suite() throws -> Suite { try Suite.load(directory: experiments) }
    var store: ShardStore { ShardStore(results: results) }

    /// "auto": paper where all its shards exist (they are committed), quick otherwise.
    func profile(_ text: String, for spec: ExperimentSpec) throws -> Profile {
        text == "auto" ? store.automaticProfile(spec) : try Profile.parse(text)
    }

    static func checkProfile(_ text: String) throws {
        if text != "auto" { _ = try Profile.parse(text) }
    }
}

/// One line per merged CSV (and one per temporary file a killed merge had left, now removed).
func report(_ outcome: Merger.Outcome) {
    for path in outcome.removedTemporaries {
        FileHandle.standardError.write(Data("removed a temporary file left by an interrupted merge: \(path)\n".utf8))
    }
    print("\(outcome.path): \(outcome.rows) rows\(outcome.changed ? "" : " (unchanged)")")
}

/// `attnlab run`: the missing shards of one experiment (or all), resumable.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment's missing shards (each run writes results/shards/<experiment>/<profile>/<run>.csv atomically).",
        discussion: """
        A rerun skips finished shards, so a killed sweep resumes where it stopped. --shard i/n runs the i-th of n \
        round-robin slices (0 ≤ i < n), e.g. one Slurm array task each. Timed experiments wait until no other run \
        holds the machine; untimed ones may run side by side. Exit status: 0 all done, 1 a run failed, 2 bad input.
        """
    )

    @Argument(help: "Experiment name, or all.") var experiment: String
    @Option(help: "Profile: smoke, quick, paper, or auto (paper if its shards exist, else quick).") var profile = "quick"
    @Option(help: "Slice i/n of the runs, 0 ≤ i < n.") var shard: String?
    @Option(help: "Only these variants (comma-separated registry ids).") var variants: String?
    @Flag(help: "Merge into results/<experiment>.csv afterwards when every run is done.") var merge = false
    @Option(help: "Write the merged CSV to this directory instead of the results directory (shards stay under <results>/shards).")
    var mergedDir: String?
    @Flag(help: "List the runs (done or not) without running them.") var dryRun = false
    @OptionGroup var options: SuiteOptions

    func run() throws {
        try SuiteOptions.checkProfile(profile)
        let slice = try shard.map(ShardSlice.parse) ?? .all
        let filter = variants.map { $0.split(separator: ",").map(String.init) }
        let specs = try options.suite().select(experiment)
        // Validate every selection before running anything.
        for spec in specs { _ = try spec.runs(profile: try options.profile(profile, for: spec), variants: filter) }
        let runner = Runner(store: options.store)
        if !dryRun { Interruption.setHint("Finished shards are kept; rerun the same command to resume.") }
        var failures = 0
        for spec in specs {
            let p = try options.profile(profile, for: spec)
            if dryRun {
                for run in try spec.runs(profile: p, variants: filter).enumerated() where slice.contains(run.offset) {
                    print("\(options.store.isFinished(run.element, p) ? "done " : "todo ") \(options.store.path(run.element, p))")
                }
                continue
            }
            let summary = try runner.run(spec, profile: p, slice: slice, variants: filter)
            failures += summary.failed.count
            for f in summary.failed { print("failed: \(spec.name) \(f.key): \(f.error)") }
            if merge && summary.failed.isEmpty && summary.waiting == 0 && summary.busy == 0 && slice == .all && filter == nil {
                let outcome = try Merger.merge(spec, profile: p, store: options.store, into: mergedDir)
                report(outcome)
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// `attnlab merge`: shards → results/<experiment>.csv.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build results/<experiment>.csv from the shards of one profile, sorted deterministically.",
        discussion: "Fails (exit 1) while any run of the profile has no shard; rewrites the CSV only when it changes."
    )

    @Argument(help: "Experiment names, or all.") var experiments: [String] = ["all"]
    @Option(help: "Profile: smoke, quick, paper, or auto.") var profile = "auto"
    @Option(help: "Write the merged CSV to this directory instead of the results directory (shards stay under <results>/shards).")
    var mergedDir: String?
    @OptionGroup var options: SuiteOptions

    func run() throws {
        try SuiteOptions.checkProfile(profile)
        let suite = try options.suite()
        let specs = try experiments.flatMap { try suite.select($0) }
        var incomplete = false
        for spec in specs {
            do {
                let outcome = try Merger.merge(spec, profile: try options.profile(profile, for: spec), store: options.store,
                                               into: mergedDir)
                report(outcome)
            } catch HarnessError.failed(let message) {
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
                incomplete = true
            }
        }
        if incomplete { throw ExitCode(1) }
    }
}

/// `attnlab prune`: removes the shards no run of the current specs writes.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove shards that no run of the current specs writes (left by an older spec version, parameter or lr grid).",
        discussion: "They are never merged; git history keeps them. --dry-run lists them without removing anything."
    )

    @Argument(help: "Experiment names, or all.") var experiments: [String] = ["all"]
    @Option(help: "Profile: smoke, quick, paper, or all.") var profile = "all"
    @Flag(help: "List the shards that would be removed; remove nothing.") var dryRun = false
    @OptionGroup var options: SuiteOptions

    func run() throws {
        let profiles = profile == "all" ? Profile.allCases : [try Profile.parse(profile)]
        let suite = try options.suite()
        let specs = try experiments.flatMap { try suite.select($0) }
        var count = 0
        for spec in specs {
            for p in profiles {
                for name in try options.store.orphans(of: spec, p) {
                    let path = "\(options.store.directory(spec.name, p))/\(name)"
                    print("\(dryRun ? "would remove" : "removed") \(path)")
                    if !dryRun { try FileManager.default.removeItem(atPath: path) }
                    count += 1
                }
            }
        }
        print("\(count) shard(s) no current run writes\(dryRun ? " (dry run: nothing removed)" : " removed")")
    }
}

/// `attnlab list`: the experiments, their kinds and run counts per profile.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the experiments with their run counts per profile (and how many are done).")

    @OptionGroup var options: SuiteOptions

    func run() throws {
        let suite = try options.suite()
        let width = max(12, suite.names.map(\.count).max() ?? 0)
        print("experiment".padding(toLength: width, withPad: " ", startingAt: 0) + "  kind              timed  "
              + Profile.allCases.map { $0.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
        for spec in suite.specs {
            var line = spec.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + spec.kind.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)
                + (spec.timed ? "yes    " : "no     ")
            for p in Profile.allCases {
                let runs = try spec.runs(profile: p)
                let done = runs.filter { options.store.isFinished($0, p) }.count
                line += "\(runs.count) (\(done) done)".padding(toLength: 14, withPad: " ", startingAt: 0)
            }
            print(line)
            print("    " + spec.description)
        }
    }
}
