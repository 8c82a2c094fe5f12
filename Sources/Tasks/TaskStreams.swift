// Seeds for data: one run seed gives a training stream and two held-out streams, one for
// validation (early stopping, choosing the learning rate) and one for the test accuracy a
// result reports, so that no number reported was also used to choose the run. The held-out
// sets are fixed: they do not depend on how much training consumed.
// Also the exact-match accuracy every experiment reports.

import TensorCore

/// The generators of one run's data, derived from its seed with different salts.
///
/// Each stream's generator is `Xoshiro256StarStar(seed: mix(seed &+ salt))`, `mix` being
/// SplitMix64's finaliser (a bijection on 64-bit words). For one seed the two streams
/// therefore always start from different states; across seeds, the training stream of
/// seed a equals the evaluation stream of seed b only when b − a = salt_train − salt_eval,
/// a fixed random-looking 64-bit constant no sweep comes near (likewise for the test stream). Mixing (rather than
/// passing `seed ^ salt` straight on) matters because xoshiro's own seeding is SplitMix64
/// run forward from the seed: seeds that differ by a multiple of its increment would
/// share state words.
public struct TaskStreams: Sendable, Equatable {
    /// Training batches: draw from this one, in order.
    public var train: Xoshiro256StarStar
    /// Held-out validation examples, never seen in training: early stopping and lr choice.
    public var evaluation: Xoshiro256StarStar
    /// Held-out test examples, never seen in training nor used for any choice: the reported accuracy.
    public var test: Xoshiro256StarStar

    static let trainSalt: UInt64 = 0x7472_6169_6E5F_5F5F      // "train___"
    static let evaluationSalt: UInt64 = 0x6576_616C_7561_7465 // "evaluate"
    static let testSalt: UInt64 = 0x7465_7374_5F5F_5F5F       // "test____"

    public init(seed: UInt64) {
        train = Xoshiro256StarStar(seed: TaskStreams.mix(seed &+ TaskStreams.trainSalt))
        evaluation = Xoshiro256StarStar(seed: TaskStreams.mix(seed &+ TaskStreams.evaluationSalt))
        test = Xoshiro256StarStar(seed: TaskStreams.mix(seed &+ TaskStreams.testSalt))
    }

    /// SplitMix64's output function: a bijection that scatters nearby inputs.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The fixed held-out set of a run: `examples` examples from the start of the evaluation
/// stream of `seed`, as one batch (split it with `chunks(ofSize:)`). // [examples, T]
public func evaluationSet(_ task: some SyntheticTask, examples: Int, seed: UInt64) -> TaskBatch {
    var streams = TaskStreams(seed: seed)
    return task.batch(size: examples, rng: &streams.evaluation)
}

/// The fixed test set of a run: `examples` examples from the start of the test stream of
/// `seed`, disjoint in generator state from the training and validation streams. // [examples, T]
public func testSet(_ task: some SyntheticTask, examples: Int, seed: UInt64) -> TaskBatch {
    var streams = TaskStreams(seed: seed)
    return task.batch(size: examples, rng: &streams.test)
}

/// Exact-match accuracy over scored positions: `correct` counts positions where the
/// target is not `ignoreLabel` and the prediction equals it; `total` counts the scored
/// positions. Predictions at ignored positions do not matter.
public func accuracy(predictions: [Int], targets: [Int]) -> (correct: Int, total: Int) {
    precondition(predictions.count == targets.count,
                 "\(predictions.count) predictions for \(targets.count) targets")
    var correct = 0, total = 0
    for (p, t) in zip(predictions, targets) where t != ignoreLabel {
        total += 1
        if p == t { correct += 1 }
    }
    return (correct, total)
}
