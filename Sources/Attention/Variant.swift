// The registry of mechanisms. An enum the compiler checks: every `switch` over it is
// exhaustive, so a new case cannot be forgotten by the CLI, the conformance suite or
// any sweep that iterates `Variant.allCases`. Adding a mechanism = one file + one case.

import TensorCore

public enum Variant: String, CaseIterable, Codable, Sendable {
    case mha, gqa, mqa, swa, linear, mla

    public var summary: String {
        switch self {
        case .mha: return "multi-head attention with RoPE (Vaswani et al. 2017)"
        case .gqa: return "grouped-query attention: G kv heads shared by groups of H/G query heads (Ainslie et al. 2023)"
        case .mqa: return "multi-query attention: GQA with one kv head (Shazeer 2019)"
        case .swa: return "sliding-window attention: token t sees t-w+1 ... t; ring-buffer cache of w entries"
        case .linear: return "linear attention, phi(x) = elu(x)+1, recurrent state (Katharopoulos et al. 2020)"
        case .mla: return "multi-head latent attention: cache c_KV and a shared RoPE key (DeepSeek-V2 §2.1)"
        }
    }

    /// Cached elements per token per layer, as a formula.
    public var kvFormula: String {
        switch self {
        case .mha: return "2·n_h·d_h"
        case .gqa: return "2·n_kv·d_h"
        case .mqa: return "2·d_h"
        case .swa: return "2·n_kv·d_h, at most w tokens"
        case .linear: return "0 per token; fixed state n_h·(d_k·d_v + d_k)"
        case .mla: return "d_c + d_h^R"
        }
    }

    /// The configuration this variant actually runs: the presets pin their knobs
    /// (MHA: G = H, no window; MQA: G = 1), the others take them from `base`.
    public func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        var c = base
        switch self {
        case .mha:
            c.numKVHeads = c.numHeads
            c.slidingWindow = nil
            try c.validateSoftmax()
        case .gqa:
            c.slidingWindow = nil
            try c.validateSoftmax()
        case .mqa:
            c.numKVHeads = 1
            c.slidingWindow = nil
            try c.validateSoftmax()
        case .swa:
            guard c.slidingWindow != nil else {
                throw AttentionConfigError(field: "sliding_window", value: "absent", reason: "swa needs a window of at least 1 token")
            }
            try c.validateSoftmax()
        case .linear:
            try c.validateLinear()
        case .mla:
            try c.validateMLA()
        }
        return c
    }

    /// A new layer of this mechanism with weights drawn from `rng`.
    public func make(config base: AttentionConfig, rng: inout Xoshiro256StarStar) throws -> any AttentionMechanism {
        let c = try resolve(base)
        switch self {
        case .mha, .gqa, .mqa, .swa: return SoftmaxAttention(variant: self, config: c, rng: &rng)
        case .linear: return LinearAttention(config: c, rng: &rng)
        case .mla: return MultiHeadLatentAttention(config: c, rng: &rng)
        }
    }

    /// The configuration `attnlab variants` reports values for: C = 512, H = 8, D = 64,
    /// G = 2 for GQA, w = 1024, MLA with d_c = 4·D = 256 and d_h^R = D/2 = 32.
    public static let reference = AttentionConfig(hiddenSize: 512, numHeads: 8, numKVHeads: 2, headDim: 64,
                                                  slidingWindow: 1024)

    /// Unknown ids get the list of valid ones.
    public static func parse(_ id: String) throws -> Variant {
        guard let v = Variant(rawValue: id) else { throw UnknownVariant(id: id) }
        return v
    }
}

public struct UnknownVariant: Error, CustomStringConvertible {
    public let id: String
    public var description: String {
        "unknown attention variant '\(id)'; valid: \(Variant.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}
