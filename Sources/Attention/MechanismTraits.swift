// What the rest of AttnLab needs to know about a mechanism besides its maths: its name in
// tables and legends, its knobs, how its inference state grows, which plain-loop
// reference computes it, its plot style and its inference paths. Each mechanism declares
// these in its own file (its `MechanismDescriptor`); the CLI, spec validation, training
// recipe, report, claims and figures read them from here, so none of them names an id.

/// How the state a mechanism keeps for inference grows with the context.
public enum CacheGrowth: String, Sendable, CaseIterable {
    /// One entry per token, without bound (full attention, MLA's latent cache).
    case perToken
    /// One entry per token up to a window of w tokens, then constant.
    case window
    /// A fixed-size state, whatever the context (linear attention).
    case fixed
}

/// Which plain-loop reference in AttentionReference computes a mechanism: the agreement
/// tests dispatch on this, so a preset of an existing family needs no test edit.
public enum ReferenceFamily: String, Sendable, CaseIterable {
    /// Scaled dot-product attention with RoPE over G kv heads, optionally windowed.
    case softmax
    /// Katharopoulos et al.'s linear attention with φ = elu + 1.
    case linear
    /// DeepSeek-V2's multi-head latent attention.
    case latent
}

/// A knob of the attention layer that some mechanisms take and others must refuse: the
/// command-line flag, the spec parameter and the `AttentionConfig` field in one place.
public enum Knob: String, Sendable, CaseIterable {
    case kvHeads = "kv_heads", window, latent, ropeDim = "rope_dim", featureDim = "feature_dim"

    /// The spec parameter (and CSV column) that sets it.
    public var specKey: String { rawValue }
    /// The command-line flag of `attnlab train`.
    public var flag: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
    /// The paper's symbol, for help texts and figure labels.
    public var symbol: String {
        switch self {
        case .kvHeads: return "G"
        case .window: return "w"
        case .latent: return "d_c"
        case .ropeDim: return "d_h^R"
        case .featureDim: return "d_k"
        }
    }
    /// What it sets.
    public var meaning: String {
        switch self {
        case .kvHeads: return "key/value heads"
        case .window: return "sliding window in tokens"
        case .latent: return "MLA latent width d_c (kv_lora_rank)"
        case .ropeDim: return "MLA decoupled RoPE width d_h^R"
        case .featureDim: return "linear attention feature width d_k"
        }
    }

    /// Writes the knob into a layer configuration.
    public func set(_ value: Int, in config: inout AttentionConfig) {
        switch self {
        case .kvHeads: config.numKVHeads = value
        case .window: config.slidingWindow = value
        case .latent: config.kvLoraRank = value
        case .ropeDim: config.qkRopeHeadDim = value
        case .featureDim: config.linearFeatureDim = value
        }
    }
}

/// A series' look in every figure: an Okabe-Ito colour, a gnuplot point type and dash.
public struct PlotStyle: Sendable, Equatable {
    public var color: String
    public var pointType: Int
    public var dash: Int
    public init(color: String, pointType: Int, dash: Int = 1) {
        self.color = color; self.pointType = pointType; self.dash = dash
    }
}

/// A way of running inference that a mechanism offers besides the default (MLA's naive and
/// absorbed decode); the decode and prefill experiments time each as series `<id>-<name>`.
public struct InferencePath: Sendable {
    public var name: String
    public var style: PlotStyle
    /// The path a deployment uses: the one summary tables and performance targets report.
    public var deployed: Bool
    public init(name: String, style: PlotStyle, deployed: Bool) {
        self.name = name; self.style = style; self.deployed = deployed
    }
}

extension MechanismDescriptor {
    public static var knobs: [Knob] { [] }
    public static var plotStyle: PlotStyle? { nil }
    public static var inferencePaths: [InferencePath] { [] }
    public static func validateForTraining(_ config: AttentionConfig, given: Set<Knob>) throws {}
}
