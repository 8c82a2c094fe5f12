// The KV-cache calculator against hand counts for the published configs in configs/models,
// DeepSeek-V2 Table 1's formulas, and every kind of malformed config a user can write.

import Foundation
import Testing
@testable import Harness

/// The repository root, three levels above this file (Tests/HarnessTests/<file>).
private let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let modelsDir = repoRoot.appendingPathComponent("configs/models")

private func model(_ name: String) throws -> PublishedModel {
    try PublishedModel.load(path: modelsDir.appendingPathComponent("\(name).json").path)
}

private let modelFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: modelsDir.path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted()
}()

@Suite("Published model configs")
struct PublishedModelConfigTests {
    @Test func theNineModelsArePresent() {
        let expected = ["deepseek-v2.json", "deepseek-v3.json", "gemma-2-9b.json", "gemma-3-12b.json", "llama-2-7b.json",
                        "llama-3-70b.json", "llama-3-8b.json", "mistral-7b.json", "qwen2.5-7b.json"]
        #expect(modelFiles == expected)
    }

    @Test(arguments: modelFiles)
    func everyConfigParses(file: String) throws {
        let m = try PublishedModel.load(path: modelsDir.appendingPathComponent(file).path)
        #expect(m.layers.count == m.numLayers)
        #expect(m.layers.map(\.index) == Array(0..<m.numLayers))
        #expect(m.source?.hasPrefix("https://") == true, "\(file) has no _source URL")
        #expect(m.modelType != nil && !m.architectures.isEmpty)
        #expect(m.fieldsUsed.contains { $0.name == "num_hidden_layers" && $0.value == "\(m.numLayers)" })
        #expect(m.elementsPerToken > 0)
    }

