// Selective copying, Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective
// State Spaces", §3.1 and Figure 2: data tokens scattered among noise must be recalled in
// order. Promises the generator semantics of `torch_copying_data(L, M, A, variable=True)`
// in state-spaces/s4 (src/dataloaders/datasets/copying.py), which the Mamba experiments use.

import TensorCore

/// Selective copying: M data tokens at random positions (order kept) among noise, then
/// M markers; at the j-th marker the model outputs the j-th data token.
///
/// Vocabulary (V = vocab, the paper's alphabet A): token 0 is noise, data tokens are
/// 1...V−2 (uniform, with replacement), token V−1 is the marker.
///
/// Layout (T = seq, M = data tokens, C = T − M context positions):
/// - positions 0..<C: noise, except M distinct positions, uniform over all M-subsets and
///   taken in increasing order, which hold the data tokens d_0 … d_{M−1} in order.
/// - positions C..<T: the marker, M times.
/// - targets[C + j] = d_j for j = 0 … M−1 (after reading the j-th marker, output d_j);
///   every other target is `ignoreLabel` (exactly M scored positions). The first answer
///   comes after reading the first marker, not after the last context token.
///
/// In s4's terms L = C − M noise positions; the Mamba paper's setting is V = 16, M = 16,
/// C = 4096. Deviation: our generator instead of torch's; same distributions.
///
/// Example, `vocab=10 seq=14 data-tokens=3`, seed 0 (`ExampleRenderingTests` checks this text):
/// ```
/// inputs:  0 0 0 0 5 0 0 0 6 0 1 9 9 9
/// targets: · · · · · · · · · · · 5 6 1
/// ```
/// C = 11 context positions with data 5, 6, 1 at indices 4, 8, 10; the markers (9) at
/// 11…13 are scored with 5, 6, 1.
public struct SelectiveCopyingTask: SyntheticTask, Equatable {
    public let vocabSize: Int
    public let sequenceLength: Int
    /// M: data tokens to recall.
    public let dataTokens: Int

    public static let noiseToken = 0
    /// The marker is the top token of the vocabulary.
    public var markerToken: Int { vocabSize - 1 }
    /// Data tokens: 1...V−2.
    public var dataRange: Range<Int> { 1..<(vocabSize - 1) }
    /// C = T − M: where the data tokens hide.
    public var contextLength: Int { sequenceLength - dataTokens }

    public var id: TaskKind { .selectiveCopying }

    public var configDescription: String { "vocab=\(vocabSize) seq=\(sequenceLength) data-tokens=\(dataTokens)" }

    /// The Mamba paper's setting is vocab 16, 16 data tokens, 4096 context positions (seq 4112).
    public init(vocabSize: Int = 16, sequenceLength: Int, dataTokens: Int = 16) throws {
        if vocabSize < 4 {
            throw TaskConfigError(.selectiveCopying, "vocab", vocabSize, "needs at least 4 tokens: noise 0, marker vocab−1 and at least 2 data tokens")
        }
        if dataTokens < 1 { throw TaskConfigError(.selectiveCopying, "data-tokens", dataTokens, "must be at least 1") }
        if sequenceLength < 2 * dataTokens {
            throw TaskConfigError(.selectiveCopying, "data-tokens", dataTokens,
                                  "the data tokens and their markers take 2·data-tokens = \(2 * dataTokens) > seq-len = \(sequenceLength) positions; "
                                  + (sequenceLength >= 2 ? "valid for seq-len \(sequenceLength): 1...\(sequenceLength / 2)" : "seq-len must be at least 2"))
        }
        self.vocabSize = vocabSize
        self.sequenceLength = sequenceLength
        self.dataTokens = dataTokens
    }

    public func example(rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        let m = dataTokens, c = contextLength, t = sequenceLength
        let data = (0..<m).map { _ in dataRange.lowerBound + rng.nextInt(below: dataRange.count) }  // [M]
        let positions = sampleWithoutReplacement(m, from: 0..<c, rng: &rng).sorted()               // [M]
        var inputs = [Int](repeating: SelectiveCopyingTask.noiseToken, count: t)                    // [T]
        var targets = [Int](repeating: ignoreLabel, count: t)                                       // [T]
        for j in 0..<m {
            inputs[positions[j]] = data[j]
            inputs[c + j] = markerToken
            targets[c + j] = data[j]
        }
        return (inputs, targets)
    }
}
