// Copying, after Jelassi, Brandfonbrener, Kakade & Malach 2024, "Repeat After Me:
// Transformers are Better than State Space Models at Copying". Promises: a random string,
// a delimiter, the string again under teacher forcing, scored on every copied token and
// nothing else.

import TensorCore

/// Copy a random string of L tokens.
///
/// Vocabulary (V = vocab): token 0 is the delimiter (the paper's copy token), token 1
/// pads, and the string's alphabet is 2..<V (tokens uniform, with replacement).
///
/// Layout (T = seq, L = string length, s = the string):
/// - inputs: s_0 … s_{L−1}, delimiter, s_0 … s_{L−1}, then pad up to T. So 2L+1 ≤ T;
///   the default L is ⌊(T − 1)/2⌋, which leaves no pad for odd T and one for even T.
/// - targets: position L (the delimiter) has target s_0, and position L + j has target
///   s_j for j = 1 … L−1 (after reading s_{j−1} of the copy, output s_j): L scored
///   positions, from the delimiter to the second-to-last copied token. The last copied
///   token (position 2L) and the padding are not scored; there is no end-of-sequence
///   token to predict.
///
/// Deviations from the paper: no BOS/EOS tokens and one fixed L per task (the paper
/// trains on lengths drawn from a range and pads); the comparison here is at fixed T.
///
/// Example, `vocab=20 seq=10 length=4`, seed 0 (`ExampleRenderingTests` checks this text):
/// ```
/// inputs:  12 15  3  9  0 12 15  3  9  1
/// targets:  ·  ·  ·  · 12 15  3  9  ·  ·
/// ```
/// The string 12 15 3 9, the delimiter 0 at index 4 (target: the first token), the copy,
/// one pad (1). Scored: indices 4…7.
public struct CopyingTask: SyntheticTask, Equatable {
    public let vocabSize: Int
    public let sequenceLength: Int
    /// L: tokens in the string.
    public let stringLength: Int

    public static let delimiterToken = 0
    public static let padToken = 1

    public var id: TaskKind { .copying }

    /// The string's tokens: 2..<V.
    public var alphabet: Range<Int> { 2..<vocabSize }

    public var configDescription: String { "vocab=\(vocabSize) seq=\(sequenceLength) length=\(stringLength)" }

    /// `stringLength` nil means the longest string that fits: ⌊(T − 1)/2⌋.
    public init(vocabSize: Int, sequenceLength: Int, stringLength: Int? = nil) throws {
        if vocabSize < 4 {
            throw TaskConfigError(.copying, "vocab", vocabSize, "needs at least 4 tokens: delimiter 0, pad 1 and an alphabet of at least 2")
        }
        if sequenceLength < 3 {
            throw TaskConfigError(.copying, "seq-len", sequenceLength, "needs at least 3 positions (a string of 1, the delimiter, its copy)")
        }
        let l = stringLength ?? (sequenceLength - 1) / 2
        if l < 1 || 2 * l + 1 > sequenceLength {
            throw TaskConfigError(.copying, "length", l,
                                  "the string, the delimiter and the copy take 2·length+1 positions; valid for seq-len = \(sequenceLength): 1...\((sequenceLength - 1) / 2)")
        }
        self.vocabSize = vocabSize
        self.sequenceLength = sequenceLength
        self.stringLength = l
    }

    public func example(rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        let l = stringLength, t = sequenceLength
        let s = (0..<l).map { _ in alphabet.lowerBound + rng.nextInt(below: alphabet.count) }  // [L]
        var inputs = s + [CopyingTask.delimiterToken] + s                                          // [2L+1]
        inputs += [Int](repeating: CopyingTask.padToken, count: t - inputs.count)                 // [T]
        var targets = [Int](repeating: ignoreLabel, count: t)                                     // [T]
        for j in 0..<l { targets[l + j] = s[j] }
        return (inputs, targets)
    }
}
