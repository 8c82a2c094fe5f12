// Multi-key needle in a haystack (RULER's niah_multikey, Hsieh et al. 2024): K marked
// key → value needles hidden among filler, then Q queries each naming one of the keys,
// whose value is the answer (Q = 1 is RULER's task; Q > 1 asks Q distinct needles, which
// gives training Q answers per sequence instead of one). Promises that the needles are
// the only key and value tokens in the sequence, that they never overlap, that the needle
// the last query asks has its value exactly `distance` positions before the final
// position, and that only query positions are scored (only the last one in a batch drawn
// at a fixed distance). A fixed-size state (linear attention) must hold all K pairs to answer, so it
// degrades as K grows; a full KV cache need not; a sliding window fails once the asked
// value is beyond its reach.

import TensorCore

/// RULER's multi-key needle retrieval at a controlled distance.
///
/// Vocabulary (V = vocab): token 0 is the needle marker, token 1 the query marker; with
/// n = (V − 2)/3, keys are 2..<2+n, values 2+n..<2+2n and filler 2+2n..<V (at least n
/// tokens). The three ranges are disjoint, so a key or value token in a sequence is
/// always part of a needle. Needs n ≥ K (distinct keys and values) and n ≥ 2 (V ≥ 8).
///
/// Layout (T = seq, K = needles, Q = questions, C = T − 2Q context positions): filler
/// everywhere; K needles, each the three tokens [marker, key_i, value_i], at non-overlapping
/// positions in 0..<C; keys distinct, values distinct (each a uniform sample without
/// replacement from its range); then Q questions of two tokens each:
/// - inputs[C + 2q] = query marker, inputs[C + 2q + 1] = the asked key,
/// - targets[C + 2q + 1] = its value; every other target is `ignoreLabel` (Q scored positions).
/// The last question asks needle 0 (the distance-controlled one); the Q − 1 before it ask
/// Q − 1 of the other needles, chosen and ordered uniformly at random. With Q = 1 the layout
/// is RULER's: one question in the last two positions.
///
/// Distance is d = (T − 1) − (index of v_j), v_j the value the last question asks for: the
/// gap from it to the position that must output it (as in passkey, where the key is the
/// answer). That needle starts at p = T − 3 − d, so d ranges over 2Q...T−3 (p from C − 3
/// down to 0). A model attending over a sliding window of w tokens sees v_j from the last
/// position iff d ≤ w − 1.
///
/// The other K − 1 needles are placed uniformly among all non-overlapping placements in
/// the context that leave the asked needle where it is. To allow every distance for every
/// K, the context needs two spare positions beyond the 3K needle tokens (C ≥ 3K + 2, i.e.
/// T ≥ 3K + 2Q + 2): with fewer, some offsets of the asked needle leave gaps of one or two
/// positions on both sides that the others cannot use.
///
/// Training draws the asked needle's distance uniformly from `distances` (all of
/// 2...T−3 by default), so a model cannot learn one fixed offset; the asked needle is
/// then not exchangeable with the others by position when the context is crowded, but
/// every needle is marked alike and only the asked key identifies it.
/// `batch(size:distance:rng:)` evaluates at one distance.
///
/// Example, `vocab=20 seq=16 needles=2`, seed 0 (`ExampleRenderingTests` checks this text):
/// ```
/// inputs:  16 17 19 19  0  2 12 17 16  0  5 13 17 14  1  2
/// targets:  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  · 12
/// ```
/// Keys are 2..<8, values 8..<14, filler 14..<20; needles 2 → 12 at index 4 and 5 → 13 at
/// index 9; the query asks for key 2, whose value 12 (index 6, distance 15 − 6 = 9) is
/// scored at the last position only.
public struct MultiKeyNeedleTask: SyntheticTask, DistanceControlledTask, ContextThenQuestions, Equatable {
    public let vocabSize: Int
    public let sequenceLength: Int
    /// K: the number of key → value needles in every example.
    public let needles: Int
    /// Q: the needles asked for at the end, 1...K (1: RULER's single question).
    public let questions: Int
    /// The distances examples are drawn from, uniformly; one value for a fixed distance.
    public let distances: ClosedRange<Int>
    /// The fraction of examples (Q > 1) whose questions ask the needles in their context
    /// order instead of a uniformly random one: a cue for training (see `heldOut`).
    public let orderedFraction: Double

