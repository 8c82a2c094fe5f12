// Passkey (needle) retrieval: one key hidden among filler, asked for at the end. Promises
// that the key sits exactly `distance` positions before the final query token, that the
// key is announced by a marker, and that only the final position is scored, so accuracy
// can be measured as a function of distance (a sliding window of w tokens cannot see a
// key at distance ≥ w from the query).

import TensorCore

/// Passkey retrieval at a controlled distance.
///
/// Vocabulary (V = vocab): token 0 is the marker ("the key is"), token 1 the query
/// ("what was the key?"); keys are 2..<2+K with K = (V − 2)/2; filler is 2+K..<V. Keys
/// and filler are disjoint, so the key is the only key-range token in the sequence.
///
/// Layout (T = seq, d = distance): filler everywhere, then
/// - inputs[T − 2 − d] = marker, inputs[T − 1 − d] = key k (uniform over the key range),
/// - inputs[T − 1] = query,
/// - targets[T − 1] = k; every other target is `ignoreLabel` (exactly one scored position).
///
/// Distance is defined as d = (index of the final query token) − (index of the key token),
/// so d = 1 puts the key right before the query. A model attending over a sliding window
/// of w tokens (positions t−w+1 … t, docs/conventions.md) sees the key from the query position iff
/// d ≤ w − 1. Valid distances are 1...T−2 (the marker needs index ≥ 0).
///
/// Training on one fixed distance lets a model learn "copy the token at offset −d"
/// without reading the marker; `distances` may therefore be a range, drawn uniformly per
/// example, and `batch(size:distance:rng:)` evaluates at one distance.
///
/// Example, `vocab=20 seq=12 distance=5`, seed 0 (`ExampleRenderingTests` checks this text):
/// ```
/// inputs:  16 17 11 14 17  0  2 15 18 19 12  1
/// targets:  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  2
/// ```
/// Keys are 2..<11, filler 11..<20; the marker 0 at index 5, the key 2 at index 6,
/// the query 1 at index 11 = 6 + 5, and the answer 2 scored there only.
public struct PasskeyTask: SyntheticTask, DistanceControlledTask, Equatable {
    public let vocabSize: Int
    public let sequenceLength: Int
    /// The distances examples are drawn from, uniformly; one value for a fixed distance.
    public let distances: ClosedRange<Int>

    public static let markerToken = 0
    public static let queryToken = 1

    public var id: TaskKind { .passkey }

    /// Keys: 2..<2+K with K = (V − 2)/2.
    public var keyRange: Range<Int> { 2..<(2 + (vocabSize - 2) / 2) }
    /// Filler: the rest of the vocabulary above the keys.
    public var fillerRange: Range<Int> { keyRange.upperBound..<vocabSize }

    /// The distances valid for this sequence length: 1...T−2.
    public var validDistances: ClosedRange<Int> { 1...(sequenceLength - 2) }

    public var configDescription: String {
        let d = distances.count == 1 ? "\(distances.lowerBound)" : "\(distances.lowerBound)...\(distances.upperBound)"
        return "vocab=\(vocabSize) seq=\(sequenceLength) distance=\(d)"
    }

    /// A task at one fixed distance.
    public init(vocabSize: Int, sequenceLength: Int, distance: Int) throws {
        try self.init(vocabSize: vocabSize, sequenceLength: sequenceLength, distances: distance...distance)
    }

    /// A task whose distance is drawn uniformly from `distances` for every example.
    public init(vocabSize: Int, sequenceLength: Int, distances: ClosedRange<Int>) throws {
        if vocabSize < 6 {
            throw TaskConfigError(.passkey, "vocab", vocabSize,
                                  "needs at least 6 tokens: marker 0, query 1, at least 2 keys and 2 filler tokens")
        }
        if sequenceLength < 3 {
            throw TaskConfigError(.passkey, "seq-len", sequenceLength, "needs at least 3 positions: marker, key, query")
        }
        self.vocabSize = vocabSize
        self.sequenceLength = sequenceLength
        self.distances = distances
        try checkDistance(distances.lowerBound)
        try checkDistance(distances.upperBound)
    }

    func checkDistance(_ d: Int) throws {
        if !validDistances.contains(d) {
            throw TaskConfigError(.passkey, "distance", d,
                                  "must be in \(validDistances.lowerBound)...\(validDistances.upperBound) for seq-len = \(sequenceLength) (distance = query index − key index; the marker before the key needs index ≥ 0)")
        }
    }

    public func example(rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        // A fixed distance consumes no draw for it.
        let d = distances.count == 1 ? distances.lowerBound : distances.lowerBound + rng.nextInt(below: distances.count)
        return example(distance: d, rng: &rng)
    }

    /// One example with the key exactly `distance` positions before the final query token.
    public func example(distance d: Int, rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        let t = sequenceLength
        precondition(validDistances.contains(d), "passkey distance \(d) outside \(validDistances) for seq-len \(t)")
        let fillerBase = fillerRange.lowerBound, fillerCount = fillerRange.count
        var inputs = (0..<t).map { _ in fillerBase + rng.nextInt(below: fillerCount) }  // [T]
        let key = keyRange.lowerBound + rng.nextInt(below: keyRange.count)
        let keyIndex = t - 1 - d
        inputs[keyIndex - 1] = PasskeyTask.markerToken
        inputs[keyIndex] = key
        inputs[t - 1] = PasskeyTask.queryToken
        var targets = [Int](repeating: ignoreLabel, count: t)  // [T]
        targets[t - 1] = key
        return (inputs, targets)
    }

    /// `size` examples all at exactly `distance`, for accuracy-versus-distance curves.
    /// Throws when the distance is outside 1...T−2. // [B, T]
    public func batch(size: Int, distance: Int, rng: inout Xoshiro256StarStar) throws -> TaskBatch {
        try checkDistance(distance)
        return try PasskeyTask(vocabSize: vocabSize, sequenceLength: sequenceLength, distance: distance)
            .batch(size: size, rng: &rng)
    }
}
