// Multi-key needle: K marked key → value needles that never overlap, keys and values
// distinct and found nowhere else, one scored position answering the asked key's value,
// the asked value at exactly the requested distance, and errors naming the bad value.

import Tasks
import Testing
import TensorCore

/// Every violated multikey-needle invariant of one example (empty: all hold). With
/// `distance`, the asked value must sit exactly there; without, anywhere valid.
func needleViolations(_ t: MultiKeyNeedleTask, distance: Int? = nil, inputs x: [Int], targets y: [Int]) -> [String] {
    var bad: [String] = []
    let len = t.sequenceLength, c = t.contextLength
    let scored = (0..<len).filter { y[$0] != ignoreLabel }
    if scored != [len - 1] { bad.append("scored positions \(scored), expected only the last, \(len - 1)") }
    if x[len - 2] != MultiKeyNeedleTask.queryToken { bad.append("input \(x[len - 2]) before the last is not the query marker") }
    let starts = (0..<c).filter { x[$0] == MultiKeyNeedleTask.markerToken }
    if starts.count != t.needles { bad.append("\(starts.count) markers in the context, expected \(t.needles)") }
    if let last = starts.last, last + 2 >= c { bad.append("the needle at \(last) runs past the context (\(c) positions)") }
    if zip(starts, starts.dropFirst()).contains(where: { $1 - $0 < 3 }) { bad.append("needles overlap: starts \(starts)") }
    let needles = starts.filter { $0 + 2 < c }.map { (start: $0, key: x[$0 + 1], value: x[$0 + 2]) }
    if !needles.allSatisfy({ t.keyRange.contains($0.key) && t.valueRange.contains($0.value) }) {
        bad.append("needles \(needles) are not all [marker, key, value]")
    }
    if Set(needles.map(\.key)).count != needles.count { bad.append("keys repeat: \(needles.map(\.key))") }
    if Set(needles.map(\.value)).count != needles.count { bad.append("values repeat: \(needles.map(\.value))") }
    let needleTokens = Set(starts.flatMap { [$0, $0 + 1, $0 + 2] })
    if let p = (0..<c).first(where: { !needleTokens.contains($0) && !t.fillerRange.contains(x[$0]) }) {
        bad.append("context position \(p) outside the needles holds \(x[p]), not filler")
    }
    let asked = needles.filter { $0.key == x[len - 1] }
    guard asked.count == 1, let a = asked.first else {
        bad.append("the asked key \(x[len - 1]) is in \(asked.count) needles, expected 1")
        return bad
    }
    if y[len - 1] != a.value { bad.append("target \(y[len - 1]) is not the asked key's value \(a.value)") }
    let d = len - 1 - (a.start + 2)
    if let distance, d != distance { bad.append("the asked value is at distance \(d), expected \(distance)") }
    if !t.validDistances.contains(d) { bad.append("distance \(d) outside \(t.validDistances)") }
    return bad
}

struct NeedleShape: CustomTestStringConvertible, Sendable {
    let vocab, seq, needles: Int
    var testDescription: String { "V\(vocab)-T\(seq)-K\(needles)" }
}