    /// The needles fill the first 3K context positions, in random order (MQAR's layout),
    /// instead of being scattered; the asked needle's distance is then wherever it lands.
    /// The training cue (`trainingCue`): full attention trained on scattered needles stays
    /// at 1/K (K = 4, T = 64: 24 % after 3000 steps), trained on packed ones it learns in
    /// about 2000 steps and answers scattered ones at 78 %; a run that starts on packed
    /// needles and goes on with scattered ones learns those.
    public let packedNeedles: Bool

    /// The fraction the training recipes use. Trained on random orders alone, full
    /// attention stays at 1/K (K = Q = 4: 25 % after 2000 steps at T = 32 and after 8000
    /// at T = 128): it finds no way to match keys. Asked in context order, it learns the
    /// order and not the keys (99 % in 300 steps, 24 % on random orders). With half the
    /// examples in order it leaves the plateau through the order and then learns the keys
    /// at T = 32 (99.2 % on random orders), not at T = 64 or 128 within 3000 to 8000 steps;
    /// there the packed layout (`packedNeedles`) is the cue that works. MQAR's generator
    /// gives this cue too: its query gaps are drawn in pair order.
    public static let trainingOrderedFraction = 0.5

    public static let markerToken = 0
    public static let queryToken = 1
    /// Tokens of one needle: marker, key, value.
    public static let needleLength = 3

    public var id: TaskKind { .multikeyNeedle }

    var rangeSize: Int { (vocabSize - 2) / 3 }
    /// Keys: 2..<2+n with n = (V − 2)/3.
    public var keyRange: Range<Int> { 2..<(2 + rangeSize) }
    /// Values: the n tokens after the keys.
    public var valueRange: Range<Int> { keyRange.upperBound..<(keyRange.upperBound + rangeSize) }
    /// Filler: the rest of the vocabulary above the values.
    public var fillerRange: Range<Int> { valueRange.upperBound..<vocabSize }
    /// C: the positions before the questions, where the needles go.
    public var contextLength: Int { sequenceLength - 2 * questions }

    /// The distances valid for this sequence length and number of questions: 2Q...T−3.
    public var validDistances: ClosedRange<Int> { (2 * questions)...(sequenceLength - 3) }

    public var configDescription: String {
        let d = distances == validDistances ? "" :
            distances.count == 1 ? " distance=\(distances.lowerBound)" : " distance=\(distances.lowerBound)...\(distances.upperBound)"
        let ordered = questions > 1 && orderedFraction > 0 ? " ordered=\(orderedFraction)" : ""
        return "vocab=\(vocabSize) seq=\(sequenceLength) needles=\(needles)" + (questions > 1 ? " questions=\(questions)" : "") + d + ordered
            + (packedNeedles ? " packed" : "")
    }

    /// Validation and test: needles scattered, questions in random order, so their accuracy
    /// is retrieval by key wherever the key is.
    public var heldOut: any SyntheticTask {
        try! MultiKeyNeedleTask(vocabSize: vocabSize, sequenceLength: sequenceLength, needles: needles, questions: questions,
                                distances: distances, orderedFraction: 0)
    }

    /// The same task with its needles packed at the start of the context.
    public var trainingCue: (any SyntheticTask)? {
        try! MultiKeyNeedleTask(vocabSize: vocabSize, sequenceLength: sequenceLength, needles: needles, questions: questions,
                                distances: distances, orderedFraction: orderedFraction, packedNeedles: true)
    }

    /// A task with the asked needle at one fixed distance.
    public init(vocabSize: Int, sequenceLength: Int, needles: Int, questions: Int = 1, distance: Int, orderedFraction: Double = 0) throws {
        try self.init(vocabSize: vocabSize, sequenceLength: sequenceLength, needles: needles, questions: questions,
                      distances: distance...distance, orderedFraction: orderedFraction)
    }

