// Passkey: one scored position, the key at exactly the distance, the marker before it.

import Tasks
import Testing
import TensorCore

/// Every violated passkey invariant of one example at distance `d` (empty: all hold).
func passkeyViolations(_ t: PasskeyTask, distance d: Int, inputs x: [Int], targets y: [Int]) -> [String] {
    var bad: [String] = []
    let len = t.sequenceLength
    let scored = (0..<len).filter { y[$0] != ignoreLabel }
    if scored != [len - 1] { bad.append("scored positions \(scored), expected only the last, \(len - 1)") }
    if x[len - 1] != PasskeyTask.queryToken { bad.append("last input \(x[len - 1]) is not the query token") }
    let keyIndex = len - 1 - d
    if !t.keyRange.contains(x[keyIndex]) { bad.append("input \(x[keyIndex]) at the key index \(keyIndex) is not a key") }
    if y[len - 1] != x[keyIndex] { bad.append("target \(y[len - 1]) is not the key \(x[keyIndex]) at distance \(d)") }
    if x[keyIndex - 1] != PasskeyTask.markerToken { bad.append("no marker right before the key (index \(keyIndex - 1) holds \(x[keyIndex - 1]))") }
    for p in 0..<len where p != keyIndex - 1 && p != keyIndex && p != len - 1 {
        if !t.fillerRange.contains(x[p]) { bad.append("position \(p) holds \(x[p]), not filler"); break }
    }
    return bad
}

struct PasskeyShape: CustomTestStringConvertible, Sendable {
    let vocab, seq, distance: Int
    var testDescription: String { "V\(vocab)-T\(seq)-d\(distance)" }
}

@Suite("Passkey")
struct PasskeyTests {
    @Test func showsAnExample() throws {
        let t = try PasskeyTask(vocabSize: 20, sequenceLength: 12, distance: 5)
        var rng = Xoshiro256StarStar(seed: 0)
        let b = t.batch(size: 1, rng: &rng)
        print("Passkey \(t.configDescription)\n\(b.rendered(row: 0))")
        #expect(passkeyViolations(t, distance: 5, inputs: b.inputs, targets: b.targets) == [])
    }

    @Test(arguments: [
        PasskeyShape(vocab: 20, seq: 12, distance: 5),
        PasskeyShape(vocab: 6, seq: 3, distance: 1),        // the smallest task
        PasskeyShape(vocab: 7, seq: 9, distance: 7),        // odd vocab, distance T − 2: marker at 0
        PasskeyShape(vocab: 1000, seq: 257, distance: 1),   // key right before the query
        PasskeyShape(vocab: 1000, seq: 257, distance: 100),
    ])
    func invariantsHold(_ s: PasskeyShape) throws {
        let t = try PasskeyTask(vocabSize: s.vocab, sequenceLength: s.seq, distance: s.distance)
        var rng = Xoshiro256StarStar(seed: 3)
        let b = t.batch(size: 100, rng: &rng)
        #expect(b.scoredCount == 100)
        var keys = Set<Int>()
        for r in 0..<b.batch {
            let x = Array(b.inputs(row: r)), y = Array(b.targets(row: r))
            let bad = passkeyViolations(t, distance: s.distance, inputs: x, targets: y)
            #expect(bad.isEmpty, "row \(r): \(bad)\n\(b.rendered(row: r))")
            keys.insert(y[s.seq - 1])
        }
        #expect(keys.count > 1, "the key never varies: \(keys)")
    }

    /// The helper at a given distance, and a range of distances drawn per example.
    @Test func distancesAreExactAndDrawnFromTheRange() throws {
        let t = try PasskeyTask(vocabSize: 50, sequenceLength: 33, distances: 1...31)
        var rng = Xoshiro256StarStar(seed: 4)
        for d in [1, 2, 16, 30, 31] {
            let b = try t.batch(size: 8, distance: d, rng: &rng)
            for r in 0..<8 {
                let bad = passkeyViolations(t, distance: d, inputs: Array(b.inputs(row: r)), targets: Array(b.targets(row: r)))
                #expect(bad.isEmpty, "distance \(d) row \(r): \(bad)")
            }
        }
        var seen = Set<Int>()
        let b = t.batch(size: 2000, rng: &rng)
        for r in 0..<b.batch {
            let x = Array(b.inputs(row: r))
            let marker = x.firstIndex(of: PasskeyTask.markerToken)!
            seen.insert(32 - (marker + 1))
        }
        #expect(seen == Set(1...31), "distances drawn: \(seen.sorted())")
        // A checker that assumed the wrong distance fails (the invariant test can fail).
        let one = try t.batch(size: 1, distance: 10, rng: &rng)
        #expect(!passkeyViolations(t, distance: 11, inputs: one.inputs, targets: one.targets).isEmpty)
    }

    @Test func invalidConfigurationsNameTheValue() throws {
        expectConfigError(["distance = 64", "1...62", "seq-len = 64"]) { _ = try PasskeyTask(vocabSize: 100, sequenceLength: 64, distance: 64) }
        expectConfigError(["distance = 63", "1...62"]) { _ = try PasskeyTask(vocabSize: 100, sequenceLength: 64, distance: 63) }
        expectConfigError(["distance = 0", "1...62"]) { _ = try PasskeyTask(vocabSize: 100, sequenceLength: 64, distance: 0) }
        expectConfigError(["distance = 70"]) { _ = try PasskeyTask(vocabSize: 100, sequenceLength: 64, distances: 1...70) }
        expectConfigError(["vocab = 5", "at least 6"]) { _ = try PasskeyTask(vocabSize: 5, sequenceLength: 64, distance: 3) }
        expectConfigError(["seq-len = 2"]) { _ = try PasskeyTask(vocabSize: 100, sequenceLength: 2, distance: 1) }
        let t = try PasskeyTask(vocabSize: 100, sequenceLength: 64, distance: 3)
        var rng = Xoshiro256StarStar(seed: 0)
        expectConfigError(["distance = 99"]) { _ = try t.batch(size: 2, distance: 99, rng: &rng) }
    }
}