@Suite("Multi-key needle")
struct MultiKeyNeedleTests {
    @Test func showsAnExample() throws {
        let t = try MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2)
        var rng = Xoshiro256StarStar(seed: 0)
        let b = t.batch(size: 1, rng: &rng)
        print("Multi-key needle \(t.configDescription)\n\(b.rendered(row: 0))")
        #expect(needleViolations(t, inputs: b.inputs, targets: b.targets) == [])
    }

    @Test(arguments: [
        NeedleShape(vocab: 20, seq: 16, needles: 2),      // the documented example
        NeedleShape(vocab: 8, seq: 7, needles: 1),        // the smallest task
        NeedleShape(vocab: 512, seq: 128, needles: 1),
        NeedleShape(vocab: 512, seq: 128, needles: 16),
        NeedleShape(vocab: 512, seq: 128, needles: 41),   // the most that fit in T = 128: (128 − 4)/3
        NeedleShape(vocab: 50, seq: 200, needles: 16),    // the most V = 50 allows: (50 − 2)/3
        NeedleShape(vocab: 30, seq: 31, needles: 9),      // both limits at once, V − 2 not a multiple of 3
    ])
    func invariantsHold(_ s: NeedleShape) throws {
        let t = try MultiKeyNeedleTask(vocabSize: s.vocab, sequenceLength: s.seq, needles: s.needles)
        var rng = Xoshiro256StarStar(seed: 3)
        let b = t.batch(size: 100, rng: &rng)
        #expect(b.batch == 100 && b.length == s.seq && b.inputs.count == 100 * s.seq && b.targets.count == b.inputs.count)
        #expect(b.scoredCount == 100)
        var answers = Set<Int>()
        for r in 0..<b.batch {
            let x = Array(b.inputs(row: r)), y = Array(b.targets(row: r))
            let bad = needleViolations(t, inputs: x, targets: y)
            #expect(bad.isEmpty, "row \(r): \(bad)\n\(b.rendered(row: r))")
            answers.insert(y[s.seq - 1])
        }
        #expect(answers.count > 1, "the answer never varies: \(answers)")
    }

    /// Markers, keys, values and filler partition the vocabulary.
    @Test(arguments: [8, 9, 10, 20, 512])
    func rangesAreDisjointAndCoverTheVocabulary(_ vocab: Int) throws {
        let t = try MultiKeyNeedleTask(vocabSize: vocab, sequenceLength: 16, needles: 1)
        #expect(t.keyRange.lowerBound == 2 && t.keyRange.upperBound == t.valueRange.lowerBound)
        #expect(t.valueRange.upperBound == t.fillerRange.lowerBound && t.fillerRange.upperBound == vocab)
        #expect(t.keyRange.count == t.valueRange.count && t.fillerRange.count >= t.keyRange.count && t.keyRange.count >= 2)
    }

    /// At every valid distance, including the tightest context, the asked value sits
    /// exactly there and all other needles still fit; training draws every distance.
    @Test func distancesAreExactAndDrawnFromTheRange() throws {
        let tight = try MultiKeyNeedleTask(vocabSize: 30, sequenceLength: 31, needles: 9)
        var rng = Xoshiro256StarStar(seed: 4)
        for d in tight.validDistances {
            let b = try tight.batch(size: 8, distance: d, rng: &rng)
            for r in 0..<8 {
                let bad = needleViolations(tight, distance: d, inputs: Array(b.inputs(row: r)), targets: Array(b.targets(row: r)))
                #expect(bad.isEmpty, "distance \(d) row \(r): \(bad)\n\(b.rendered(row: r))")
            }
        }
        let t = try MultiKeyNeedleTask(vocabSize: 50, sequenceLength: 24, needles: 3)
        #expect(t.validDistances == 2...21)
        var seen = Set<Int>()
        let b = t.batch(size: 2000, rng: &rng)
        for r in 0..<b.batch {
            let x = Array(b.inputs(row: r))
            let asked = (0..<22).first { x[$0] == MultiKeyNeedleTask.markerToken && x[$0 + 1] == x[23] }!
            seen.insert(23 - (asked + 2))
        }
        #expect(seen == Set(2...21), "distances drawn: \(seen.sorted())")
        // A checker that assumed the wrong distance fails (the invariant test can fail).
        let one = try t.batch(size: 1, distance: 10, rng: &rng)
        #expect(!needleViolations(t, distance: 11, inputs: one.inputs, targets: one.targets).isEmpty)
    }

    /// The other needles move from example to example around a fixed asked needle, and
    /// the asked one is not always first or last among them.
    @Test func otherNeedlesAndTheAskedOnesRankVary() throws {
        let t = try MultiKeyNeedleTask(vocabSize: 100, sequenceLength: 40, needles: 4)
        var rng = Xoshiro256StarStar(seed: 5)
        let fixed = try t.batch(size: 200, distance: 20, rng: &rng)
        let placements = Set((0..<200).map { r in
            let x = Array(fixed.inputs(row: r))
            return (0..<38).filter { x[$0] == MultiKeyNeedleTask.markerToken }
        })
        #expect(placements.count > 20, "only \(placements.count) placements of the needles")
        let drawn = t.batch(size: 500, rng: &rng)
        var ranks = Set<Int>()
        for r in 0..<500 {
            let x = Array(drawn.inputs(row: r))
            let starts = (0..<38).filter { x[$0] == MultiKeyNeedleTask.markerToken }
            ranks.insert(starts.firstIndex { x[$0 + 1] == x[39] }!)
        }
        #expect(ranks == Set(0..<4), "ranks of the asked needle: \(ranks.sorted())")
    }

    @Test func sameSeedSameBatch() throws {
        let t = try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 8)
        var a = Xoshiro256StarStar(seed: 7), b = Xoshiro256StarStar(seed: 7), other = Xoshiro256StarStar(seed: 8)
        #expect(try t.batch(size: 4, distance: 30, rng: &a) == t.batch(size: 4, distance: 30, rng: &b))
        #expect(t.batch(size: 4, rng: &a) == t.batch(size: 4, rng: &b))
        #expect(a == b)
        #expect(t.batch(size: 4, rng: &a) != t.batch(size: 4, rng: &other))
    }

    @Test func invalidConfigurationsNameTheValue() throws {
        expectConfigError(["needles = 0", "1...41"]) { _ = try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 0) }
        expectConfigError(["needles = 42", "1...41", "seq-len = 128"]) { _ = try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 42) }
        expectConfigError(["needles = 17", "1...16", "vocab = 50"]) { _ = try MultiKeyNeedleTask(vocabSize: 50, sequenceLength: 200, needles: 17) }
        expectConfigError(["seq-len = 6", "at least 7"]) { _ = try MultiKeyNeedleTask(vocabSize: 100, sequenceLength: 6, needles: 1) }
        expectConfigError(["vocab = 7", "at least 8"]) { _ = try MultiKeyNeedleTask(vocabSize: 7, sequenceLength: 64, needles: 1) }
        expectConfigError(["distance = 1", "2...61", "seq-len = 64"]) { _ = try MultiKeyNeedleTask(vocabSize: 100, sequenceLength: 64, needles: 2, distance: 1) }
        expectConfigError(["distance = 62", "2...61"]) { _ = try MultiKeyNeedleTask(vocabSize: 100, sequenceLength: 64, needles: 2, distance: 62) }
        expectConfigError(["distance = 70"]) { _ = try MultiKeyNeedleTask(vocabSize: 100, sequenceLength: 64, needles: 2, distances: 2...70) }
        let t = try MultiKeyNeedleTask(vocabSize: 100, sequenceLength: 64, needles: 2)
        var rng = Xoshiro256StarStar(seed: 0)
        expectConfigError(["distance = 99"]) { _ = try t.batch(size: 2, distance: 99, rng: &rng) }
    }

    @Test func configDescriptionNamesTheParameters() throws {
        #expect(try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 4).configDescription == "vocab=512 seq=128 needles=4")
        #expect(try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 4, distance: 9).configDescription
                == "vocab=512 seq=128 needles=4 distance=9")
        #expect(try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 4, distances: 2...50).configDescription
                == "vocab=512 seq=128 needles=4 distance=2...50")
    }
}

