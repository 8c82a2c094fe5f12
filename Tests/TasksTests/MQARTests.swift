// MQAR: the invariants of every example, zoology's layout and the power-law gaps.

import Foundation
@testable import Tasks
import Testing
import TensorCore

/// Every violated MQAR invariant of one example, in words (empty: all hold).
func mqarViolations(_ t: MQARTask, inputs: [Int], targets: [Int]) -> [String] {
    var bad: [String] = []
    let n = t.kvPairs, len = t.sequenceLength
    guard inputs.count == len, targets.count == len else { return ["lengths \(inputs.count), \(targets.count) ≠ T = \(len)"] }
    if let x = inputs.first(where: { !(0..<t.vocabSize).contains($0) }) { bad.append("input \(x) outside the vocabulary") }
    let keys = (0..<n).map { inputs[2 * $0] }, values = (0..<n).map { inputs[2 * $0 + 1] }
    if !keys.allSatisfy(t.keyRange.contains) { bad.append("keys \(keys) not all in \(t.keyRange)") }
    if !values.allSatisfy(t.valueRange.contains) { bad.append("values \(values) not all in \(t.valueRange)") }
    if Set(keys).count != n { bad.append("keys \(keys) repeat") }
    if Set(values).count != n { bad.append("values \(values) repeat") }
    let scored = (0..<len).filter { targets[$0] != ignoreLabel }
    if scored.count != n { bad.append("\(scored.count) scored positions, expected kv-pairs = \(n)") }
    var queried: [Int] = []
    for p in scored {
        if p < 2 * n || (p - 2 * n) % 2 != 0 || (p - 2 * n) / 2 >= t.querySlots {
            bad.append("scored position \(p) is not a query slot 2N + 2g, g < \(t.querySlots)")
        }
        guard let i = keys.firstIndex(of: inputs[p]) else { bad.append("input \(inputs[p]) at scored \(p) is not a key"); continue }
        if targets[p] != values[i] { bad.append("target \(targets[p]) at \(p) is not the value \(values[i]) of key \(keys[i])") }
        queried.append(inputs[p])
    }
    if Set(queried) != Set(keys) || queried.count != n { bad.append("queried keys \(queried) are not each key once (\(keys))") }
    return bad
}

/// The slot g of each query (position 2N + 2g), in pair order.
func mqarGaps(_ t: MQARTask, inputs: [Int], targets: [Int]) -> [Int] {
    (0..<t.kvPairs).map { i in
        let p = (2 * t.kvPairs..<t.sequenceLength).first { targets[$0] != ignoreLabel && inputs[$0] == inputs[2 * i] }!
        return (p - 2 * t.kvPairs) / 2
    }
}

struct MQARShape: CustomTestStringConvertible, Sendable {
    let vocab, seq, pairs: Int
    let alpha: Double
    var testDescription: String { "V\(vocab)-T\(seq)-N\(pairs)-a\(alpha)" }
}

@Suite("MQAR")
struct MQARTests {
    @Test func showsAnExample() throws {
        let t = try MQARTask(vocabSize: 20, sequenceLength: 16, kvPairs: 2)
        var rng = Xoshiro256StarStar(seed: 0)
        let b = t.batch(size: 1, rng: &rng)
        print("MQAR \(t.configDescription)\n\(b.rendered(row: 0))")
        #expect(mqarViolations(t, inputs: Array(b.inputs), targets: Array(b.targets)) == [])
    }

