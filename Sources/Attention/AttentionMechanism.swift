// The one protocol every attention mechanism implements, so that the comparison is
// fair: the same training forward, the same cache protocol, the same accounting.

import NN
import TensorCore

/// A KV cache (or recurrent state) for one layer and one batch.
public protocol AttentionCache: AnyObject {
    /// Tokens consumed so far: the position of the next token.
    var length: Int { get }
    /// Bytes of cached state actually held now (Float32 elements × 4), excluding
    /// spare capacity. Equals the mechanism's analytic count at context `length`.
    var bytes: Int { get }

    /// For benchmarks: make the cache hold what it would after `n` tokens, with random
    /// contents, without computing them (a decode step's cost does not depend on the
    /// values). Replaces anything cached before.
    func synthesize(tokens n: Int, rng: inout Xoshiro256StarStar)

    /// For benchmarks: forget the tokens after the first n (n ≤ length), so that a timed
    /// decode step can be repeated at the same context. A ring buffer's overwritten
    /// entries and a recurrent state's updates are not undone: only sizes are restored.
    func rewind(to n: Int)
}

/// A cache the softmax family (MHA, GQA, MQA, sliding window) attends through: its own
/// `SoftmaxKVCache`, or one that a cache policy manages (module CachePolicies), so a
/// policy composes with any of these mechanisms without the mechanism knowing it.
public protocol SoftmaxFamilyCache: AttentionCache {
    var batch: Int { get }
    /// Attends the `newTokens` queries of one sequence (positions length ..< length + T) over
    /// what the cache holds and the new keys, stores the new keys and values, and writes
    /// the outputs. All arrays hold the whole batch: queries [B, T, H, D], keys and values
    /// [B, T, G, D], output [B, T, H·D]. The caller advances `length` once per step.
    func attend(sequence bi: Int, queries: [Float], keys: [Float], values: [Float],
                newTokens t: Int, heads: Int, output: inout [Float], scale: Float)
    /// Moves `length` on by t, after every sequence of the step has attended.
    func advance(by t: Int)
}

public protocol AttentionMechanism: Module {
    /// The stable id used in the CLI, CSV and figures.
    var variant: Variant { get }
    var config: AttentionConfig { get }

    /// Causal, differentiable attention for training. x: [B, T, C] → [B, T, C].
    func forward(_ x: Tensor) -> Tensor

    /// A cache for `batch` sequences, with room reserved for `capacity` tokens (it grows
    /// beyond that if needed; a sliding window never holds more than w + s keys, s the
    /// sinks: `AttentionMask.retainedKeys`).
    func makeCache(batch: Int, capacity: Int) -> AttentionCache

    /// Runs the tokens x: [B, T, C] at positions cache.length ..< cache.length + T,
    /// appending them to the cache, and returns their outputs [B, T, C]. T > 1 is a
    /// prefill, T = 1 a decode step; the outputs equal `forward` on the whole prefix.
    /// Records no graph.
    func step(_ x: Tensor, cache: AttentionCache) -> Tensor

    /// Cached elements per token per layer, analytic (0 for a fixed-size state).
    var kvElementsPerToken: Int { get }

    /// Cached elements per layer and sequence at context n, analytic: what the cache
    /// object must hold (bounded for a window, constant for a recurrent state).
    func cacheElements(context n: Int) -> Int

    /// Analytic FLOPs of a prefill of n tokens, per sequence: the matrix products
    /// (2 FLOPs per multiply-add), counting only the (query, key) pairs the mask lets
    /// through ("causal FLOPs"); softmax, norms, RoPE and other elementwise work excluded.
    func prefillFLOPs(tokens n: Int) -> Double

    /// Analytic FLOPs of one decode step at context n (n tokens already cached): the
    /// matrix products, exactly those the implementation issues (tested).
    func decodeFLOPs(context n: Int) -> Double
}

extension AttentionMechanism {
    /// Prefill: `step` with the whole prompt.
    public func prefill(_ x: Tensor, cache: AttentionCache) -> Tensor { step(x, cache: cache) }

    /// One decode step: x is [B, 1, C].
    public func decode(_ x: Tensor, cache: AttentionCache) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == 1, "decode takes one token per sequence, [B, 1, C]; got \(x.shape)")
        return step(x, cache: cache)
    }
}