/// Several questions (Q > 1): Q distinct needles asked at the end, each answered at its
/// key's position; the last question asks the distance-controlled needle; a batch drawn at
/// one distance scores only the last question.
@Suite("Multi-key needle, several questions")
struct MultiKeyNeedleQuestionsTests {
    @Test(arguments: [(20, 16, 2, 2), (64, 40, 8, 3), (512, 128, 16, 16), (512, 128, 4, 4)])
    func everyQuestionAsksADistinctNeedleAndIsScoredWithItsValue(_ vocab: Int, _ seq: Int, _ needles: Int, _ questions: Int) throws {
        let t = try MultiKeyNeedleTask(vocabSize: vocab, sequenceLength: seq, needles: needles, questions: questions)
        #expect(t.contextLength == seq - 2 * questions && t.validDistances == (2 * questions)...(seq - 3))
        var rng = Xoshiro256StarStar(seed: 11)
        for _ in 0..<50 {
            let (x, y) = t.example(rng: &rng)
            let c = t.contextLength
            let starts = (0..<c).filter { x[$0] == MultiKeyNeedleTask.markerToken }
            #expect(starts.count == needles && zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 >= 3 } && starts.last! + 2 < c)
            let valueOf = Dictionary(uniqueKeysWithValues: starts.map { (x[$0 + 1], x[$0 + 2]) })
            let asked = (0..<questions).map { q -> Int in
                #expect(x[c + 2 * q] == MultiKeyNeedleTask.queryToken)
                #expect(y[c + 2 * q] == ignoreLabel && y[c + 2 * q + 1] == valueOf[x[c + 2 * q + 1]])
                return x[c + 2 * q + 1]
            }
            #expect(Set(asked).count == questions, "questions repeat a needle: \(asked)")
            #expect((0..<c).allSatisfy { y[$0] == ignoreLabel })
            let scored = y.filter { $0 != ignoreLabel }.count
            #expect(scored == questions)
            // The last question's needle sits at a valid distance.
            let lastStart = starts.first { x[$0 + 1] == asked.last! }!
            #expect(t.validDistances.contains(seq - 1 - (lastStart + 2)))
        }
    }

