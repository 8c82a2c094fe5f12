// Multi-query associative recall (MQAR), Arora, Eyuboglu et al. 2023, "Zoology:
// Measuring and improving recall in efficient language models". Promises zoology's
// generator semantics (`multiquery_ar` in HazyResearch/zoology,
// zoology/data/multiquery_ar.py, and `_mqar` in zoology/data/associative_recall.py,
// with num_passes = 1 and random_non_queries = True), driven by our generator; the
// deviations are listed on `MQARTask`.

import Foundation
import TensorCore

/// MQAR: N key-value pairs, then every key queried once at a power-law distributed gap;
/// at each query the model must output the key's value.
///
/// Layout of one example (V = vocab, T = seq, N = kv-pairs, S = (T − 2N)/2 query slots):
/// - keys k_0 … k_{N−1}: distinct, uniform from 1..<V/2; values v_0 … v_{N−1}: distinct,
///   uniform from V/2..<V (V/2 rounds down). No token 0 key: zoology keeps 0 for "empty".
/// - positions 0..<2N hold the pairs: k_0 v_0 k_1 v_1 … .
/// - gaps g_0 … g_{N−1}: distinct slots in 0..<S drawn one after another with
///   p(g) ∝ α·(g+1)^(α−1) (zoology's `power_a`, default 0.01: p(g) ≈ 1/(g+1), so
///   early slots dominate; α = 1 is uniform). Key k_i is queried at position 2N + 2·g_i,
///   and the target there is v_i (after reading the query key, output its value).
///   Because the gaps are drawn in pair order, early pairs tend to be queried first,
///   exactly as in zoology.
/// - every other position (the one after each query, empty slots, and the tail when T
///   is odd) holds a token uniform from the whole vocabulary 0..<V (zoology's
///   random_non_queries replaces every 0 this way), and may therefore repeat a key or a
///   value; only query positions are scored. Exactly N positions are scored.
///
/// Example, `vocab=20 seq=16 kv-pairs=2 alpha=0.01`, seed 0 (`ExampleRenderingTests`
/// checks this text):
/// ```
/// inputs:   6 11  7 14  8 10 17 18  6  2  1  2 13  9  7  5
/// targets:  ·  ·  ·  ·  ·  ·  ·  · 11  ·  ·  ·  ·  · 14  ·
/// ```
/// Pairs (6, 11) and (7, 14) fill positions 0–3; S = 6 slots at positions 4, 6, …, 14.
/// Key 6 is queried in slot 2 (position 8, target 11), key 7 in slot 5 (position 14,
/// target 14); every other position is filler from 0..<20.
///
/// Deviations from zoology, and why:
/// - Randomness: our xoshiro256** instead of NumPy's and torch's global generators, so
///   examples are not bit-identical to zoology's; the distributions are the same.
///   Keys and values: a uniform ordered sample without replacement (partial
///   Fisher–Yates), as `np.random.choice(replace=False)`. Gaps: successive sampling
///   from the power-law weights by inverse CDF over the remaining weights, which is
///   the distribution of `np.random.choice(replace=False, p=p)` (see `Sampling.swift`).
///   The weights are computed in Double and not normalised (normalising does not
///   change successive sampling).
/// - Validation: zoology asserts T even and V > T. Neither is needed for a well-defined
///   example, so we allow odd T (the last position is then always filler) and any V
///   with at least N keys (V ≥ 2N + 2). We require what the construction needs:
///   N ≥ 1, 4N ≤ T (so S ≥ N distinct slots), V/2 − 1 ≥ N, α > 0 and finite.
/// - Train and test: zoology seeds its test set with seed + 10; we derive disjoint
///   streams with `TaskStreams` and do not run zoology's leakage check.
public struct MQARTask: SyntheticTask, ContextThenQuestions, Equatable {
    public let vocabSize: Int
    public let sequenceLength: Int
    /// N: key-value pairs per example, every one queried once.
    public let kvPairs: Int
    /// α of the gap distribution p(g) ∝ α·(g+1)^(α−1); 1 is uniform.
    public let alpha: Double
    /// Unnormalised p(g) for g in 0..<querySlots. // [S]
    let gapWeights: [Double]

