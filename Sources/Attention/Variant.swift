// The registry of mechanisms: an enum the compiler checks. `descriptor` is an
// exhaustive switch, so a new case without its mechanism does not compile, and every
// sweep, CLI command and conformance test that iterates `Variant.allCases` picks the
// new case up. Adding a mechanism = one file with a `MechanismDescriptor` + a case
// here and its line in `descriptor` (docs/adding-a-variant.md).

import TensorCore

public enum Variant: String, CaseIterable, Codable, Sendable {
    case mha, gqa, mqa, swa, linear, mla

    /// The mechanism behind each id.
    public var descriptor: any MechanismDescriptor.Type {
        switch self {
        case .mha: return MultiHeadAttention.self
        case .gqa: return GroupedQueryAttention.self
        case .mqa: return MultiQueryAttention.self
        case .swa: return SlidingWindowAttention.self
        case .linear: return LinearAttention.self
        case .mla: return MultiHeadLatentAttention.self
        }
    }

    public var summary: String { descriptor.summary }

    /// The name in tables, legends and prose ("MHA").
    public var displayName: String { descriptor.displayName }

    /// The knobs this mechanism takes; any other is refused, never silently ignored.
    public var knobs: [Knob] { descriptor.knobs }

    /// How its inference state grows with the context.
    public var cacheGrowth: CacheGrowth { descriptor.cacheGrowth }

    /// The plain-loop reference that computes it.
    public var referenceFamily: ReferenceFamily { descriptor.referenceFamily }

    /// The full-attention baseline every comparison is gated on: a recall cell counts as
    /// converged when this mechanism reached the target there.
    public static let baseline = Variant.mha

    /// The mechanisms whose state grows per token without bound, bounded by a window, or fixed.
    public static func with(_ growth: CacheGrowth) -> [Variant] { allCases.filter { $0.cacheGrowth == growth } }

    /// Cached elements per token per layer, as a formula.
    public var kvFormula: String { descriptor.kvFormula }

    /// The configuration this variant actually runs, validated: presets pin their knobs
    /// (MHA: G = H, no window; MQA: G = 1), the others take them from `base`.
    public func resolve(_ base: AttentionConfig) throws -> AttentionConfig { try descriptor.resolve(base) }

    /// A new layer of this mechanism with weights drawn from `rng`.
    public func make(config base: AttentionConfig, rng: inout Xoshiro256StarStar) throws -> any AttentionMechanism {
        descriptor.make(variant: self, config: try resolve(base), rng: &rng)
    }

    /// The configuration `attnlab variants` reports values for: C = 512, H = 8, D = 64,
    /// G = 2 for GQA and SWA, w = 1024, MLA with d_c = 4·D = 256 and d_h^R = D/2 = 32.
    public static let reference = AttentionConfig(hiddenSize: 512, numHeads: 8, numKVHeads: 2, headDim: 64,
                                                  slidingWindow: 1024)

    /// Unknown ids get the list of valid ones.
    public static func parse(_ id: String) throws -> Variant {
        guard let v = Variant(rawValue: id) else { throw UnknownVariant(id: id) }
        return v
    }
}

/// What the registry needs to know about a mechanism, without an instance.
public protocol MechanismDescriptor {
    /// One line for `attnlab variants`.
    static var summary: String { get }
    /// The name in tables, legends and prose ("MHA", "Linear"), short and unique.
    static var displayName: String { get }
    /// The knobs it takes (default none); `attnlab train` and spec validation refuse the others.
    static var knobs: [Knob] { get }
    /// How its inference state grows with the context; claims and figures read this.
    static var cacheGrowth: CacheGrowth { get }
    /// The plain-loop reference that computes it (the agreement tests dispatch on this).
    static var referenceFamily: ReferenceFamily { get }
    /// Its look in every figure; nil (the default) takes a free colour and marker.
    static var plotStyle: PlotStyle? { get }
    /// Inference paths timed as series of their own (default none).
    static var inferencePaths: [InferencePath] { get }
    /// Checks a training configuration beyond `resolve` (e.g. GQA refusing G = H, which is
    /// MHA); `given`: the knobs set explicitly. Default: nothing more to check.
    static func validateForTraining(_ config: AttentionConfig, given: Set<Knob>) throws
    /// Cached elements per token per layer, as a formula in DeepSeek-V2's notation.
    static var kvFormula: String { get }
    /// Pins the mechanism's fixed knobs and validates the rest, naming any bad value.
    static func resolve(_ base: AttentionConfig) throws -> AttentionConfig
    /// A layer for a resolved configuration.
    static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism
}

public struct UnknownVariant: Error, CustomStringConvertible {
    public let id: String
    public var description: String {
        "unknown attention variant '\(id)'; valid: \(Variant.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}