    @Test func aBatchAtOneDistanceScoresOnlyTheLastQuestionAtThatDistance() throws {
        let t = try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 8, questions: 8)
        var rng = Xoshiro256StarStar(seed: 3)
        for d in [t.validDistances.lowerBound, 50, t.validDistances.upperBound] {
            let b = try t.batch(size: 8, distance: d, rng: &rng)
            for row in 0..<b.batch {
                let x = Array(b.inputs(row: row)), y = Array(b.targets(row: row))
                #expect(y.enumerated().filter { $0.element != ignoreLabel }.map(\.offset) == [127])
                let start = (0..<t.contextLength).first { x[$0] == MultiKeyNeedleTask.markerToken && x[$0 + 1] == x[127] }!
                #expect(127 - (start + 2) == d && y[127] == x[start + 2])
            }
        }
        #expect(throws: TaskConfigError.self) { try t.batch(size: 1, distance: 2 * 8 - 1, rng: &rng) }
    }

    @Test func oneQuestionIsRULERsLayoutAndDrawsAsBefore() throws {
        let one = try MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2, questions: 1)
        let plain = try MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2)
        var a = Xoshiro256StarStar(seed: 0), b = Xoshiro256StarStar(seed: 0)
        #expect(one.batch(size: 4, rng: &a) == plain.batch(size: 4, rng: &b))
    }

    /// Ordered examples ask the needles in context order; the rest, and every held-out
    /// example, in a uniformly random order; without the cue nothing is drawn for it.
    @Test func theOrderedFractionOrdersThatShareOfTrainingExamplesAndNoHeldOutOnes() throws {
        func inOrder(_ t: MultiKeyNeedleTask, _ x: [Int]) -> Bool {
            let c = t.contextLength
            let startOf = Dictionary(uniqueKeysWithValues: (0..<c).filter { x[$0] == MultiKeyNeedleTask.markerToken }.map { (x[$0 + 1], $0) })
            let asked = (0..<t.questions).map { startOf[x[c + 2 * $0 + 1]]! }
            return asked == asked.sorted()
        }
        func orderedShare(_ t: any SyntheticTask) -> Double {
            let t = t as! MultiKeyNeedleTask
            var rng = Xoshiro256StarStar(seed: 5)
            return Double((0..<2000).filter { _ in inOrder(t, t.example(rng: &rng).inputs) }.count) / 2000
        }
        let half = try MultiKeyNeedleTask(vocabSize: 64, sequenceLength: 48, needles: 4, questions: 4, orderedFraction: 0.5)
        // Half in order, plus 1/24 of the other half by chance (4 questions).
        #expect(abs(orderedShare(half) - (0.5 + 0.5 / 24)) < 0.03, "\(orderedShare(half))")
        #expect(orderedShare(try MultiKeyNeedleTask(vocabSize: 64, sequenceLength: 48, needles: 4, questions: 4, orderedFraction: 1)) == 1)
        #expect(abs(orderedShare(half.heldOut) - 1.0 / 24) < 0.015, "\(orderedShare(half.heldOut))")
        #expect(half.configDescription.hasSuffix(" ordered=0.5") && !half.heldOut.configDescription.contains("ordered"))
        // One question: nothing to order, and the examples are RULER's as before.
        let one = try MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2, orderedFraction: 0.5)
        var a = Xoshiro256StarStar(seed: 0), b = Xoshiro256StarStar(seed: 0)
        #expect(one.batch(size: 4, rng: &a) == (try MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2)).batch(size: 4, rng: &b))
        let e = #expect(throws: TaskConfigError.self) { try MultiKeyNeedleTask(vocabSize: 64, sequenceLength: 48, needles: 4, orderedFraction: 1.5) }
        #expect(e?.parameter == "ordered-fraction" && e?.value == "1.5")
    }

    /// Packed needles fill the first 3K positions (each needle whole, keys and values
    /// distinct, every question answered by its needle); the cue is the packed task, the
    /// held-out task is neither packed nor ordered.
    @Test func packedNeedlesFillTheStartOfTheContext() throws {
        let t = try MultiKeyNeedleTask(vocabSize: 64, sequenceLength: 48, needles: 4, questions: 4, orderedFraction: 0.5, packedNeedles: true)
        var rng = Xoshiro256StarStar(seed: 9)
        var askedSlots = Set<Int>()
        for _ in 0..<200 {
            let (x, y) = t.example(rng: &rng)
            var valueOf: [Int: Int] = [:]
            for n in 0..<4 {
                let marker: Int = x[3 * n], key: Int = x[3 * n + 1], value: Int = x[3 * n + 2]
                #expect(marker == MultiKeyNeedleTask.markerToken && t.keyRange.contains(key) && t.valueRange.contains(value))
                valueOf[key] = value
                if key == x[t.sequenceLength - 1] { askedSlots.insert(n) }
            }
            #expect((12..<t.contextLength).allSatisfy { (p: Int) -> Bool in t.fillerRange.contains(x[p]) })
            #expect(valueOf.count == 4 && Set(valueOf.values).count == 4)
            let c = t.contextLength
            for q in 0..<4 {
                let answer: Int = y[c + 2 * q + 1]
                #expect(answer == valueOf[x[c + 2 * q + 1]])
            }
        }
        #expect(askedSlots == [0, 1, 2, 3], "the last question's needle takes every slot")
        #expect(t.configDescription.hasSuffix(" packed"))
        let plain = try MultiKeyNeedleTask(vocabSize: 64, sequenceLength: 48, needles: 4, questions: 4, orderedFraction: 0.5)
        #expect((plain.trainingCue as? MultiKeyNeedleTask) == t)
        let heldOut = try #require(t.heldOut as? MultiKeyNeedleTask)
        #expect(!heldOut.packedNeedles && heldOut.orderedFraction == 0)
    }

    @Test func invalidQuestionCountsNameTheValue() throws {
        for (seq, needles, questions) in [(128, 4, 0), (128, 4, 5), (16, 4, 2)] {
            do {
                _ = try MultiKeyNeedleTask(vocabSize: 512, sequenceLength: seq, needles: needles, questions: questions)
                Issue.record("questions \(questions) with \(needles) needles at seq-len \(seq) was accepted")
            } catch let e as TaskConfigError {
                #expect(e.parameter == "questions" && e.value == "\(questions)", "\(e)")
            }
        }
    }
}
