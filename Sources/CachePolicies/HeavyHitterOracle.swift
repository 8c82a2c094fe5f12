// H2O (Zhang et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference"):
// per kv head, the tokens that have received the most attention so far (heavy hitters)
// and the most recent ones, the budget split half and half as in the paper. The score is
// the attention accumulated over every query of the context, summed over the query heads
// that share the kv head.

enum HeavyHitterOracle: CachePolicyDescriptor {
    static let summary = "per head, the most-attended tokens so far and the most recent, half and half (Zhang et al. 2023)"
    static let displayName = "H2O"
    static let kind = CachePolicyKind.eviction

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        cache.keepPerHead { _, _, store in kept(scores: store.received, budget: settings.budget(of: store.count)) }
    }

    /// The ⌊budget/2⌋ most recent entries, then the highest-scored of the rest.
    static func kept(scores: [Double], budget: Int) -> [Int] {
        let n = scores.count, recent = budget / 2
        let older = Array(0..<(n - recent))
        return (topIndices(older, by: scores, count: budget - recent) + Array((n - recent)..<n)).sorted()
    }
}

/// The `count` indices of `candidates` with the highest scores (ties: the earlier index), ascending.
func topIndices(_ candidates: [Int], by scores: [Double], count: Int) -> [Int] {
    Array(candidates.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(count)).sorted()
}
