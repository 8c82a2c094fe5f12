// MHA (Vaswani et al. 2017) with RoPE: the softmax core with one kv head per query head.

import TensorCore

public enum MultiHeadAttention: MechanismDescriptor {
    public static let summary = "multi-head attention with RoPE (Vaswani et al. 2017)"
    public static let kvFormula = "2·n_h·d_h"
    public static let displayName = "MHA"
    public static let cacheGrowth = CacheGrowth.perToken
    public static let referenceFamily = ReferenceFamily.softmax
    public static let plotStyle: PlotStyle? = PlotStyle(color: "#0072B2", pointType: 7)   // blue, filled circle

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        var c = base
        c.numKVHeads = c.numHeads
        c.slidingWindow = nil
        try c.validateSoftmax()
        return c
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        SoftmaxAttention(variant: variant, config: config, rng: &rng)
    }
}
