// Copying: the string, the delimiter, the copy; each scored target is the original token.

import Tasks
import Testing
import TensorCore

/// Every violated copying invariant of one example (empty: all hold).
func copyingViolations(_ t: CopyingTask, inputs x: [Int], targets y: [Int]) -> [String] {
    var bad: [String] = []
    let l = t.stringLength, len = t.sequenceLength
    let s = Array(x[0..<l])
    if !s.allSatisfy(t.alphabet.contains) { bad.append("string \(s) not in the alphabet \(t.alphabet)") }
    if x[l] != CopyingTask.delimiterToken { bad.append("position \(l) holds \(x[l]), not the delimiter") }
    if Array(x[(l + 1)...(2 * l)]) != s { bad.append("the copy \(Array(x[(l + 1)...(2 * l)])) differs from the string \(s)") }
    if x[(2 * l + 1)...].contains(where: { $0 != CopyingTask.padToken }) { bad.append("tail after the copy is not all padding") }
    let scored = (0..<len).filter { y[$0] != ignoreLabel }
    if scored != Array(l..<(2 * l)) { bad.append("scored positions \(scored), expected \(l)..<\(2 * l) (delimiter to second-to-last copied)") }
    for j in 0..<l where y[l + j] != s[j] { bad.append("target at \(l + j) is \(y[l + j]), the original token is \(s[j])"); break }
    return bad
}

struct CopyingShape: CustomTestStringConvertible, Sendable {
    let vocab, seq: Int
    let length: Int?
    var testDescription: String { "V\(vocab)-T\(seq)-L\(length.map(String.init) ?? "max")" }
}

@Suite("Copying")
struct CopyingTests {
    @Test func showsAnExample() throws {
        let t = try CopyingTask(vocabSize: 20, sequenceLength: 10, stringLength: 4)
        var rng = Xoshiro256StarStar(seed: 0)
        let b = t.batch(size: 1, rng: &rng)
        print("Copying \(t.configDescription)\n\(b.rendered(row: 0))")
        #expect(copyingViolations(t, inputs: b.inputs, targets: b.targets) == [])
    }

    @Test(arguments: [
        CopyingShape(vocab: 20, seq: 10, length: 4),    // one pad
        CopyingShape(vocab: 4, seq: 3, length: nil),    // L = 1, the smallest task
        CopyingShape(vocab: 29, seq: 63, length: nil),  // odd T: L = 31, no pad
        CopyingShape(vocab: 29, seq: 64, length: nil),  // even T: L = 31, one pad
        CopyingShape(vocab: 100, seq: 100, length: 7),  // mostly padding
    ])
    func invariantsHold(_ s: CopyingShape) throws {
        let t = try CopyingTask(vocabSize: s.vocab, sequenceLength: s.seq, stringLength: s.length)
        #expect(t.stringLength == s.length ?? (s.seq - 1) / 2)
        var rng = Xoshiro256StarStar(seed: 8)
        let b = t.batch(size: 100, rng: &rng)
        #expect(b.scoredCount == 100 * t.stringLength)
        for r in 0..<b.batch {
            let bad = copyingViolations(t, inputs: Array(b.inputs(row: r)), targets: Array(b.targets(row: r)))
            #expect(bad.isEmpty, "row \(r): \(bad)\n\(b.rendered(row: r))")
        }
        // A target shifted by one position breaks the check (the test can fail).
        var shifted = Array(b.targets(row: 0)); shifted.insert(ignoreLabel, at: 0); shifted.removeLast()
        #expect(!copyingViolations(t, inputs: Array(b.inputs(row: 0)), targets: shifted).isEmpty)
    }

    @Test func invalidConfigurationsNameTheValue() {
        expectConfigError(["length = 32", "1...31", "seq-len = 64"]) { _ = try CopyingTask(vocabSize: 30, sequenceLength: 64, stringLength: 32) }
        expectConfigError(["length = 0"]) { _ = try CopyingTask(vocabSize: 30, sequenceLength: 64, stringLength: 0) }
        expectConfigError(["vocab = 3", "at least 4"]) { _ = try CopyingTask(vocabSize: 3, sequenceLength: 64) }
        expectConfigError(["seq-len = 2"]) { _ = try CopyingTask(vocabSize: 30, sequenceLength: 2) }
    }
}
