// Runs an experiment's shards: expands the profile, keeps this shard's share of the
// runs (round-robin, so every slice mixes cheap and costly runs), skips runs whose shard
// exists, and writes each finished run's shard atomically. A killed sweep therefore
// loses only the run it was in, and rerunning it completes the rest. Cheap runs go first
// (so a long sweep lands whole cells early), a run at the learning rate its grid chose
// right after that grid, and one whose grid is not finished waits for a later pass. Several
// processes on one results directory share the runs through per-run claims (RunClaim): each
// run is executed once, and a process whose remaining runs wait for runs another process
// is executing waits for them.

import Foundation
import TensorCore
import Training

/// `--shard i/n`: the i-th of n slices, 0 ≤ i < n (Slurm: --array=0-(n-1)).
public struct ShardSlice: Sendable, Equatable {
    public var index: Int
    public var count: Int

    public static let all = ShardSlice(index: 0, count: 1)

    public static func parse(_ text: String) throws -> ShardSlice {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw HarnessError.badInput("--shard '\(text)' is not of the form i/n (e.g. 0/4)")
        }
        guard n >= 1 else { throw HarnessError.badInput("--shard \(text): the number of slices n = \(n) must be at least 1") }
        guard (0..<n).contains(i) else {
            throw HarnessError.badInput("--shard \(text): the slice index must be in 0...\(n - 1) (slices are numbered from 0)")
        }
        return ShardSlice(index: i, count: n)
    }

    public func contains(_ position: Int) -> Bool { position % count == index }
}

public struct RunSummary: Sendable {
    public var ran = 0
    public var skipped = 0
    /// Runs whose shard was adopted from another experiment that trained the same run.
    public var reused = 0
    /// Runs still waiting for runs they depend on (another slice's, or failed ones).
    public var waiting = 0
    /// Runs another process was executing when this one finished.
    public var busy = 0
    public var failed: [(key: String, error: String)] = []
}

/// Writes lines to stderr (progress) and stdout (results), terminal or log alike.
public protocol RunLog {
    func line(_ text: String)
}

public struct StandardErrorLog: RunLog {
    public init() {}
    public func line(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}

public struct Runner {
    public var store: ShardStore
    /// Directory the specs' relative paths are resolved against.
    public var root: String
    public var log: RunLog

    public init(store: ShardStore, root: String = ".", log: RunLog = StandardErrorLog()) {
        self.store = store; self.root = root; self.log = log
    }

