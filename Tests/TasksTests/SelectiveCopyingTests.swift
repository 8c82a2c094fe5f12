// Selective copying: data tokens in order among noise, recalled at the markers in order.

import Tasks
import Testing
import TensorCore

/// Every violated selective-copying invariant of one example (empty: all hold).
func selectiveCopyingViolations(_ t: SelectiveCopyingTask, inputs x: [Int], targets y: [Int]) -> [String] {
    var bad: [String] = []
    let c = t.contextLength, m = t.dataTokens, len = t.sequenceLength
    let data = x[0..<c].filter { $0 != SelectiveCopyingTask.noiseToken }
    if data.count != m { bad.append("\(data.count) data tokens in the context, expected \(m)") }
    if !data.allSatisfy(t.dataRange.contains) { bad.append("context tokens \(data) not all data tokens \(t.dataRange)") }
    if Array(x[c...]) != [Int](repeating: t.markerToken, count: m) { bad.append("the last \(m) inputs \(Array(x[c...])) are not all markers") }
    let scored = (0..<len).filter { y[$0] != ignoreLabel }
    if scored != Array(c..<len) { bad.append("scored positions \(scored), expected the markers \(c)..<\(len)") }
    if Array(y[c...]) != data { bad.append("targets at the markers \(Array(y[c...])) are not the data tokens in order \(data)") }
    return bad
}

struct SelectiveShape: CustomTestStringConvertible, Sendable {
    let vocab, seq, data: Int
    var testDescription: String { "V\(vocab)-T\(seq)-M\(data)" }
}

@Suite("Selective copying")
struct SelectiveCopyingTests {
    @Test func showsAnExample() throws {
        let t = try SelectiveCopyingTask(vocabSize: 10, sequenceLength: 14, dataTokens: 3)
        var rng = Xoshiro256StarStar(seed: 0)
        let b = t.batch(size: 1, rng: &rng)
        print("Selective copying \(t.configDescription)\n\(b.rendered(row: 0))")
        #expect(selectiveCopyingViolations(t, inputs: b.inputs, targets: b.targets) == [])
    }

    @Test(arguments: [
        SelectiveShape(vocab: 10, seq: 14, data: 3),
        SelectiveShape(vocab: 4, seq: 2, data: 1),      // the smallest task
        SelectiveShape(vocab: 16, seq: 32, data: 16),   // C = M: no noise at all
        SelectiveShape(vocab: 16, seq: 127, data: 16),  // odd T
        SelectiveShape(vocab: 17, seq: 1000, data: 5),
    ])
    func invariantsHold(_ s: SelectiveShape) throws {
        let t = try SelectiveCopyingTask(vocabSize: s.vocab, sequenceLength: s.seq, dataTokens: s.data)
        var rng = Xoshiro256StarStar(seed: 9)
        let b = t.batch(size: 100, rng: &rng)
        #expect(b.scoredCount == 100 * s.data)
        for r in 0..<b.batch {
            let bad = selectiveCopyingViolations(t, inputs: Array(b.inputs(row: r)), targets: Array(b.targets(row: r)))
            #expect(bad.isEmpty, "row \(r): \(bad)\n\(b.rendered(row: r))")
        }
    }

    /// Data positions are uniform over the context: each position holds data with
    /// probability M/C, and reversed targets fail the checker.
    @Test func dataPositionsAreUniform() throws {
        let t = try SelectiveCopyingTask(vocabSize: 16, sequenceLength: 36, dataTokens: 4)  // C = 32
        var rng = Xoshiro256StarStar(seed: 10)
        let n = 8000
        let b = t.batch(size: n, rng: &rng)
        var hits = [Int](repeating: 0, count: t.contextLength)
        for r in 0..<n {
            for (p, v) in b.inputs(row: r).prefix(t.contextLength).enumerated() where v != SelectiveCopyingTask.noiseToken { hits[p] += 1 }
        }
        let expected = Double(n) * 4 / 32  // 1000, σ ≈ 30
        for (p, h) in hits.enumerated() { #expect(abs(Double(h) - expected) < 150, "position \(p) held data \(h) times, expected ≈ \(expected)") }
        let x = Array(b.inputs(row: 0)), y = Array(b.targets(row: 0))
        var reversed = y; reversed.replaceSubrange(32..., with: y[32...].reversed())
        if y[32...].reversed() != Array(y[32...]) {
            #expect(!selectiveCopyingViolations(t, inputs: x, targets: reversed).isEmpty)
        }
    }

    @Test func invalidConfigurationsNameTheValue() {
        expectConfigError(["data-tokens = 17", "seq-len = 32", "1...16"]) { _ = try SelectiveCopyingTask(vocabSize: 16, sequenceLength: 32, dataTokens: 17) }
        expectConfigError(["data-tokens = 0"]) { _ = try SelectiveCopyingTask(vocabSize: 16, sequenceLength: 32, dataTokens: 0) }
        expectConfigError(["vocab = 3", "at least 4"]) { _ = try SelectiveCopyingTask(vocabSize: 3, sequenceLength: 32, dataTokens: 2) }
    }
}
