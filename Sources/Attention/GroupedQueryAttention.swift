// GQA (Ainslie et al. 2023): G kv heads, each shared by a group of H/G consecutive query heads.

import TensorCore

public enum GroupedQueryAttention: MechanismDescriptor {
    public static let summary = "grouped-query attention: G kv heads shared by groups of H/G query heads (Ainslie et al. 2023)"
    public static let kvFormula = "2·n_kv·d_h"
    public static let displayName = "GQA"
    public static let knobs: [Knob] = [.kvHeads]
    public static let cacheGrowth = CacheGrowth.perToken
    public static let referenceFamily = ReferenceFamily.softmax
    public static let plotStyle: PlotStyle? = PlotStyle(color: "#E69F00", pointType: 5)   // orange, filled square

    /// A sweep must say how many kv heads it means: G = H would be MHA under GQA's name.
    public static func validateForTraining(_ config: AttentionConfig, given: Set<Knob>) throws {
        if !given.contains(.kvHeads) || config.numKVHeads == config.numHeads {
            throw AttentionConfigError(field: "num_key_value_heads", value: given.contains(.kvHeads) ? "\(config.numKVHeads)" : "absent",
                                       reason: "gqa needs --kv-heads G dividing --heads \(config.numHeads) and smaller than it (G = H is mha)")
        }
    }

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        var c = base
        c.slidingWindow = nil
        try c.validateSoftmax()
        return c
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        SoftmaxAttention(variant: variant, config: config, rng: &rng)
    }
}
