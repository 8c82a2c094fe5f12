// The readable reference; plain loops, no BLAS. This file promises the public types:
// the configuration every reference mechanism reads, and weights by HF name.
//
// Dimension legend (docs/conventions.md): B batch, T sequence, C d_model, H query heads,
// G kv heads, D head dim, W window, L latent d_c, R rope dim d_h^R.

/// Configuration of one attention layer, shared by all reference mechanisms.
/// Each mechanism reads only the fields it needs.
public struct ReferenceConfig: Sendable, Codable, Equatable {
    /// C = d_model.
    public var hidden: Int
    /// H, query heads.
    public var heads: Int
    /// G, kv heads (softmax family); H % G == 0.
    public var kvHeads: Int
    /// D, head dim (softmax family); linear attention's value dim d_v.
    public var headDim: Int
    /// Sliding window w (nil = full causal): token t attends to t−w+1 … t.
    public var window: Int?
    /// Attention sinks s: tokens 0 … s−1 stay visible to every later token beyond the window.
    public var sinks: Int = 0
    /// RoPE base θ.
    public var ropeBase: Double
    /// false = half-split pairs (x[i], x[i + D/2]) as HF Llama `rotate_half`; true = pairs (x[2i], x[2i+1]).
    public var ropeInterleaved: Bool
    /// d_k for linear attention (per head).
    public var linearFeatureDim: Int
    /// MLA d_c [kv_lora_rank].
    public var kvLoraRank: Int
    /// MLA d_c' [q_lora_rank]; 0 = no query compression.
    public var qLoraRank: Int
    /// MLA d_nope [qk_nope_head_dim].
    public var qkNopeHeadDim: Int
    /// MLA d_h^R [qk_rope_head_dim].
    public var qkRopeHeadDim: Int
    /// MLA d_v [v_head_dim].
    public var vHeadDim: Int
    /// RMSNorm epsilon.
    public var rmsEps: Double

    /// Fields left nil are derived: kvHeads = heads, headDim = hidden / heads,
    /// linearFeatureDim = headDim, and MLA in DeepSeek-V2's proportions:
    /// kvLoraRank = 4·headDim, qkNopeHeadDim = headDim, qkRopeHeadDim = headDim / 2,
    /// vHeadDim = headDim.
    public init(
        hidden: Int,
        heads: Int,
        kvHeads: Int? = nil,
        headDim: Int? = nil,
        window: Int? = nil,
        ropeBase: Double = 10000,
        ropeInterleaved: Bool = false,
        linearFeatureDim: Int? = nil,
        kvLoraRank: Int? = nil,
        qLoraRank: Int = 0,
        qkNopeHeadDim: Int? = nil,
        qkRopeHeadDim: Int? = nil,
        vHeadDim: Int? = nil,
        rmsEps: Double = 1e-6
    ) {
        precondition(hidden > 0 && heads > 0, "hidden \(hidden) and heads \(heads) must be positive")
        let d = headDim ?? hidden / heads
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.headDim = d
        self.window = window
        self.ropeBase = ropeBase
        self.ropeInterleaved = ropeInterleaved
        self.linearFeatureDim = linearFeatureDim ?? d
        self.kvLoraRank = kvLoraRank ?? 4 * d
        self.qLoraRank = qLoraRank
        self.qkNopeHeadDim = qkNopeHeadDim ?? d
        self.qkRopeHeadDim = qkRopeHeadDim ?? d / 2
        self.vHeadDim = vHeadDim ?? d
        self.rmsEps = rmsEps
    }
}

/// A dense row-major tensor of Doubles.
public struct ReferenceTensor: Sendable, Codable, Equatable {
    public var shape: [Int]
    public var values: [Double]

    public init(shape: [Int], values: [Double]) {
        let count = shape.reduce(1, *)
        precondition(values.count == count, "shape \(shape) holds \(count) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }
}

/// Weights by HF name ("q_proj.weight", ...), matrices stored [out, in]: y = W·x.
public typealias ReferenceWeights = [String: ReferenceTensor]

/// The reference attention mechanisms (see the files named after each family).
public enum ReferenceAttention {}
