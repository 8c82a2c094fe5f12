// TOVA (Oren et al. 2024, "Transformers are Multi-State RNNs"): keep the tokens with the
// highest attention from the current query, averaged over all heads of the layer; one
// decision per layer, so every kv head keeps the same positions. Applied at the context
// boundary, the current query is the context's last token.

enum TokenOmissionViaAttention: CachePolicyDescriptor {
    static let summary = "per layer, the tokens the last query attends to most, averaged over heads (Oren et al. 2024)"
    static let displayName = "TOVA"
    static let kind = CachePolicyKind.eviction

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        for b in 0..<cache.batch {
            let stores = cache.stores[b]
            let n = stores[0].count
            precondition(stores.allSatisfy { $0.positions == stores[0].positions }, "TOVA needs the same positions in every kv head")
            // Summed over kv heads: each store's lastAttention already sums its query heads.
            let scores = (0..<n).map { j in stores.reduce(0) { $0 + $1.lastAttention[j] } }
            let kept = topIndices(Array(0..<n), by: scores, count: settings.budget(of: n))
            for g in 0..<cache.kvHeads { cache.stores[b][g].keep(kept, keyDim: cache.headDim, valueDim: cache.valueDim) }
        }
    }
}
