// What every task shares: determinism, disjoint train and evaluation streams, the
// registry, causal solvability of every scored target, batches, and the accuracy helper.

import Tasks
import Testing
import TensorCore

@Suite("Every task")
struct CommonTests {
    @Test func sampleTasksCoverEveryKind() {
        #expect(Set(sampleTasks.map(\.task.id)) == Set(TaskKind.allCases))
    }

    @Test(arguments: sampleTasks)
    func sameSeedSameBatchesDifferentSeedsDiffer(_ c: TaskCase) {
        var a = Xoshiro256StarStar(seed: 42), b = Xoshiro256StarStar(seed: 42), other = Xoshiro256StarStar(seed: 43)
        let first = c.task.batch(size: 16, rng: &a)
        #expect(first == c.task.batch(size: 16, rng: &b))
        #expect(a == b, "generators end in different states")
        #expect(first != c.task.batch(size: 16, rng: &other))
        #expect(c.task.batch(size: 16, rng: &a) != first, "the next batch repeats the first")
    }

    /// Inputs and scored targets stay in the vocabulary; shapes are [B, T].
    @Test(arguments: sampleTasks)
    func tokensAreInTheVocabulary(_ c: TaskCase) {
        var rng = Xoshiro256StarStar(seed: 1)
        let b = c.task.batch(size: 50, rng: &rng)
        #expect(b.batch == 50 && b.length == c.task.sequenceLength)
        #expect(b.inputs.count == 50 * c.task.sequenceLength && b.targets.count == b.inputs.count)
        let vocab = 0..<c.task.vocabSize
        #expect(b.inputs.allSatisfy(vocab.contains))
        #expect(b.targets.allSatisfy { $0 == ignoreLabel || vocab.contains($0) })
        #expect(b.scoredCount > 0)
    }

    /// An oracle reading only inputs[0...i] predicts every scored target at i: each
    /// answer is available to a causal model at the position it is scored. The same
    /// oracle one position late (the other next-token convention) fails.
    @Test(arguments: sampleTasks)
    func everyScoredTargetIsCausallyDetermined(_ c: TaskCase) {
        var rng = Xoshiro256StarStar(seed: 6)
        let b = c.task.batch(size: 20, rng: &rng)
        var right = (correct: 0, total: 0), late = (correct: 0, total: 0)
        for r in 0..<b.batch {
            let x = Array(b.inputs(row: r)), y = Array(b.targets(row: r))
            let a = accuracy(predictions: oraclePredictions(c.task, inputs: x), targets: y)
            let l = accuracy(predictions: oraclePredictions(c.task, inputs: x, shift: 1), targets: y)
            right = (right.correct + a.correct, right.total + a.total)
            late = (late.correct + l.correct, late.total + l.total)
        }
        #expect(right.correct == right.total && right.total == b.scoredCount, "oracle: \(right)")
        #expect(Double(late.correct) < 0.8 * Double(late.total), "the shifted oracle scored \(late)")
    }

