// The tiny decoder-only language model's configuration: any registered attention
// mechanism per layer, an optional SwiGLU MLP, tied or untied LM head.

import Attention
import TensorCore

public struct ModelConfig: Codable, Sendable, Equatable {
    /// V: vocabulary.
    public var vocabSize: Int
    /// L: number of blocks.
    public var layers: Int
    /// The attention layer shape (hidden_size is the model width C).
    public var attention: AttentionConfig
    /// The mechanism of each layer, `layers` entries (e.g. Gemma-like: swa, swa, mha).
    public var layerVariants: [Variant]
    /// SwiGLU hidden width; 0 = no MLP (zoology's MQAR models).
    public var mlpHidden: Int
    /// Share the embedding matrix with the LM head.
    public var tiedEmbeddings: Bool
    /// Standard deviation of the embedding initialisation (HF's initializer_range).
    public var embeddingStd: Float
    public var normEps: Float

    /// The most blocks a model may have: far above any published model (DeepSeek-V3 has
    /// 61), and small enough that the per-layer list stays cheap to build and check.
    public static let maxLayers = 65_536

    public init(vocabSize: Int, layers: Int, attention: AttentionConfig, variant: Variant,
                mlpHidden: Int = 0, tiedEmbeddings: Bool = false, embeddingStd: Float = 0.02, normEps: Float = 1e-6) {
        self.init(vocabSize: vocabSize, attention: attention, layerVariants: Array(repeating: variant, count: max(layers, 0)),
                  mlpHidden: mlpHidden, tiedEmbeddings: tiedEmbeddings, embeddingStd: embeddingStd, normEps: normEps)
    }

    public init(vocabSize: Int, attention: AttentionConfig, layerVariants: [Variant],
                mlpHidden: Int = 0, tiedEmbeddings: Bool = false, embeddingStd: Float = 0.02, normEps: Float = 1e-6) {
        self.vocabSize = vocabSize
        self.layers = layerVariants.count
        self.attention = attention
        self.layerVariants = layerVariants
        self.mlpHidden = mlpHidden
        self.tiedEmbeddings = tiedEmbeddings
        self.embeddingStd = embeddingStd
        self.normEps = normEps
    }

    /// A per-layer pattern: `every` > 0 puts `global` at every every-th layer (1-based)
    /// and `local` elsewhere, e.g. local swa with a full layer every 3rd as in Gemma.
    public static func pattern(layers: Int, local: Variant, global: Variant, every: Int) -> [Variant] {
        (1...max(layers, 1)).prefix(layers).map { every > 0 && $0 % every == 0 ? global : local }
    }

    public func validate() throws {
        if vocabSize < 2 { throw ModelConfigError("vocab_size = \(vocabSize): must be at least 2") }
        if layers < 1 || layers > Self.maxLayers || layerVariants.count != layers {
            throw ModelConfigError("layers = \(layers): must be in 1...\(Self.maxLayers) and match the \(layerVariants.count) layer variants")
        }
        if mlpHidden < 0 { throw ModelConfigError("mlp_hidden = \(mlpHidden): must be 0 (no MLP) or positive") }
        for v in Set(layerVariants) { _ = try v.resolve(attention) }
    }
}

public struct ModelConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = "invalid model config: \(message)" }
}
