// SnapKV (Li et al. 2024, "SnapKV: LLM Knows What You Are Looking for Before
// Generation"): at the end of the prompt, score each earlier token by the attention the
// prompt's last w queries (the observation window) give it, summed over those queries
// and over the query heads of its kv head; smooth the scores with an average pooling of
// width 5 over positions (kvpress's choice; over the
// prefix alone, zero padding, divided by the width); keep,
// per kv head, the top-scored tokens and the observation window itself.

enum SnapKV: CachePolicyDescriptor {
    static let summary = "per head, the tokens the prompt's last w queries attend to most, pooled, plus those w (Li et al. 2024)"
    static let displayName = "SnapKV"
    static let kind = CachePolicyKind.eviction

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        cache.keepPerHead { b, g, store in
            let n = store.count
            let scores = self.scores(cache, sequence: b, kvHead: g, window: observationWindow(settings, context: n), kernel: settings.poolingKernel)
            return topIndices(Array(0..<n), by: scores, count: settings.budget(of: n))
        }
    }

    /// The observation window: w, but at most a quarter of the context, so that most of a
    /// short context is scored rather than kept as window (MQAR's context is 8 tokens).
    static func observationWindow(_ settings: CachePolicySettings, context n: Int) -> Int {
        min(settings.observationWindow, max(1, n / 4))
    }

    /// Pooled scores of one kv head's entries; the observation window's own entries score +∞.
    static func scores(_ cache: PolicyKVCache, sequence b: Int, kvHead g: Int, window w: Int, kernel: Int) -> [Double] {
        let store = cache.stores[b][g]
        let r = cache.queryHeads / cache.kvHeads
        let first = cache.length - w  // observed queries: positions first ..< length
        var raw = [Double](repeating: 0, count: store.count)
        for h in (g * r)..<((g + 1) * r) {
            for (p, q) in cache.recentQueries[b][h] where p >= first {
                let probs = PolicyKVCache.probabilities(query: q, position: p, store: store, headDim: cache.headDim, scale: cache.scale)
                for j in raw.indices { raw[j] += probs[j] }
            }
        }
        // Pooled over the prefix alone, as kvpress does: the window's own scores count as padding.
        for j in raw.indices where store.positions[j] >= first { raw[j] = 0 }
        let half = kernel / 2
        return raw.indices.map { j in
            if store.positions[j] >= first { return .infinity }
            let lo = max(0, j - half), hi = min(raw.count - 1, j + half)
            return raw[lo...hi].reduce(0, +) / Double(kernel)
        }
    }
}
