// StreamingLLM with the paper's positions (Xiao et al. 2023, §3.2): the same entries as
// `streaming` (the first s tokens and the most recent), but positions are assigned within
// the cache rather than in the text: after eviction the kept keys sit at 0 ..< n and the
// questions continue from n, so the distances RoPE sees are the cache's, never longer
// than the cache. The paper does this so that a model can stream past its trained
// length; at the short contexts here it measures what the renumbering itself costs or
// gains against the original positions.

enum StreamingLLMRenumbered: CachePolicyDescriptor {
    static let summary = "StreamingLLM with positions assigned within the cache, as in the paper (Xiao et al. 2023)"
    static let displayName = "StreamingLLM (renumbered)"
    static let kind = CachePolicyKind.eviction

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        StreamingLLM.compress(cache, settings: settings)
        cache.renumberPositions()
    }
}