    /// Runs the missing shards of `spec`'s profile that belong to `slice`.
    /// A run that fails (e.g. a non-finite loss) writes nothing; the others go on.
    @discardableResult
    public func run(_ spec: ExperimentSpec, profile: Profile, slice: ShardSlice = .all, variants: [String]? = nil) throws -> RunSummary {
        let runs = try spec.runs(profile: profile, variants: variants)
        removeStaleTemporaryFiles(store.directory(spec.name, profile))
        let mine = runs.enumerated().filter { slice.contains($0.offset) }.map(\.element)
        // Runs another experiment may have trained already first (adopting costs nothing),
        // then cheapest first; within equal cost a grid before the runs that read its choice.
        let pending = mine.filter { !store.isFinished($0, profile) }
        let trainedElsewhere = Set(pending.filter { store.mayHaveEquivalentShard($0, spec: spec) }.map(\.key))
        let todo = pending.enumerated().sorted { a, b in
            func order(_ r: (offset: Int, element: RunSpec)) -> (Int, Double, Int, Int) {
                (trainedElsewhere.contains(r.element.key) ? 0 : 1, spec.kind.estimatedCost(r.element),
                 LearningRateChoice.isSelected(r.element) ? 1 : 0, r.offset)
            }
            return order(a) < order(b)
        }.map(\.element)
        var summary = RunSummary()
        summary.skipped = mine.count - todo.count
        log.line("\(spec.name) (\(profile.rawValue)\(slice.count > 1 ? ", shard \(slice.index)/\(slice.count)" : "")): \(mine.count) runs, \(summary.skipped) already done, \(todo.count) to run")
        guard !todo.isEmpty else { return summary }
        if spec.kind == .train { for note in TrainingExperiment.sameModelNotes(runs) { log.line("note: \(note)") } }
        let lock = try RunLock(directory: "\(store.results)/shards")
        let provenance = Provenance.current()
        if spec.timed && provenance.build != "release" { log.line("warning: \(spec.name) is timed but this is a debug build; its timings mean nothing") }
        let started = Stopwatch.now()
        let finished: (RunSpec) throws -> [Measurement]? = { [store] in try store.measurements($0, profile, spec: spec) }
        let rivals = LearningRateChoice.rivals(in: runs)
        var queue = todo, done = 0
        while !queue.isEmpty {
            var waiting: [RunSpec] = [], busy: [RunSpec] = []
            var ranThisPass = 0
            for run in queue {
                let i = done + summary.failed.count
                let label = "[\(i + 1)/\(todo.count)] \(spec.name) \(run.key)"
                guard let claim = try RunClaim.acquire(store.claimPath(run, profile)) else {
                    busy.append(run)
                    continue
                }
                // Another process may have finished it between our listing and our claim.
                if store.isFinished(run, profile) {
                    claim.release(removing: true)
                    summary.skipped += 1
                    continue
                }
                var finishedShard = false
                defer { claim.release(removing: finishedShard) }
                // Trained already by another experiment: adopt its shard (ShardReuse.swift).
                if let source = try store.adoptEquivalentShard(run, profile, spec: spec, finished: finished) {
                    finishedShard = true
                    summary.reused += 1
                    done += 1
                    ranThisPass += 1
                    log.line("\(label): reused \(source) (the same training: variant, seed and every parameter equal)")
                    continue
                }
                let t0 = Stopwatch.now()
                do {
                    var measurements = try lock.withLock(exclusive: spec.timed, waiting: {
                        log.line("\(label): waiting for \(spec.timed ? "the other runs" : "a timed run") to finish (machine lock)")
                    }) {
                        try spec.kind.execute(run, context: RunContext(root: root, progress: ConsoleProgress(prefix: "\(label): "), finished: finished,
                                                                   gridRivals: rivals[run.key] ?? []))
                    }
                    // The run's own wall time, so a profile's total cost can be read off its results.
                    measurements.append(Measurement("run_seconds", Stopwatch.now() - t0, "s"))
                    // Written only now, whole: a killed run leaves no shard and reruns.
                    try store.write(measurements, of: run, spec: spec, profile: profile, provenance: provenance, blasThreads: BLAS.threads)
                    finishedShard = true
                    summary.ran += 1
                    ranThisPass += 1
                    done += 1
                    let elapsed = Stopwatch.now() - started
                    let eta = elapsed / Double(summary.ran) * Double(todo.count - done - summary.failed.count)
                    log.line(String(format: "%@: done in %.1f s (%d values); elapsed %.0f s, ETA %.0f s", label, Stopwatch.now() - t0,
                                    measurements.count, elapsed, eta))
                } catch let error as WaitingForRuns {
                    waiting.append(run)
                    log.line("\(label): deferred, \(error.description)")
                } catch let error as AtomicFileError {
                    // The results directory cannot take a shard (a full disk, a read-only or
                    // vanished directory): every later run would train for nothing. Stop; the
                    // finished shards are whole, and a rerun resumes from them.
                    log.line("\(label): FAILED: \(error.description)")
                    throw HarnessError.failed("\(spec.name): \(error.description); stopped the sweep after \(summary.ran) finished run(s), "
                        + "which are kept (no partial shard is written). Free space or fix the directory, then rerun to resume.")
                } catch let error as HarnessError {
                    if case .badInput = error { throw error }
                    summary.failed.append((run.key, error.description))
                    log.line("\(label): FAILED: \(error.description)")
                } catch {
                    summary.failed.append((run.key, "\(error)"))
                    log.line("\(label): FAILED: \(error)")
                }
            }
            if ranThisPass == 0 {
                // Nothing ran: waiting runs can only become ready through runs another process
                // is executing; wait for those, else stop.
                if !waiting.isEmpty && !busy.isEmpty {
                    log.line("\(spec.name): \(waiting.count) run(s) wait for \(busy.count) run(s) another process is executing; "
                             + "looking again when one of those finishes (at most \(Int(Runner.busyPollSeconds)) s)")
                    // Until one of the busy runs' claims is released (its shard written, or its
                    // process gone), looking every 0.1 s, at most busyPollSeconds.
                    let deadline = Stopwatch.now() + Runner.busyPollSeconds
                    while Stopwatch.now() < deadline && busy.allSatisfy({ RunClaim.isHeld(store.claimPath($0, profile)) }) {
                        Thread.sleep(forTimeInterval: min(0.1, Runner.busyPollSeconds))
                    }
                    queue = waiting + busy
                    continue
                }
                summary.waiting = waiting.count
                summary.busy = busy.count
                break
            }
            queue = waiting + busy
        }
        if summary.waiting > 0 {
            log.line("\(spec.name): \(summary.waiting) run(s) wait for runs of another slice or a failed run; rerun when those have finished")
        }
        if summary.busy > 0 {
            log.line("\(spec.name): \(summary.busy) run(s) are being executed by another process")
        }
        return summary
    }

    /// How old a shard's temporary file must be before a run treats it as left by a killed
    /// process. Writing a shard takes milliseconds; the margin covers other hosts writing to a
    /// shared file system, whose temporary files a run must not remove.
    public static let staleTemporaryAge: TimeInterval = 60

    /// The longest a process whose remaining runs wait for another process's runs waits before
    /// looking again (it looks as soon as one of those runs finishes).
    public static var busyPollSeconds: TimeInterval = 30

    /// Removes temporary files (AtomicFile's `.<shard>.csv.tmp-<pid>-<uuid>`) that a killed run
    /// left in a shard directory. They are never read as shards (only `<key>.csv` is), so this is
    /// tidiness, not correctness. Returns the names removed.
    @discardableResult
    public func removeStaleTemporaryFiles(_ directory: String, olderThan age: TimeInterval = Runner.staleTemporaryAge) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names.sorted() where name.hasPrefix(".") && name.contains(".csv.tmp-") {
            let path = "\(directory)/\(name)"
            guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  Date().timeIntervalSince(modified) > age else { continue }
            if (try? fm.removeItem(atPath: path)) != nil {
                removed.append(name)
                log.line("removed a temporary file left by an interrupted run: \(path)")
            }
        }
        return removed
    }
}
