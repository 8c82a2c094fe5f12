// KV-cache arithmetic for published models (bf16 by default: 2 bytes per element), and
// DeepSeek-V2 Table 1's per-token formulas evaluated for given sizes.
//
// Legend: n_h query heads, n_g (= n_kv) key/value groups, d_h head width, l layers,
// d_c latent width [kv_lora_rank], d_h^R shared RoPE key width [qk_rope_head_dim], w window.

import Foundation

extension PublishedModel {
    /// Elements cached per token summed over all layers (a sliding layer counts fully:
    /// this is the growth rate while the context is shorter than every window).
    public var elementsPerToken: Int {
        layers.reduce(0) { $0 + $1.elementsPerToken }
    }

    /// Elements cached per token per layer when every layer caches the same; nil otherwise.
    public var uniformElementsPerTokenPerLayer: Int? {
        guard let first = layers.first?.elementsPerToken else { return nil }
        return layers.allSatisfy { $0.elementsPerToken == first } ? first : nil
    }

    /// Elements held for one sequence of `context` tokens: sliding layers hold min(context, w).
    public func cachedElements(context: Int) -> Int {
        layers.reduce(0) { $0 + $1.cachedElements(context: context) }
    }

    /// Bytes held for one sequence of `context` tokens.
    public func cacheBytes(context: Int, bytesPerElement: Int = 2) -> Int {
        precondition(bytesPerElement > 0, "bytes per element \(bytesPerElement) must be positive")
        return cachedElements(context: context) * bytesPerElement
    }

    /// Layers that hold at most w tokens.
    public var slidingLayerCount: Int { layers.filter { $0.window != nil }.count }
    /// Layers that hold the whole context.
    public var globalLayerCount: Int { layers.filter { $0.window == nil }.count }

    /// For MLA models: what multi-head attention with the same heads would cache per token per
    /// layer, keys n_h·d_nope plus values n_h·d_v (= 2·n_h·d_h when d_nope = d_v = d_h, as in
    /// DeepSeek-V2/V3). nil for other models.
    public var mhaEquivalentElementsPerTokenPerLayer: Int? {
        guard let mla else { return nil }
        return numHeads * mla.qkNopeHeadDim + numHeads * mla.vHeadDim
    }

    /// For MLA models: the MHA equivalent over all layers, per token.
    public var mhaEquivalentElementsPerToken: Int? {
        mhaEquivalentElementsPerTokenPerLayer.map { $0 * numLayers }
    }

    /// For MLA models: MHA-equivalent elements ÷ MLA elements (DeepSeek-V3: 32768 / 576 ≈ 56.9).
    public var mlaReduction: Double? {
        guard let mhaEq = mhaEquivalentElementsPerTokenPerLayer, let mla else { return nil }
        return Double(mhaEq) / Double(mla.kvLoraRank + mla.qkRopeHeadDim)
    }

    /// Layers grouped by what they cache, in order of first appearance.
    public var layerGroups: [KVLayerGroup] {
        var groups: [KVLayerGroup] = []
        for layer in layers {
            if let i = groups.firstIndex(where: { $0.layer == layer.shape }) {
                groups[i].indices.append(layer.index)
            } else {
                groups.append(KVLayerGroup(layer: layer.shape, indices: [layer.index]))
            }
        }
        return groups
    }

    /// "42 layers: 21 sliding (w 4096) gqa 8 kv heads × 256, 21 global gqa 8 kv heads × 256".
    public var layerSummary: String {
        let parts = layerGroups.map { g -> String in
            let place = g.layer.window.map { "sliding (w \($0))" } ?? "global"
            return "\(g.indices.count) \(place) \(g.layer.cacheDescription)"
        }
        return "\(numLayers) layers: " + parts.joined(separator: ", ")
    }
}

/// Layers that cache the same thing.
public struct KVLayerGroup: Sendable, Equatable {
    /// The common layer (index 0).
    public var layer: KVLayerSpec
    /// Which layers, from 0.
    public var indices: [Int]

    /// "0, 2, 4, …, 40" style, short.
    public var indexDescription: String {
        if indices.count <= 8 { return indices.map(String.init).joined(separator: ", ") }
        let head = indices.prefix(4).map(String.init).joined(separator: ", ")
        return "\(head), …, \(indices.last!)"
    }
}

/// DeepSeek-V2 (arXiv 2405.04434) Table 1: KV-cache elements per token, for l layers.
public enum DeepSeekV2Table1 {
    public struct Row: Sendable, Equatable {
        /// "MHA", "GQA", "MQA", "MLA".
        public var mechanism: String
        /// The table's formula, e.g. "2·n_h·d_h·l".
        public var formula: String
        /// Its value for the given sizes.
        public var elementsPerToken: Double
    }

    /// MHA 2·n_h·d_h·l.
    public static func mha(nHeads: Int, headDim: Int, layers: Int) -> Int { 2 * nHeads * headDim * layers }
    /// GQA 2·n_g·d_h·l.
    public static func gqa(groups: Int, headDim: Int, layers: Int) -> Int { 2 * groups * headDim * layers }
    /// MQA 2·d_h·l.
    public static func mqa(headDim: Int, layers: Int) -> Int { 2 * headDim * layers }
    /// MLA (d_c + d_h^R)·l.
    public static func mla(latentDim: Int, ropeDim: Int, layers: Int) -> Int { (latentDim + ropeDim) * layers }
    /// MLA with the paper's choice d_c = 4·d_h, d_h^R = d_h/2: 4.5·d_h·l.
    public static func mlaPaperChoice(headDim: Int, layers: Int) -> Double { 4.5 * Double(headDim) * Double(layers) }
    /// The number of GQA groups with the same cache as MLA at d_c = 4·d_h, d_h^R = d_h/2: 4.5 / 2 = 2.25.
    public static let mlaEquivalentGQAGroups = 2.25

    /// The four rows for n_h heads of width d_h, n_g groups, l layers; MLA with d_c = 4·d_h, d_h^R = d_h/2.
    public static func rows(nHeads: Int, headDim: Int, groups: Int, layers: Int) -> [Row] {
        precondition(nHeads > 0 && headDim > 0 && groups > 0 && layers > 0,
                     "sizes must be positive: n_h \(nHeads), d_h \(headDim), n_g \(groups), l \(layers)")
        return [
            Row(mechanism: "MHA", formula: "2·n_h·d_h·l", elementsPerToken: Double(mha(nHeads: nHeads, headDim: headDim, layers: layers))),
            Row(mechanism: "GQA", formula: "2·n_g·d_h·l", elementsPerToken: Double(gqa(groups: groups, headDim: headDim, layers: layers))),
            Row(mechanism: "MQA", formula: "2·d_h·l", elementsPerToken: Double(mqa(headDim: headDim, layers: layers))),
            Row(mechanism: "MLA", formula: "(d_c + d_h^R)·l ≈ 9/2·d_h·l", elementsPerToken: mlaPaperChoice(headDim: headDim, layers: layers)),
        ]
    }
}

/// Byte counts for people: "1.50 GiB", "512.0 MiB", "36.0 KiB", "12 B".
public func humanReadableBytes(_ bytes: Int) -> String {
    let b = Double(bytes)
    let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024)]
    for (name, size) in units where b >= size {
        let v = b / size
        return String(format: v >= 100 ? "%.1f" : "%.2f", v) + " " + name
    }
    return "\(bytes) B"
}