    /// A task whose distance is drawn uniformly from `distances` (nil: every valid distance).
    public init(vocabSize: Int, sequenceLength: Int, needles: Int, questions: Int = 1, distances: ClosedRange<Int>? = nil,
                orderedFraction: Double = 0, packedNeedles: Bool = false) throws {
        if !(0...1).contains(orderedFraction) {
            throw TaskConfigError(.multikeyNeedle, "ordered-fraction", orderedFraction, "must be in 0...1")
        }
        if sequenceLength < 7 {
            throw TaskConfigError(.multikeyNeedle, "seq-len", sequenceLength,
                                  "needs at least 7 positions: one needle (marker, key, value), 2 spare so it fits at every distance, query marker and key")
        }
        if vocabSize < 8 {
            throw TaskConfigError(.multikeyNeedle, "vocab", vocabSize,
                                  "needs at least 8 tokens: markers 0 and 1, then key, value and filler ranges of (vocab − 2)/3 ≥ 2 tokens each")
        }
        let bySeq = (sequenceLength - 4) / Self.needleLength, byVocab = (vocabSize - 2) / 3
        if !(1...min(bySeq, byVocab)).contains(needles) {
            throw TaskConfigError(.multikeyNeedle, "needles", needles,
                                  "must be in 1...\(min(bySeq, byVocab)) for seq-len = \(sequenceLength) and vocab = \(vocabSize) (3 tokens per needle and 2 spare in the seq-len − 2 context positions: at most (seq-len − 4)/3 = \(bySeq); distinct keys and values from (vocab − 2)/3 tokens each: at most \(byVocab))")
        }
        if !(1...needles).contains(questions) {
            throw TaskConfigError(.multikeyNeedle, "questions", questions, "must be in 1...\(needles) (needles = \(needles): each question asks a different needle)")
        }
        if sequenceLength < 3 * needles + 2 * questions + 2 {
            throw TaskConfigError(.multikeyNeedle, "questions", questions,
                                  "\(needles) needles (3 tokens each, 2 spare) and \(questions) questions (2 tokens each) need seq-len ≥ \(3 * needles + 2 * questions + 2), got \(sequenceLength); valid: 1...\(max(0, min(needles, (sequenceLength - 3 * needles - 2) / 2)))")
        }
        self.vocabSize = vocabSize
        self.sequenceLength = sequenceLength
        self.needles = needles
        self.questions = questions
        self.distances = distances ?? ((2 * questions)...(sequenceLength - 3))
        self.orderedFraction = orderedFraction
        self.packedNeedles = packedNeedles
        try checkDistance(self.distances.lowerBound)
        try checkDistance(self.distances.upperBound)
    }

    func checkDistance(_ d: Int) throws {
        if !validDistances.contains(d) {
            throw TaskConfigError(.multikeyNeedle, "distance", d,
                                  "must be in \(validDistances.lowerBound)...\(validDistances.upperBound) for seq-len = \(sequenceLength) (distance = last index − index of the asked value; the asked needle's marker needs index ≥ 0)")
        }
    }

    public func example(rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        // A fixed distance consumes no draw for it.
        let d = distances.count == 1 ? distances.lowerBound : distances.lowerBound + rng.nextInt(below: distances.count)
        return example(distance: d, rng: &rng)
    }

