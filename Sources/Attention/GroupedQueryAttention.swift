// GQA (Ainslie et al. 2023): G kv heads, each shared by a group of H/G consecutive query heads.

import TensorCore

public enum GroupedQueryAttention: MechanismDescriptor {
    public static let summary = "grouped-query attention: G kv heads shared by groups of H/G query heads (Ainslie et al. 2023)"
    public static let kvFormula = "2·n_kv·d_h"

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
