// Plain int8 quantisation per token: every key and every value vector of the context
// (one token, one kv head, D numbers) is one group with its own scale and zero point.
// For MLA the group is the cached row [c_KV | k_R], value and key at once.
// The baseline the low-bit methods are compared with.

enum Int8PerToken: CachePolicyDescriptor {
    static let summary = "every key and value vector of the context at 8 bits, a scale and zero point each"
    static let displayName = "int8"
    static let kind = CachePolicyKind.quantisation
    static let supportedBits = [8]

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        let d = cache.headDim, dv = cache.valueDim
        for b in 0..<cache.batch {
            for g in 0..<cache.kvHeads {
                let n = cache.stores[b][g].count
                for j in 0..<n {
                    quantiseGroup(&cache.stores[b][g].keys, (j * d)..<((j + 1) * d), bits: settings.bits)
                    if cache.valuesInKeys {
                        // MLA: the value is the key's latent part, quantised with it.
                        cache.stores[b][g].values.replaceSubrange((j * dv)..<((j + 1) * dv), with: cache.stores[b][g].keys[(j * d)..<(j * d + dv)])
                    } else {
                        quantiseGroup(&cache.stores[b][g].values, (j * dv)..<((j + 1) * dv), bits: settings.bits)
                    }
                }
                cache.stores[b][g].quantisedEntries = n
                cache.stores[b][g].quantisedBytes = n * (codeBytes(d, bits: settings.bits) + scaleAndZeroBytes)
                    + (cache.valuesInKeys ? 0 : n * (codeBytes(dv, bits: settings.bits) + scaleAndZeroBytes))
            }
        }
    }
}