    /// One example with the value the last question asks for exactly `distance` positions
    /// before the last position. Draws, in order: the other needles' starts, the keys, the
    /// values, the filler, then (Q > 1) which other needles the earlier questions ask.
    public func example(distance d: Int, rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        let t = sequenceLength, k = needles, len = Self.needleLength, c = contextLength
        precondition(validDistances.contains(d), "multikey-needle distance \(d) outside \(validDistances) for seq-len \(t)")
        let asked: Int, others: [Int]  // needle starts: the asked one (needle 0), the K − 1 others
        if packedNeedles {  // slots 0, 3, 6, …, the asked needle in a random one
            let slot = rng.nextInt(below: k)
            asked = len * slot
            others = (0..<k).filter { $0 != slot }.map { len * $0 }
        } else {
            asked = t - 3 - d  // its value is at t − 1 − d
            others = otherNeedleStarts(around: asked, rng: &rng)
        }
        let keys = sampleWithoutReplacement(k, from: keyRange, rng: &rng)  // [K], keys[0] is asked
        let values = sampleWithoutReplacement(k, from: valueRange, rng: &rng)  // [K]
        let fillerBase = fillerRange.lowerBound, fillerCount = fillerRange.count
        var inputs = (0..<t).map { _ in fillerBase + rng.nextInt(below: fillerCount) }  // [T]
        for (i, start) in ([asked] + others).enumerated() {
            inputs[start] = Self.markerToken
            inputs[start + 1] = keys[i]
            inputs[start + len - 1] = values[i]
        }
        // The needles asked, in question order: Q − 1 distinct others, then needle 0.
        var asks = (questions > 1 ? sampleWithoutReplacement(questions - 1, from: 1..<k, rng: &rng) : []) + [0]  // [Q]
        if questions > 1 && orderedFraction > 0 && rng.nextDouble() < orderedFraction {
            let starts = [asked] + others
            asks.sort { starts[$0] < starts[$1] }
        }
        var targets = [Int](repeating: ignoreLabel, count: t)  // [T]
        for (q, needle) in asks.enumerated() {
            inputs[c + 2 * q] = Self.queryToken
            inputs[c + 2 * q + 1] = keys[needle]
            targets[c + 2 * q + 1] = values[needle]
        }
        return (inputs, targets)
    }

    /// `size` examples all at exactly `distance`, for accuracy-versus-distance curves: only
    /// the last question (the one at that distance) is scored. Throws when the distance is
    /// outside 2Q...T−3. // [B, T]
    public func batch(size: Int, distance: Int, rng: inout Xoshiro256StarStar) throws -> TaskBatch {
        try checkDistance(distance)
        var b = try MultiKeyNeedleTask(vocabSize: vocabSize, sequenceLength: sequenceLength, needles: needles,
                                       questions: questions, distance: distance).batch(size: size, rng: &rng)
        for row in 0..<b.batch {
            for i in (row * b.length)..<((row + 1) * b.length - 1) { b.targets[i] = ignoreLabel }
        }
        return b
    }

    /// Starts of the K − 1 other needles, sorted: uniform over the non-overlapping
    /// placements in 0..<C that avoid the asked needle at `asked`...asked+2. Placements
    /// in the context with the asked needle cut out are drawn uniformly, and those with
    /// a needle straddling the cut are redrawn (exact rejection sampling; with the two
    /// spare positions the init demands, at least one placement is valid).
    func otherNeedleStarts(around asked: Int, rng: inout Xoshiro256StarStar) -> [Int] {
        let len = Self.needleLength
        let free = contextLength - len  // context positions not under the asked needle
        while true {
            let starts = nonOverlappingStarts(needles - 1, blockLength: len, in: free, rng: &rng)
            // A block [s, s + len) straddles the cut at `asked` when s < asked < s + len.
            if starts.allSatisfy({ $0 + len <= asked || $0 >= asked }) {
                return starts.map { $0 < asked ? $0 : $0 + len }
            }
        }
    }
}

/// Starts of `count` non-overlapping blocks of `blockLength` tokens in 0..<length, sorted,
/// uniform over all such placements: a placement is a choice of `count` of the
/// length − (blockLength − 1)·count "compressed" slots (stars and bars), and the i-th
/// chosen slot c_i, sorted, starts its block at c_i + (blockLength − 1)·i.
func nonOverlappingStarts(_ count: Int, blockLength: Int, in length: Int, rng: inout Xoshiro256StarStar) -> [Int] {
    precondition(count >= 0 && blockLength >= 1 && count * blockLength <= length,
                 "cannot place \(count) blocks of \(blockLength) in \(length) positions")
    let slots = sampleWithoutReplacement(count, from: 0..<(length - (blockLength - 1) * count), rng: &rng).sorted()
    return slots.enumerated().map { i, c in c + (blockLength - 1) * i }
}