    @Test func llama2_7B() throws {
        let m = try model("llama-2-7b")
        // MHA, 32 heads of 4096 / 32 = 128 (head_dim absent: the default), 32 layers:
        // 2·32·128 = 8192 elements per token per layer; ·32 layers = 262144 per token;
        // at 2 bytes = 524288 bytes per token; at 4096 tokens 2147483648 bytes = 2 GiB.
        #expect(m.layers.allSatisfy { $0.kind == .mha && $0.kvHeads == 32 && $0.headDim == 128 && $0.window == nil })
        #expect(m.uniformElementsPerTokenPerLayer == 8192)
        #expect(m.elementsPerToken == 262_144)
        #expect(m.cacheBytes(context: 1) == 524_288)
        #expect(m.cacheBytes(context: 4096) == 2_147_483_648)
        #expect(m.cacheBytes(context: 4096, bytesPerElement: 4) == 4_294_967_296)
        #expect(m.defaultsApplied == [AppliedDefault(field: "head_dim", value: "128",
                                                     rule: "absent → hidden_size / num_attention_heads = 4096 / 32")])
        #expect(humanReadableBytes(m.cacheBytes(context: 4096)) == "2.00 GiB")
    }

    @Test func llama3_8B_and_70B() throws {
        // GQA 8 kv heads × 128: 2·8·128 = 2048 per layer; 8B: ·32 = 65536; 70B: ·80 = 163840 per token.
        let small = try model("llama-3-8b")
        #expect(small.layers.allSatisfy { $0.kind == .gqa && $0.kvHeads == 8 && $0.headDim == 128 })
        #expect(small.elementsPerToken == 65_536)
        #expect(small.defaultsApplied.isEmpty)  // head_dim given
        let large = try model("llama-3-70b")
        #expect(large.elementsPerToken == 163_840)
        #expect(large.cacheBytes(context: 131_072) == 163_840 * 131_072 * 2)  // 40 GiB
        #expect(humanReadableBytes(large.cacheBytes(context: 131_072)) == "40.00 GiB")
    }

    @Test func mistralIsCappedByItsWindow() throws {
        let m = try model("mistral-7b")
        // Every layer slides with w 4096; 2·8·128 = 2048 per layer, ·32 = 65536 per token.
        #expect(m.slidingLayerCount == 32 && m.globalLayerCount == 0)
        #expect(m.layers.allSatisfy { $0.window == 4096 && $0.kind == .gqa })
        #expect(m.elementsPerToken == 65_536)
        // 4k: 65536·4096 = 268435456 elements = 536870912 bytes (512 MiB); 32k holds the same,
        // where a global cache would hold 8× as much (2147483648 elements).
        #expect(m.cachedElements(context: 4096) == 268_435_456)
        #expect(m.cachedElements(context: 32_768) == 268_435_456)
        #expect(m.cacheBytes(context: 32_768) == 536_870_912)
        #expect(m.cachedElements(context: 1000) == 65_536_000)
    }

    @Test func qwen25IsFullAttentionDespiteItsSlidingWindowField() throws {
        let m = try model("qwen2.5-7b")
        // use_sliding_window false: 28 global layers of 2·4·128 = 1024; 28672 per token.
        #expect(m.globalLayerCount == 28)
        #expect(m.elementsPerToken == 28_672)
        #expect(m.cachedElements(context: 131_072) == 28_672 * 131_072)
        #expect(m.fieldsUsed.contains(ConfigField(name: "use_sliding_window", value: "false")))

        // With the sliding_window value of the official Qwen2 configs present, still full attention.
        let withWindow = try parse("""
            {"model_type": "qwen2", "hidden_size": 3584, "num_hidden_layers": 28, "num_attention_heads": 28,
             "num_key_value_heads": 4, "sliding_window": 131072, "max_window_layers": 28, "use_sliding_window": false}
            """)
        #expect(withWindow.globalLayerCount == 28)
        #expect(withWindow.cachedElements(context: 200_000) == 28_672 * 200_000)
        #expect(withWindow.notes.contains { $0.contains("use_sliding_window false") })

        // use_sliding_window true: layers at index ≥ max_window_layers slide (HF Qwen2).
        let on = try parse("""
            {"hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "sliding_window": 16,
             "max_window_layers": 2, "use_sliding_window": true}
            """)
        #expect(on.layers.map(\.window) == [nil, nil, 16, 16])
    }

    @Test func gemma2AlternatesSlidingAndGlobal() throws {
        let m = try model("gemma-2-9b")
        // 42 layers, even indices sliding (w 4096), odd global; 2·8·256 = 4096 per layer.
        #expect(m.slidingLayerCount == 21 && m.globalLayerCount == 21)
        #expect(m.layers[0].window == 4096 && m.layers[1].window == nil && m.layers[41].window == nil)
        #expect(m.uniformElementsPerTokenPerLayer == 4096)
        // At 8192: 21·4096·4096 + 21·4096·8192 = 21·4096·12288 = 1056964608 elements.
        #expect(m.cachedElements(context: 8192) == 1_056_964_608)
        #expect(m.layerSummary == "42 layers: 21 sliding (w 4096) gqa 8 kv heads × 256, 21 global gqa 8 kv heads × 256")
    }

    @Test func gemma3HasFiveLocalLayersPerGlobalOne() throws {
        let m = try model("gemma-3-12b")
        // 48 layers; global where (i + 1) % 6 == 0: 5, 11, …, 47 (8 layers); 40 sliding with w 1024.
        #expect(m.globalLayerCount == 8 && m.slidingLayerCount == 40)
        #expect(m.layers.filter { $0.window == nil }.map(\.index) == [5, 11, 17, 23, 29, 35, 41, 47])
        #expect(m.layers.allSatisfy { $0.window == nil || $0.window == 1024 })
        // At 32768: 40·4096·1024 + 8·4096·32768 = 167772160 + 1073741824 = 1241513984 elements.
        #expect(m.cachedElements(context: 32_768) == 1_241_513_984)

        // The same pattern written as layer_types gives the same layers.
        let types = (0..<12).map { ($0 + 1) % 6 == 0 ? "\"full_attention\"" : "\"sliding_attention\"" }
        let listed = try parse("""
            {"hidden_size": 64, "num_hidden_layers": 12, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 16, "sliding_window": 1024, "layer_types": [\(types.joined(separator: ", "))]}
            """)
        #expect(listed.layers.map(\.window) == (0..<12).map { ($0 + 1) % 6 == 0 ? nil : 1024 })
    }

    @Test func deepSeekV3MLAAgainstMHA() throws {
        let m = try model("deepseek-v3")
        // MLA caches d_c + d_h^R = 512 + 64 = 576 per token per layer; ·61 = 35136 per token.
        // MHA with 128 heads of 128: 2·128·128 = 32768; 32768 / 576 = 56.89 → 56.9×.
        #expect(m.layers.allSatisfy { $0.kind == .mla && $0.elementsPerToken == 576 })
        #expect(m.mla == MLADimensions(kvLoraRank: 512, qkRopeHeadDim: 64, qkNopeHeadDim: 128, vHeadDim: 128, qLoraRank: 1536))
        #expect(m.numLayers == 61 && m.numHeads == 128 && m.hiddenSize == 7168)
        #expect(m.elementsPerToken == 35_136)
        #expect(m.mhaEquivalentElementsPerTokenPerLayer == 32_768)
        #expect(m.mhaEquivalentElementsPerToken == 32_768 * 61)
        let ratio = try #require(m.mlaReduction)
        #expect(abs(ratio - 56.9) < 0.05)
        #expect((ratio * 10).rounded() / 10 == 56.9)
    }

    @Test func deepSeekV2MatchesTable1sMLAChoice() throws {
        let m = try model("deepseek-v2")
        // d_h = 128, d_c = 512 = 4·d_h, d_h^R = 64 = d_h/2, l = 60: (512 + 64)·60 = 34560 = 4.5·128·60.
        #expect(m.elementsPerToken == 34_560)
        #expect(Double(m.elementsPerToken) == DeepSeekV2Table1.mlaPaperChoice(headDim: 128, layers: 60))
        #expect(m.mhaEquivalentElementsPerToken == DeepSeekV2Table1.mha(nHeads: 128, headDim: 128, layers: 60))  // 1966080
    }
}

