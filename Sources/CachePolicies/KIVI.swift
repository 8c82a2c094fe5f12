// KIVI (Liu et al. 2024, "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV
// Cache"): keys quantised per channel (each channel's values over a group of G
// consecutive tokens share a scale and zero point: keys have outlier channels), values
// per token (each token's vector is a group), at 2 or 4 bits; the most recent tokens stay
// at full precision, at least R and fewer than R + G of them, so that the quantised part
// is whole key groups. Per-token value groups span the whole head (KIVI groups channels
// by 32; our heads are 16 to 32 wide).

enum KIVI: CachePolicyDescriptor {
    static let summary = "keys per channel over groups of tokens, values per token, 2 or 4 bits, recent tokens exact (Liu et al. 2024)"
    static let displayName = "KIVI"
    static let kind = CachePolicyKind.quantisation
    static let supportedBits = [2, 4]
    static let latentCacheRefusal: String? =
        "kivi does not apply to MLA's latent cache: KIVI quantises keys per channel and values per token, and MLA's cached row is both"

    /// Entries quantised of n: whole groups of G, leaving at least R at full precision.
    static func quantisedCount(_ n: Int, groupSize: Int, residual: Int) -> Int {
        max(0, (n - residual) / groupSize * groupSize)
    }

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        precondition(!cache.valuesInKeys, latentCacheRefusal!)
        let d = cache.headDim, gs = settings.groupSize, bits = settings.bits
        for b in 0..<cache.batch {
            for g in 0..<cache.kvHeads {
                let nq = quantisedCount(cache.stores[b][g].count, groupSize: gs, residual: settings.residual)
                for start in stride(from: 0, to: nq, by: gs) {
                    for c in 0..<d {
                        quantiseGroup(&cache.stores[b][g].keys, stride(from: start * d + c, to: (start + gs) * d, by: d), bits: bits)
                    }
                }
                for j in 0..<nq { quantiseGroup(&cache.stores[b][g].values, (j * d)..<((j + 1) * d), bits: bits) }
                cache.stores[b][g].quantisedEntries = nq
                cache.stores[b][g].quantisedBytes = 2 * codeBytes(nq * d, bits: bits)
                    + (nq / gs) * d * scaleAndZeroBytes  // keys: per channel per group
                    + nq * scaleAndZeroBytes            // values: per token
            }
        }
    }
}
