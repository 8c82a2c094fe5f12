// MQA (Shazeer 2019): GQA with a single kv head. A preset, not a copy: the whole
// mechanism is this descriptor (the worked example of docs/adding-a-variant.md).

import TensorCore

public enum MultiQueryAttention: MechanismDescriptor {
    public static let summary = "multi-query attention: GQA with one kv head (Shazeer 2019)"
    public static let kvFormula = "2·d_h"
    public static let displayName = "MQA"
    public static let cacheGrowth = CacheGrowth.perToken
    public static let referenceFamily = ReferenceFamily.softmax
    public static let plotStyle: PlotStyle? = PlotStyle(color: "#009E73", pointType: 9)   // green, filled triangle

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        var c = base
        c.numKVHeads = 1
        c.slidingWindow = nil
        try c.validateSoftmax()
        return c
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        SoftmaxAttention(variant: variant, config: config, rng: &rng)
    }
}