    @Test(arguments: [
        MQARShape(vocab: 20, seq: 16, pairs: 2, alpha: 0.01),
        MQARShape(vocab: 8192, seq: 64, pairs: 4, alpha: 0.01),
        MQARShape(vocab: 8192, seq: 256, pairs: 16, alpha: 0.01),
        MQARShape(vocab: 8, seq: 13, pairs: 3, alpha: 1),     // smallest vocab for N = 3, odd T
        MQARShape(vocab: 31, seq: 63, pairs: 7, alpha: 0.5),  // odd vocab (V/2 rounds down), odd T
        MQARShape(vocab: 101, seq: 7, pairs: 1, alpha: 2),    // S = 2 slots for 1 pair, α > 1
        MQARShape(vocab: 64, seq: 32, pairs: 8, alpha: 0.01), // 4N = T: every slot taken
    ])
    func invariantsHold(_ s: MQARShape) throws {
        let t = try MQARTask(vocabSize: s.vocab, sequenceLength: s.seq, kvPairs: s.pairs, alpha: s.alpha)
        var rng = Xoshiro256StarStar(seed: 7)
        let b = t.batch(size: 200, rng: &rng)
        #expect(b.scoredCount == 200 * s.pairs)
        for r in 0..<b.batch {
            let bad = mqarViolations(t, inputs: Array(b.inputs(row: r)), targets: Array(b.targets(row: r)))
            #expect(bad.isEmpty, "row \(r): \(bad)\n\(b.rendered(row: r))")
            if !bad.isEmpty { break }
        }
    }

    /// The checker catches broken examples (so the invariant test can fail).
    @Test func checkerCatchesBrokenExamples() throws {
        let t = try MQARTask(vocabSize: 64, sequenceLength: 32, kvPairs: 4)
        var rng = Xoshiro256StarStar(seed: 1)
        let (x, y) = t.example(rng: &rng)
        #expect(mqarViolations(t, inputs: x, targets: y).isEmpty)
        let scored = y.indices.filter { y[$0] != ignoreLabel }
        var wrongValue = y; wrongValue[scored[0]] = y[scored[1]]
        #expect(!mqarViolations(t, inputs: x, targets: wrongValue).isEmpty)
        var repeatedKey = x; repeatedKey[2] = x[0]
        #expect(!mqarViolations(t, inputs: repeatedKey, targets: y).isEmpty)
        var valueInKeyHalf = x; valueInKeyHalf[1] = 5
        #expect(!mqarViolations(t, inputs: valueInKeyHalf, targets: y).isEmpty)
        var extraScored = y; extraScored[0] = x[1]
        #expect(!mqarViolations(t, inputs: x, targets: extraScored).isEmpty)
    }

    /// Zoology's layout: pairs first, queries at even offsets of the query region, the
    /// token after each query is filler, and filler covers the whole vocabulary.
    @Test func fillerComesFromTheWholeVocabulary() throws {
        let t = try MQARTask(vocabSize: 16, sequenceLength: 64, kvPairs: 2)
        var rng = Xoshiro256StarStar(seed: 3)
        let b = t.batch(size: 300, rng: &rng)
        var filler = Set<Int>()
        for r in 0..<b.batch {
            let x = Array(b.inputs(row: r)), y = Array(b.targets(row: r))
            for p in 4..<64 where y[p] == ignoreLabel { filler.insert(x[p]) }
        }
        #expect(filler == Set(0..<16), "filler tokens seen: \(filler.sorted())")
    }

