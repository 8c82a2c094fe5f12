// The configuration of one attention layer, shared by every mechanism. JSON keys are
// HF transformers' config names, so a model's config.json section reads directly.

import TensorCore

public struct AttentionConfig: Codable, Sendable, Equatable {
    /// C: model width.
    public var hiddenSize: Int
    /// H: query heads.
    public var numHeads: Int
    /// G: key/value heads of the softmax family (H for MHA, 1 for MQA).
    public var numKVHeads: Int
    /// D: head dimension of queries, keys and values (softmax family); value width of linear attention.
    public var headDim: Int
    /// w: sliding window in tokens (token t sees t−w+1 … t); nil = unbounded.
    public var slidingWindow: Int?
    /// s: attention sinks, the first s tokens visible to every query beyond the window
    /// (StreamingLLM), in every path (training op, prefill, cache, decode); needs a sliding
    /// window (`validateSoftmax`).
    public var attentionSinks: Int = 0
    /// Which keys each query sees, as every attention path applies it.
    public var attentionMask: AttentionMask { AttentionMask(window: slidingWindow, sinks: attentionSinks) }
    /// RoPE base θ.
    public var ropeTheta: Double
    /// RoPE pairing: half-split (Llama's rotate_half, the default) or interleaved.
    public var ropePairing: RoPEPairing
    /// d_k: feature width per head of linear attention's φ(q), φ(k).
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
    /// ε of the RMSNorms inside MLA.
    public var rmsNormEps: Float

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHeads = "num_attention_heads", numKVHeads = "num_key_value_heads"
        case headDim = "head_dim", slidingWindow = "sliding_window", attentionSinks = "attention_sinks", ropeTheta = "rope_theta"
        case ropePairing = "rope_pairing", linearFeatureDim = "linear_feature_dim"
        case kvLoraRank = "kv_lora_rank", qLoraRank = "q_lora_rank", qkNopeHeadDim = "qk_nope_head_dim"
        case qkRopeHeadDim = "qk_rope_head_dim", vHeadDim = "v_head_dim", rmsNormEps = "rms_norm_eps"
    }

    /// Defaults follow the usual tiny-model shape: D = C / H, MLA with d_c = 4·D and
    /// d_h^R = D/2 (DeepSeek-V2's Table 1 ratios), d_nope = d_v = D.
    public init(
        hiddenSize: Int, numHeads: Int, numKVHeads: Int? = nil, headDim: Int? = nil,
        slidingWindow: Int? = nil, ropeTheta: Double = 10000, ropePairing: RoPEPairing = .halfSplit,
        linearFeatureDim: Int? = nil, kvLoraRank: Int? = nil, qLoraRank: Int = 0,
        qkNopeHeadDim: Int? = nil, qkRopeHeadDim: Int? = nil, vHeadDim: Int? = nil, rmsNormEps: Float = 1e-6
    ) {
        let d = headDim ?? (numHeads > 0 ? hiddenSize / numHeads : 0)
        self.hiddenSize = hiddenSize
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads ?? numHeads
        self.headDim = d
        self.slidingWindow = slidingWindow
        self.ropeTheta = ropeTheta
        self.ropePairing = ropePairing
        self.linearFeatureDim = linearFeatureDim ?? d
        self.kvLoraRank = kvLoraRank ?? 4 * d
        self.qLoraRank = qLoraRank
        self.qkNopeHeadDim = qkNopeHeadDim ?? d
        self.qkRopeHeadDim = qkRopeHeadDim ?? d / 2
        self.vHeadDim = vHeadDim ?? d
        self.rmsNormEps = rmsNormEps
    }

    /// The largest magnitude a decoded width, head count, window or sink count may have:
    /// 2^24, far beyond any real layer, so that the defaults derived from them (d_c = 4·D)
    /// and the products of two of them (H·D, G·D) stay far inside Int.
    public static let maxDecodedMagnitude = 1 << 24

    /// Missing keys take the defaults above, so a minimal JSON needs only
    /// hidden_size and num_attention_heads. Integers beyond ±2^24 are refused here; the
    /// mechanisms' validation then checks signs, divisibility and evenness.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func inRange(_ key: CodingKeys, _ n: Int) throws -> Int {
            let limit = AttentionConfig.maxDecodedMagnitude
            guard n >= -limit, n <= limit else {
                throw AttentionConfigError(field: key.rawValue, value: "\(n)",
                                           reason: "out of range: widths, head counts, windows and sink counts must lie within ±\(limit) (2^24)")
            }
            return n
        }
        func int(_ key: CodingKeys) throws -> Int? {
            try c.decodeIfPresent(Int.self, forKey: key).map { try inRange(key, $0) }
        }
        let hidden = try inRange(.hiddenSize, c.decode(Int.self, forKey: .hiddenSize))
        let heads = try inRange(.numHeads, c.decode(Int.self, forKey: .numHeads))
        let headDim = try int(.headDim)
        if headDim == nil, heads > 0, hidden % heads != 0 {
            throw AttentionConfigError(field: "head_dim", value: "absent",
                                       reason: "hidden_size \(hidden) is not divisible by num_attention_heads \(heads); give head_dim explicitly")
        }
        self.init(
            hiddenSize: hidden,
            numHeads: heads,
            numKVHeads: try int(.numKVHeads),
            headDim: headDim,
            slidingWindow: try int(.slidingWindow),
            ropeTheta: try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000,
            ropePairing: try c.decodeIfPresent(RoPEPairing.self, forKey: .ropePairing) ?? .halfSplit,
            linearFeatureDim: try int(.linearFeatureDim),
            kvLoraRank: try int(.kvLoraRank),
            qLoraRank: try int(.qLoraRank) ?? 0,
            qkNopeHeadDim: try int(.qkNopeHeadDim),
            qkRopeHeadDim: try int(.qkRopeHeadDim),
            vHeadDim: try int(.vHeadDim),
            rmsNormEps: try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        )
        attentionSinks = try int(.attentionSinks) ?? 0
    }
}

