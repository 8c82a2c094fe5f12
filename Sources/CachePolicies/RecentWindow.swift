// The most recent tokens alone: StreamingLLM without its sinks, the "window attention"
// baseline of Xiao et al. 2023, which fails on long text once the first tokens are
// evicted. Beside `streaming` it measures what the sinks are worth in a trained model.

enum RecentWindow: CachePolicyDescriptor {
    static let summary = "the most recent tokens only (StreamingLLM's baseline without sinks)"
    static let displayName = "Recent window"
    static let kind = CachePolicyKind.eviction

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        cache.keepPerHead { _, _, store in StreamingLLM.kept(count: store.count, budget: settings.budget(of: store.count), sinks: 0) }
    }
}