    /// With one pair the gap is one draw from p(g) ∝ α·(g+1)^(α−1): compare the
    /// empirical distribution with it, slot by slot (4σ bounds).
    @Test(arguments: [0.01, 0.5, 1.0])
    func singleGapFollowsThePowerLaw(_ alpha: Double) throws {
        let t = try MQARTask(vocabSize: 64, sequenceLength: 42, kvPairs: 1, alpha: alpha)  // S = 20
        let s = t.querySlots
        var weights = (0..<s).map { alpha * pow(Double($0 + 1), alpha - 1) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        var rng = Xoshiro256StarStar(seed: 11)
        let n = 20000
        var counts = [Int](repeating: 0, count: s)
        for _ in 0..<n {
            let (x, y) = t.example(rng: &rng)
            counts[mqarGaps(t, inputs: x, targets: y)[0]] += 1
        }
        for g in 0..<s {
            let p = weights[g], observed = Double(counts[g]) / Double(n)
            let sigma = (p * (1 - p) / Double(n)).squareRoot()
            #expect(abs(observed - p) <= 4 * sigma + 1e-9, "alpha \(alpha) gap \(g): observed \(observed), expected \(p)")
        }
    }

    /// With α = 0.01 small gaps are far more frequent than large ones; with α = 1 they are not.
    @Test func smallGapsDominateAtZoologysAlpha() throws {
        func quarterCounts(alpha: Double) throws -> (first: Int, last: Int, zero: Int, end: Int) {
            let t = try MQARTask(vocabSize: 8192, sequenceLength: 256, kvPairs: 16, alpha: alpha)  // S = 112
            var rng = Xoshiro256StarStar(seed: 5)
            var counts = [Int](repeating: 0, count: t.querySlots)
            for _ in 0..<1000 {
                let (x, y) = t.example(rng: &rng)
                for g in mqarGaps(t, inputs: x, targets: y) { counts[g] += 1 }
            }
            let q = t.querySlots / 4
            return (counts[0..<q].reduce(0, +), counts[(t.querySlots - q)...].reduce(0, +), counts[0], counts[t.querySlots - 1])
        }
        let skewed = try quarterCounts(alpha: 0.01)
        #expect(skewed.first > 3 * skewed.last, "α 0.01: first quarter \(skewed.first), last \(skewed.last)")
        #expect(skewed.zero > skewed.end, "α 0.01: gap 0 seen \(skewed.zero) times, last gap \(skewed.end)")
        let flat = try quarterCounts(alpha: 1)
        let ratio = Double(flat.first) / Double(flat.last)
        #expect(ratio > 0.9 && ratio < 1.1, "α 1: first quarter \(flat.first), last \(flat.last)")
    }

    /// The sampling helpers behind the task: all ordered pairs equally likely, and
    /// weighted sampling without replacement never repeats an index.
    @Test func samplersAreUniformAndDistinct() {
        var rng = Xoshiro256StarStar(seed: 2)
        var counts: [[Int]: Int] = [:]
        let n = 24000
        for _ in 0..<n { counts[sampleWithoutReplacement(2, from: 10..<14, rng: &rng), default: 0] += 1 }
        #expect(counts.count == 12, "ordered pairs seen: \(counts.keys.sorted { $0.lexicographicallyPrecedes($1) })")
        for (pair, c) in counts {
            #expect(pair[0] != pair[1] && (10..<14).contains(pair[0]) && (10..<14).contains(pair[1]))
            #expect(abs(c - n / 12) < 4 * 42, "pair \(pair): \(c) of \(n)")  // σ = √(n·p(1−p)) ≈ 42
        }
        for _ in 0..<200 {
            let draw = weightedSampleWithoutReplacement(5, weights: [1e-9, 3, 1, 1e6, 2], rng: &rng)
            #expect(Set(draw) == Set(0..<5), "\(draw)")
        }
    }

    @Test func invalidConfigurationsNameTheValue() {
        expectConfigError(["kv-pairs = 17", "seq-len = 64", "1...16"]) { _ = try MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 17) }
        expectConfigError(["kv-pairs = 0", "at least 1"]) { _ = try MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 0) }
        expectConfigError(["vocab = 9", "at least 10"]) { _ = try MQARTask(vocabSize: 9, sequenceLength: 64, kvPairs: 4) }
        expectConfigError(["alpha = 0.0"]) { _ = try MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 4, alpha: 0) }
        expectConfigError(["alpha = nan"]) { _ = try MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 4, alpha: .nan) }
        expectConfigError(["kv-pairs = 1", "seq-len must be at least 4"]) { _ = try MQARTask(vocabSize: 8192, sequenceLength: 3, kvPairs: 1) }
        // The boundary itself is valid.
        #expect(throws: Never.self) { _ = try MQARTask(vocabSize: 10, sequenceLength: 16, kvPairs: 4) }
    }
}