    public var id: TaskKind { .mqar }

    /// S = (T − 2N)/2: the slots a query can occupy; the query of slot g sits at 2N + 2g.
    public var querySlots: Int { (sequenceLength - 2 * kvPairs) / 2 }

    /// Keys are drawn from here (1..<V/2).
    public var keyRange: Range<Int> { 1..<(vocabSize / 2) }
    /// Values are drawn from here (V/2..<V).
    public var valueRange: Range<Int> { (vocabSize / 2)..<vocabSize }

    public var configDescription: String {
        "vocab=\(vocabSize) seq=\(sequenceLength) kv-pairs=\(kvPairs) alpha=\(alpha)"
    }

    /// The context is the 2N tokens of the pairs; every query comes after them.
    public var contextLength: Int { 2 * kvPairs }

    /// Zoology's defaults are vocab 8192, seq 64, 4 pairs (Figure 2's first cell), α 0.01.
    public init(vocabSize: Int = 8192, sequenceLength: Int = 64, kvPairs: Int = 4, alpha: Double = 0.01) throws {
        if kvPairs < 1 { throw TaskConfigError(.mqar, "kv-pairs", kvPairs, "must be at least 1") }
        if sequenceLength < 4 * kvPairs {
            throw TaskConfigError(.mqar, "kv-pairs", kvPairs,
                                  "4·kv-pairs = \(4 * kvPairs) exceeds seq-len = \(sequenceLength) (the pairs and a distinct query slot per pair must fit); "
                                  + (sequenceLength >= 4 ? "valid for seq-len \(sequenceLength): 1...\(sequenceLength / 4)" : "seq-len must be at least 4"))
        }
        if vocabSize / 2 - 1 < kvPairs {
            throw TaskConfigError(.mqar, "vocab", vocabSize,
                                  "keys come from 1..<vocab/2, only \(max(0, vocabSize / 2 - 1)) tokens for kv-pairs = \(kvPairs) distinct keys; vocab must be at least \(2 * kvPairs + 2)")
        }
        if !(alpha > 0) || !alpha.isFinite {
            throw TaskConfigError(.mqar, "alpha", alpha, "the power-law exponent must be finite and > 0 (zoology's default 0.01; 1 is uniform)")
        }
        self.vocabSize = vocabSize
        self.sequenceLength = sequenceLength
        self.kvPairs = kvPairs
        self.alpha = alpha
        let slots = (sequenceLength - 2 * kvPairs) / 2
        // p(g) ∝ α·(g+1)^(α−1), zoology's `power_a * np.arange(1, space + 1) ** (power_a - 1)`.
        self.gapWeights = (0..<slots).map { alpha * Foundation.pow(Double($0 + 1), alpha - 1) }
    }

    public func example(rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int]) {
        let n = kvPairs, t = sequenceLength
        let keys = sampleWithoutReplacement(n, from: keyRange, rng: &rng)      // [N]
        let values = sampleWithoutReplacement(n, from: valueRange, rng: &rng)  // [N]
        let gaps = weightedSampleWithoutReplacement(n, weights: gapWeights, rng: &rng)  // [N], slot of key i

        let empty = -1
        var inputs = [Int](repeating: empty, count: t)           // [T]
        var targets = [Int](repeating: ignoreLabel, count: t)    // [T]
        for i in 0..<n {
            inputs[2 * i] = keys[i]
            inputs[2 * i + 1] = values[i]
            let query = 2 * n + 2 * gaps[i]
            inputs[query] = keys[i]
            targets[query] = values[i]
        }
        // Zoology's random_non_queries: every empty position gets a token from the whole vocabulary.
        for p in 0..<t where inputs[p] == empty { inputs[p] = rng.nextInt(below: vocabSize) }
        return (inputs, targets)
    }
}