/// An impossible configuration, named with its value and what would be valid.
public struct AttentionConfigError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let value: String
    public let reason: String
    public var description: String { "invalid attention config: \(field) = \(value): \(reason)" }
}

extension AttentionConfig {
    func fail(_ field: String, _ value: Any, _ reason: String) -> AttentionConfigError {
        AttentionConfigError(field: field, value: "\(value)", reason: reason)
    }

    /// Checks what every mechanism needs: positive widths and heads.
    func validateCommon() throws {
        if hiddenSize < 1 { throw fail("hidden_size", hiddenSize, "must be at least 1") }
        if numHeads < 1 { throw fail("num_attention_heads", numHeads, "must be at least 1") }
        if !(ropeTheta > 0) || !ropeTheta.isFinite { throw fail("rope_theta", ropeTheta, "must be a positive number") }
        if !(rmsNormEps >= 0) || !rmsNormEps.isFinite { throw fail("rms_norm_eps", rmsNormEps, "must be a finite number ≥ 0") }
    }

    /// The softmax family: G divides H, D even (RoPE pairs), window ≥ 1, sinks only with a window.
    func validateSoftmax() throws {
        try validateCommon()
        if headDim < 2 || headDim % 2 != 0 { throw fail("head_dim", headDim, "must be even and at least 2 (RoPE rotates pairs)") }
        if numKVHeads < 1 || numHeads % numKVHeads != 0 {
            let divisors = AttentionConfig.divisors(of: numHeads).map(String.init).joined(separator: ", ")
            throw fail("num_key_value_heads", numKVHeads, "must divide num_attention_heads = \(numHeads); valid: \(divisors)")
        }
        if let w = slidingWindow, w < 1 { throw fail("sliding_window", w, "must be at least 1 token") }
        if attentionSinks < 0 { throw fail("attention_sinks", attentionSinks, "must be at least 0") }
        if attentionSinks > 0 && slidingWindow == nil {
            throw fail("attention_sinks", attentionSinks,
                       "sinks are kept beyond a sliding window, and there is none (sliding_window null); valid: 0")
        }
    }

    /// The divisors of n ≥ 1 in increasing order, by trial division up to √n (up to n took
    /// seconds for the head counts a config may give).
    static func divisors(of n: Int) -> [Int] {
        var small: [Int] = [], large: [Int] = []
        var i = 1
        while i <= n / i {
            if n % i == 0 {
                small.append(i)
                if i != n / i { large.append(n / i) }
            }
            i += 1
        }
        return small + large.reversed()
    }

    func validateLinear() throws {
        try validateCommon()
        if headDim < 1 { throw fail("head_dim", headDim, "must be at least 1") }
        if linearFeatureDim < 1 { throw fail("linear_feature_dim", linearFeatureDim, "must be at least 1") }
    }

    func validateMLA() throws {
        try validateCommon()
        if kvLoraRank < 1 { throw fail("kv_lora_rank", kvLoraRank, "latent width d_c must be at least 1") }
        if qLoraRank < 0 { throw fail("q_lora_rank", qLoraRank, "must be 0 (no query compression) or positive") }
        if qkNopeHeadDim < 1 { throw fail("qk_nope_head_dim", qkNopeHeadDim, "must be at least 1") }
        if qkRopeHeadDim < 2 || qkRopeHeadDim % 2 != 0 {
            throw fail("qk_rope_head_dim", qkRopeHeadDim, "must be even and at least 2 (RoPE rotates pairs)")
        }
        if vHeadDim < 1 { throw fail("v_head_dim", vHeadDim, "must be at least 1") }
    }
}
