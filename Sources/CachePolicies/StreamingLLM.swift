// StreamingLLM (Xiao et al. 2023, "Efficient Streaming Language Models with Attention
// Sinks"): keep the first s tokens, which soak up attention whatever their content (the
// sinks, s = 4 in the paper), and the most recent ones; drop the middle. Here keys keep
// their original positions (RoPE applied when they were stored), the common shortcut;
// `streaming-renumbered` (StreamingLLMRenumbered.swift) gives them their places in the
// cache, as the paper does.

enum StreamingLLM: CachePolicyDescriptor {
    static let summary = "first s tokens (attention sinks) and the most recent ones (Xiao et al. 2023)"
    static let displayName = "StreamingLLM"
    static let kind = CachePolicyKind.eviction

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        cache.keepPerHead { _, _, store in kept(count: store.count, budget: settings.budget(of: store.count), sinks: settings.sinks) }
    }

    /// Entries in position order: the first min(s, budget), then the most recent.
    static func kept(count n: Int, budget: Int, sinks s: Int) -> [Int] {
        let sinks = min(s, budget)
        return Array(0..<sinks) + Array((n - (budget - sinks))..<n).filter { $0 >= sinks }
    }
}
