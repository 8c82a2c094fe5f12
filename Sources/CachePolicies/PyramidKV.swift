// PyramidKV (Cai et al. 2024, "PyramidKV: Dynamic KV Cache Compression based on
// Pyramidal Information Funneling"): SnapKV's selection, with budgets that fall linearly
// with depth. Lower layers spread their attention widely and get more of the cache; upper
// layers focus on a few tokens and get less. The average budget is SnapKV's at the same
// ratio, so the whole cache holds about as many entries; the observation window is kept
// in every layer on top of its share.
//
// Budgets (entries besides the window, per kv head; a the uniform share): the last layer
// gets a/β, the first 2a − a/β, the layers between on the line. Where the first layer's
// share would exceed the entries it can select from, it keeps them all and the last
// layer's share rises to keep the average a (kvpress makes the same adjustment).

import Foundation

enum PyramidKV: CachePolicyDescriptor {
    static let summary = "SnapKV's selection with budgets falling linearly with depth, same average (Cai et al. 2024)"
    static let displayName = "PyramidKV"
    static let kind = CachePolicyKind.eviction

    /// Without a layer position: one layer, the uniform budget (SnapKV's).
    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {
        compress(cache, settings: settings, layer: 0, of: 1)
    }

    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings, layer: Int, of layers: Int) {
        cache.keepPerHead { b, g, store in
            let n = store.count, budget = settings.budget(of: n)
            let w = SnapKV.observationWindow(settings, context: n)
            let scores = SnapKV.scores(cache, sequence: b, kvHead: g, window: w, kernel: settings.poolingKernel)
            // A budget within the window leaves nothing to distribute: SnapKV's choice.
            let count = budget <= w ? budget
                : w + layerShare(layer: layer, of: layers, share: Double(budget - w), selectable: n - w, beta: settings.pyramidBeta)
            return topIndices(Array(0..<n), by: scores, count: count)
        }
    }

    /// Entries besides the window that layer `layer` of `layers` keeps, for an average
    /// `share` and `selectable` entries to choose from (rounded to the nearest entry).
    static func layerShare(layer: Int, of layers: Int, share a: Double, selectable: Int, beta: Double) -> Int {
        precondition(layers >= 1 && (0..<layers).contains(layer) && beta >= 1, "layer \(layer) of \(layers), beta \(beta)")
        guard a > 0, layers > 1 else { return max(0, min(selectable, Int(a.rounded()))) }
        var low = a / beta, high = 2 * a - low
        if high > Double(selectable) { high = Double(selectable); low = 2 * a - high }
        let share = high - Double(layer) * (high - low) / Double(layers - 1)
        return max(0, min(selectable, Int(share.rounded())))
    }
}
