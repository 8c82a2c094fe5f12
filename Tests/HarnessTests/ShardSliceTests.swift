// `--shard i/n`: what parses, what is refused (with a message naming the bad text and the
// valid range), and that the n slices partition a profile's runs.

import Foundation
import Testing
@testable import Harness

@Suite("Shard slices")
struct ShardSliceTests {
    @Test(arguments: [
        ("0/0", "n = 0 must be at least 1"),
        ("5/4", "slice index must be in 0...3"),
        ("4/4", "slice index must be in 0...3"),
        ("-1/2", "slice index must be in 0...1"),
        ("a/b", "'a/b' is not of the form i/n"),
        ("1", "'1' is not of the form i/n"),
        ("1/2/3", "is not of the form i/n"),
        ("", "is not of the form i/n"),
    ])
    func rejected(text: String, message: String) {
        expectBadInput([message]) { _ = try ShardSlice.parse(text) }
    }

    @Test func accepted() throws {
        #expect(try ShardSlice.parse("0/1") == .all)
        #expect(try ShardSlice.parse("3/4") == ShardSlice(index: 3, count: 4))
        #expect(try ShardSlice.parse("0/4") == ShardSlice(index: 0, count: 4))
    }

    /// Every position belongs to exactly one of the n slices.
    @Test(arguments: 1...9)
    func slicesPartitionPositions(n: Int) throws {
        let slices = try (0..<n).map { try ShardSlice.parse("\($0)/\(n)") }
        for position in 0..<50 { #expect(slices.filter { $0.contains(position) }.count == 1) }
    }

    /// Running each slice i/n of a real spec into one results directory runs every run once:
    /// the counts add up (no slice skipped another's run) and every shard exists.
    @Test(arguments: [1, 2, 4, 6, 7])
    func slicesPartitionTheRuns(n: Int) throws {
        let dir = try TempDir("slices")
        // kv-cache-scaling, not train: a training run sets OpenBLAS's (process-wide) thread
        // count, which other test targets running concurrently in this process rely on.
        let specPath = try dir.write("tiny.json", try json(kvScalingSpec(contexts: [16], variants: ["mqa", "linear"], seeds: [0, 1, 2])))
        let spec = try ExperimentSpec.load(path: specPath)
        let store = ShardStore(results: dir.file("results"))
        let runner = Runner(store: store, log: CollectingLog())
        let all = try spec.runs(profile: .smoke)
        var ran = 0
        for i in 0..<n {
            let summary = try runner.run(spec, profile: .smoke, slice: ShardSlice.parse("\(i)/\(n)"))
            #expect(summary.skipped == 0 && summary.failed.isEmpty)
            ran += summary.ran
        }
        #expect(ran == all.count)
        #expect(all.allSatisfy { store.isFinished($0, .smoke) })
        let files = try FileManager.default.contentsOfDirectory(atPath: store.directory("tiny", .smoke)).filter { !$0.hasPrefix(".") }
        #expect(Set(files) == Set(all.map { "\($0.key).csv" }))
    }
}