@Suite("DeepSeek-V2 Table 1")
struct DeepSeekV2Table1Tests {
    @Test func formulasByHand() {
        // n_h 32, d_h 128, n_g 8, l 32:
        // MHA 2·32·128·32 = 262144; GQA 2·8·128·32 = 65536; MQA 2·128·32 = 8192;
        // MLA with d_c = 512, d_h^R = 64: (512 + 64)·32 = 18432 = 4.5·128·32.
        let rows = DeepSeekV2Table1.rows(nHeads: 32, headDim: 128, groups: 8, layers: 32)
        #expect(rows.map(\.mechanism) == ["MHA", "GQA", "MQA", "MLA"])
        #expect(rows.map(\.elementsPerToken) == [262_144, 65_536, 8192, 18_432])
        #expect(DeepSeekV2Table1.mla(latentDim: 4 * 128, ropeDim: 128 / 2, layers: 32) == 18_432)
    }

    @Test(arguments: [(64, 1), (128, 60), (96, 7), (256, 42)])
    func mlaIsGQAWithTwoAndAQuarterGroups(headDim: Int, layers: Int) {
        // (4·d_h + d_h/2)·l = 4.5·d_h·l = 2·(2.25)·d_h·l: the cache of GQA with 2.25 groups.
        let mla = DeepSeekV2Table1.mla(latentDim: 4 * headDim, ropeDim: headDim / 2, layers: layers)
        #expect(Double(mla) == DeepSeekV2Table1.mlaPaperChoice(headDim: headDim, layers: layers))
        #expect(Double(mla) == 2 * DeepSeekV2Table1.mlaEquivalentGQAGroups * Double(headDim * layers))
        #expect(DeepSeekV2Table1.gqa(groups: 1, headDim: headDim, layers: layers) == DeepSeekV2Table1.mqa(headDim: headDim, layers: layers))
    }
}

// MARK: - Malformed configs

private func parse(_ json: String, file: String = "test.json") throws -> PublishedModel {
    try PublishedModel.parse(data: Data(json.utf8), file: file)
}

/// Writes `json` to a temporary file, loads it, and returns the error it must throw.
private func loadError(_ json: String) throws -> PublishedModelError {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-kv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("bad.json").path
    try Data(json.utf8).write(to: URL(fileURLWithPath: path))
    do {
        _ = try PublishedModel.load(path: path)
    } catch let e as PublishedModelError {
        #expect(e.file == path)
        #expect(e.message.contains(path), "the message names the file: \(e.message)")
        return e
    }
    Issue.record("no error for \(json)")
    return PublishedModelError(file: path, field: nil, reason: .unreadable, message: "")
}

struct MalformedCase: CustomTestStringConvertible, Sendable {
    let label: String
    let json: String
    let reason: PublishedModelError.Reason
    let field: String?
    /// Substrings the message must hold (the bad value, what is valid).
    let mentions: [String]
    var testDescription: String { label }
}

