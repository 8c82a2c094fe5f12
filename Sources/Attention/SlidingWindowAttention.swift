// Sliding-window attention (as in Mistral 7B, Gemma's local layers): token t sees the w
// tokens t−w+1 … t; the cache is a ring buffer of exactly w entries (SoftmaxKVCache).

import TensorCore

public enum SlidingWindowAttention: MechanismDescriptor {
    public static let summary = "sliding-window attention: token t sees t-w+1 ... t; ring-buffer cache of w entries"
    public static let kvFormula = "2·n_kv·d_h, at most w tokens"
    public static let displayName = "SWA"
    public static let knobs: [Knob] = [.kvHeads, .window]
    public static let cacheGrowth = CacheGrowth.window
    public static let referenceFamily = ReferenceFamily.softmax
    public static let plotStyle: PlotStyle? = PlotStyle(color: "#CC79A7", pointType: 11)  // pink, filled inverted triangle

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        guard base.slidingWindow != nil else {
            throw AttentionConfigError(field: "sliding_window", value: "absent", reason: "swa needs a window of at least 1 token")
        }
        try base.validateSoftmax()
        return base
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        SoftmaxAttention(variant: variant, config: config, rng: &rng)
    }
}