    @Test func trainValidationAndTestStreamsDiffer() throws {
        let t = try MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 4)
        for seed: UInt64 in [0, 1, 12345] {
            var s = TaskStreams(seed: seed)
            #expect(s.train != s.evaluation && s.train != s.test && s.evaluation != s.test)
            let train = t.batch(size: 64, rng: &s.train), eval = t.batch(size: 64, rng: &s.evaluation)
            let test = t.batch(size: 64, rng: &s.test)
            #expect(train != eval && train != test && eval != test)
            let trainRows = Set((0..<64).map { Array(train.inputs(row: $0)) })
            let evalRows = Set((0..<64).map { Array(eval.inputs(row: $0)) })
            #expect((0..<64).allSatisfy { !trainRows.contains(Array(eval.inputs(row: $0))) })
            #expect((0..<64).allSatisfy { !trainRows.contains(Array(test.inputs(row: $0))) && !evalRows.contains(Array(test.inputs(row: $0))) })
            #expect(TaskStreams(seed: seed) == TaskStreams(seed: seed))
        }
        // Nearby seeds give unrelated streams, including across train, validation and test.
        var starts = Set<UInt64>()
        for seed: UInt64 in 0..<100 {
            var s = TaskStreams(seed: seed)
            starts.insert(s.train.next()); starts.insert(s.evaluation.next()); starts.insert(s.test.next())
        }
        #expect(starts.count == 300)
    }

    @Test func testSetIsFixedAndDisjointFromValidation() throws {
        let t = try CopyingTask(vocabSize: 20, sequenceLength: 21)
        let test = testSet(t, examples: 10, seed: 3)
        #expect(test == testSet(t, examples: 10, seed: 3))
        #expect(test != testSet(t, examples: 10, seed: 4))
        #expect(test != evaluationSet(t, examples: 10, seed: 3))
        #expect(testSet(t, examples: 4, seed: 3) == test.chunks(ofSize: 4)[0])
    }

    @Test func evaluationSetIsFixedAndHeldOut() throws {
        let t = try CopyingTask(vocabSize: 20, sequenceLength: 21)
        let set = evaluationSet(t, examples: 10, seed: 3)
        #expect(set == evaluationSet(t, examples: 10, seed: 3))
        #expect(set != evaluationSet(t, examples: 10, seed: 4))
        var s = TaskStreams(seed: 3)
        _ = t.batch(size: 100, rng: &s.train)  // training does not move the evaluation set
        #expect(t.batch(size: 10, rng: &s.evaluation) == set)
        var fresh = TaskStreams(seed: 3)
        #expect(t.batch(size: 10, rng: &fresh.train) != set)
        // Its first rows do not depend on its size.
        #expect(evaluationSet(t, examples: 4, seed: 3) == set.chunks(ofSize: 4)[0])
    }

    @Test func chunksSplitInOrder() throws {
        let t = try PasskeyTask(vocabSize: 20, sequenceLength: 9, distance: 4)
        var rng = Xoshiro256StarStar(seed: 0)
        let b = t.batch(size: 7, rng: &rng)
        let parts = b.chunks(ofSize: 3)
        #expect(parts.map(\.batch) == [3, 3, 1])
        #expect(parts.flatMap(\.inputs) == b.inputs && parts.flatMap(\.targets) == b.targets)
        #expect(parts.allSatisfy { $0.length == 9 })
    }

    @Test func parseAcceptsEveryIdAndListsThemOtherwise() throws {
        for k in TaskKind.allCases { #expect(try TaskKind.parse(k.rawValue) == k) }
        #expect(try TaskKind.parse("selective-copying") == .selectiveCopying)
        let e = #expect(throws: UnknownTaskKind.self) { _ = try TaskKind.parse("selectiveCopying") }
        #expect(e?.description == "unknown task 'selectiveCopying'; valid: mqar, passkey, copying, selective-copying, multikey-needle")
    }

    @Test func accuracyCountsScoredPositionsOnly() {
        let i = ignoreLabel
        let targets = [i, 5, i, 7, 9, i]
        #expect(accuracy(predictions: [0, 5, 0, 7, 9, 0], targets: targets) == (correct: 3, total: 3))
        #expect(accuracy(predictions: [5, 5, 7, 0, 9, 9], targets: targets) == (correct: 2, total: 3))
        #expect(accuracy(predictions: [0, 0, 0, 0, 0, 0], targets: targets) == (correct: 0, total: 3))
        #expect(accuracy(predictions: [i, i, i], targets: [i, i, i]) == (correct: 0, total: 0))
        #expect(accuracy(predictions: [], targets: []) == (correct: 0, total: 0))
    }

    @Test func configDescriptionsNameTheParameters() throws {
        #expect(try MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 4, alpha: 0.01).configDescription
                == "vocab=8192 seq=64 kv-pairs=4 alpha=0.01")
        #expect(try PasskeyTask(vocabSize: 100, sequenceLength: 64, distance: 9).configDescription == "vocab=100 seq=64 distance=9")
        #expect(try PasskeyTask(vocabSize: 100, sequenceLength: 64, distances: 1...62).configDescription == "vocab=100 seq=64 distance=1...62")
        #expect(try CopyingTask(vocabSize: 30, sequenceLength: 64).configDescription == "vocab=30 seq=64 length=31")
        #expect(try SelectiveCopyingTask(vocabSize: 16, sequenceLength: 4112).configDescription == "vocab=16 seq=4112 data-tokens=16")
    }
}