private let base = #""num_hidden_layers": 4, "num_attention_heads": 8, "hidden_size": 64"#

private let malformed: [MalformedCase] = [
    MalformedCase(label: "truncated JSON", json: #"{"num_hidden_layers": 4"#, reason: .invalidJSON, field: nil, mentions: ["not valid JSON"]),
    MalformedCase(label: "not an object", json: "[1, 2]", reason: .notAnObject, field: nil, mentions: ["not a JSON object", "[1, 2]"]),
    MalformedCase(label: "no layers", json: #"{"num_attention_heads": 8, "hidden_size": 64}"#, reason: .missingField,
                  field: "num_hidden_layers", mentions: ["'num_hidden_layers' is missing"]),
    MalformedCase(label: "null heads", json: #"{"num_hidden_layers": 4, "num_attention_heads": null, "hidden_size": 64}"#,
                  reason: .missingField, field: "num_attention_heads", mentions: ["'num_attention_heads' is missing", "null"]),
    MalformedCase(label: "zero layers", json: #"{"num_hidden_layers": 0, "num_attention_heads": 8, "hidden_size": 64}"#,
                  reason: .impossibleValue, field: "num_hidden_layers", mentions: ["num_hidden_layers = 0", "positive integer"]),
    MalformedCase(label: "negative heads", json: #"{"num_hidden_layers": 4, "num_attention_heads": -8, "hidden_size": 64}"#,
                  reason: .impossibleValue, field: "num_attention_heads", mentions: ["num_attention_heads = -8"]),
    MalformedCase(label: "layers as a string", json: #"{"num_hidden_layers": "4", "num_attention_heads": 8, "hidden_size": 64}"#,
                  reason: .wrongType, field: "num_hidden_layers", mentions: [#"num_hidden_layers = "4""#, "not an integer"]),
    MalformedCase(label: "fractional head_dim", json: "{\(base), \"head_dim\": 7.5}", reason: .wrongType, field: "head_dim",
                  mentions: ["head_dim = 7.5"]),
    MalformedCase(label: "kv heads not a divisor", json: "{\(base), \"num_key_value_heads\": 3}", reason: .impossibleValue,
                  field: "num_key_value_heads", mentions: ["num_key_value_heads = 3", "1, 2, 4, 8"]),
    MalformedCase(label: "kv heads above heads", json: "{\(base), \"num_key_value_heads\": 16}", reason: .impossibleValue,
                  field: "num_key_value_heads", mentions: ["num_key_value_heads = 16"]),
    MalformedCase(label: "zero kv heads", json: "{\(base), \"num_key_value_heads\": 0}", reason: .impossibleValue,
                  field: "num_key_value_heads", mentions: ["num_key_value_heads = 0"]),
    MalformedCase(label: "hidden not divisible", json: #"{"num_hidden_layers": 4, "num_attention_heads": 6, "hidden_size": 64}"#,
                  reason: .impossibleValue, field: "hidden_size", mentions: ["hidden_size = 64", "num_attention_heads = 6", "head_dim"]),
    MalformedCase(label: "no hidden size nor head_dim", json: #"{"num_hidden_layers": 4, "num_attention_heads": 8}"#,
                  reason: .missingField, field: "hidden_size", mentions: ["'hidden_size' is missing", "head_dim"]),
    MalformedCase(label: "zero head_dim", json: "{\(base), \"head_dim\": 0}", reason: .impossibleValue, field: "head_dim",
                  mentions: ["head_dim = 0"]),
    MalformedCase(label: "zero window", json: "{\(base), \"sliding_window\": 0}", reason: .impossibleValue, field: "sliding_window",
                  mentions: ["sliding_window = 0", "positive integer"]),
    MalformedCase(label: "negative window on Gemma 2", json: "{\(base), \"model_type\": \"gemma2\", \"sliding_window\": -4096}",
                  reason: .impossibleValue, field: "sliding_window", mentions: ["sliding_window = -4096"]),
    MalformedCase(label: "Gemma 2 without a window", json: "{\(base), \"model_type\": \"gemma2\"}",
                  reason: .missingField, field: "sliding_window", mentions: ["'sliding_window' is missing"]),
    MalformedCase(label: "unknown layer type",
                  json: "{\(base), \"sliding_window\": 8, \"layer_types\": [\"sliding_attention\", \"full_attention\", \"chunked_attention\", \"full_attention\"]}",
                  reason: .unknownLayerType, field: "layer_types",
                  mentions: [#"layer_types[2] = "chunked_attention""#, #""sliding_attention", "full_attention""#]),
    MalformedCase(label: "layer_types too short", json: "{\(base), \"layer_types\": [\"full_attention\"]}",
                  reason: .impossibleValue, field: "layer_types", mentions: ["1 entries", "num_hidden_layers = 4"]),
    MalformedCase(label: "zero window pattern", json: "{\(base), \"sliding_window\": 8, \"sliding_window_pattern\": 0}",
                  reason: .impossibleValue, field: "sliding_window_pattern", mentions: ["sliding_window_pattern = 0"]),
    MalformedCase(label: "use_sliding_window as a string", json: "{\(base), \"use_sliding_window\": \"no\"}",
                  reason: .wrongType, field: "use_sliding_window", mentions: [#"use_sliding_window = "no""#, "true, false"]),
    MalformedCase(label: "MLA without a rope width", json: "{\(base), \"kv_lora_rank\": 512, \"qk_nope_head_dim\": 128, \"v_head_dim\": 128}",
                  reason: .missingField, field: "qk_rope_head_dim", mentions: ["'qk_rope_head_dim' is missing"]),
    MalformedCase(label: "MLA with a zero latent", json: "{\(base), \"kv_lora_rank\": 0, \"qk_rope_head_dim\": 64, \"qk_nope_head_dim\": 128, \"v_head_dim\": 128}",
                  reason: .impossibleValue, field: "kv_lora_rank", mentions: ["kv_lora_rank = 0"]),
    // Limits that keep the calculator's products within Int (found by fuzzing: docs/reliability.md).
    MalformedCase(label: "too many layers", json: #"{"num_hidden_layers": 65537, "num_attention_heads": 8, "hidden_size": 64}"#,
                  reason: .impossibleValue, field: "num_hidden_layers", mentions: ["num_hidden_layers = 65537", "1 … 65536"]),
    MalformedCase(label: "too many heads", json: #"{"num_hidden_layers": 4, "num_attention_heads": 4611686018427387904, "hidden_size": 64}"#,
                  reason: .impossibleValue, field: "num_attention_heads", mentions: ["num_attention_heads = 4611686018427387904", "1 … 65536"]),
    MalformedCase(label: "head_dim beyond 2^26", json: "{\(base), \"head_dim\": 4611686018427387904}",
                  reason: .impossibleValue, field: "head_dim", mentions: ["head_dim = 4611686018427387904", "1 … 67108864"]),
    MalformedCase(label: "hidden_size giving a head_dim beyond 2^26", json: #"{"num_hidden_layers": 4, "num_attention_heads": 2, "hidden_size": 4611686018427387904}"#,
                  reason: .impossibleValue, field: "hidden_size", mentions: ["hidden_size = 4611686018427387904", "head_dim", "67108864"]),
    MalformedCase(label: "MLA latent beyond 2^26", json: "{\(base), \"kv_lora_rank\": 9223372036854775807, \"qk_rope_head_dim\": 64, \"qk_nope_head_dim\": 128, \"v_head_dim\": 128}",
                  reason: .impossibleValue, field: "kv_lora_rank", mentions: ["kv_lora_rank = 9223372036854775807", "1 … 67108864"]),
    MalformedCase(label: "elements per token beyond 2^26", json: #"{"num_hidden_layers": 65536, "num_attention_heads": 64, "head_dim": 1024}"#,
                  reason: .impossibleValue, field: "num_hidden_layers", mentions: ["8589934592 elements per token", "67108864"]),
    MalformedCase(label: "MLA's multi-head equivalent beyond 2^26",
                  json: #"{"num_hidden_layers": 12288, "num_attention_heads": 128, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128}"#,
                  reason: .impossibleValue, field: "num_hidden_layers", mentions: ["multi-head equivalent", "402653184 elements per token", "67108864"]),
]

/// The fuzz corpus: crashing inputs found by `make fuzz` are kept there as seeds.
private let publishedModelCorpus = repoRoot.appendingPathComponent("fuzz/corpus/published-model")

/// What the kv-cache command computes from a model, at its largest context (2^30 tokens)
/// and element size (64 bytes): traps if a product overflows.
private func kvCacheArithmetic(_ m: PublishedModel) {
    let context = 1 << 30, bytes = 64
    _ = m.elementsPerToken * bytes
    _ = m.cacheBytes(context: context, bytesPerElement: bytes)
    if let eq = m.mhaEquivalentElementsPerToken { _ = eq * context * bytes }
}

@Suite("Malformed configs")
struct MalformedConfigTests {
    @Test(arguments: malformed)
    func givesTheExpectedError(_ c: MalformedCase) throws {
        let e = try loadError(c.json)
        #expect(e.reason == c.reason, "\(e.message)")
        #expect(e.field == c.field, "\(e.message)")
        if let field = c.field { #expect(e.message.contains(field), "the message names the field: \(e.message)") }
        for m in c.mentions { #expect(e.message.contains(m), "'\(m)' not in: \(e.message)") }
    }

    /// Fuzzing regression: a DeepSeek-V2 config with num_hidden_layers 12288 (a second, later
    /// key) passed the reader, and the kv-cache arithmetic trapped: its MLA multi-head
    /// equivalent, 402,653,184 elements per token, times 2^30 tokens times 64 bytes overflows.
    @Test func fuzzCrashMLAEquivalentOverflowIsAnError() throws {
        let path = publishedModelCorpus.appendingPathComponent("crash-a8b69336f8b6335aa0b4c505434db98dab0cf021").path
        #expect {
            _ = try PublishedModel.load(path: path)
        } throws: { error in
            guard let e = error as? PublishedModelError else { return false }
            return e.reason == .impossibleValue && e.field == "num_hidden_layers" && e.message.contains("67108864")
        }
    }

    /// At the limits, every model the reader accepts keeps the calculator's products in range.
    @Test func modelsAtTheLimitsKeepTheArithmeticInRange() throws {
        let atLimits = [
            #"{"num_hidden_layers": 1, "num_attention_heads": 65536, "num_key_value_heads": 1, "head_dim": 33554432}"#,
            #"{"num_hidden_layers": 65536, "num_attention_heads": 1, "head_dim": 512}"#,
            #"{"num_hidden_layers": 1, "num_attention_heads": 1, "kv_lora_rank": 33554432, "qk_rope_head_dim": 33554432, "qk_nope_head_dim": 33554432, "v_head_dim": 33554432}"#,
        ]
        for json in atLimits {
            let m = try parse(json)
            #expect(m.elementsPerToken <= PublishedModel.maxElementsPerToken)
            kvCacheArithmetic(m)
        }
    }

    @Test func aMissingFileIsNamed() {
        #expect {
            _ = try PublishedModel.load(path: "/nonexistent/attnlab/none.json")
        } throws: { error in
            (error as? PublishedModelError)?.reason == .unreadable && "\(error)".contains("/nonexistent/attnlab/none.json")
        }
    }

    @Test func defaultsAreRecorded() throws {
        let m = try parse(#"{"num_hidden_layers": 2, "num_attention_heads": 4, "hidden_size": 32}"#)
        #expect(m.defaultsApplied.map(\.field) == ["num_key_value_heads", "head_dim"])
        #expect(m.defaultsApplied.map(\.value) == ["4", "8"])
        #expect(m.layers.allSatisfy { $0.kind == .mha && $0.elementsPerToken == 2 * 4 * 8 })
        let mqa = try parse(#"{"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "hidden_size": 32}"#)
        #expect(mqa.layers.allSatisfy { $0.kind == .mqa && $0.elementsPerToken == 16 })
    }

    @Test func nestedTextConfigIsRead() throws {
        let m = try parse(#"{"model_type": "gemma3", "text_config": {"num_hidden_layers": 6, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 32, "sliding_window": 512, "sliding_window_pattern": 6}}"#)
        #expect(m.layers.map(\.window) == [512, 512, 512, 512, 512, nil])
        #expect(m.fieldsUsed.contains(ConfigField(name: "text_config.num_hidden_layers", value: "6")))
        let e = try loadError(#"{"text_config": {"num_hidden_layers": 6, "num_attention_heads": 8, "head_dim": -1}}"#)
        #expect(e.field == "text_config.head_dim")
    }
}
