// Kind `kv-cache-models`: the KV cache of published models, from their config.json
// (PublishedModel): per token per layer and per token over all layers, and the cache of
// one sequence at each context of `contexts` with sliding-window layers capped at their
// window; for MLA models also the MHA equivalent and the reduction. One run per file
// under `models_dir`, its name the run's variant, so a new file adds a shard.

import Foundation

enum KVCacheModelsExperiment {
    static let defaultContexts = "4096 32768 131072"

    static func modelsDirectory(spec: ExperimentSpec) -> String {
        spec.base["models_dir"] ?? "configs/models"
    }

    /// The model files' names (without .json), sorted: adding a file adds a run.
    static func modelNames(spec: ExperimentSpec) throws -> [String] {
        let dir = modelsDirectory(spec: spec)
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw HarnessError.badInput("\(spec.path): models_dir '\(dir)' cannot be listed")
        }
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func contexts(_ run: RunSpec) throws -> [Int] {
        let text = run.parameters["contexts"] ?? defaultContexts
        let values = text.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw HarnessError.badInput("contexts = '\(text)': must be a space-separated list of positive token counts")
        }
        return values.map { $0! }
    }

    static func validate(_ run: RunSpec) throws {
        _ = try require(run, "bytes_per_element", atLeast: 1)
        _ = try contexts(run)
        _ = try model(run)
    }

    static func model(_ run: RunSpec) throws -> PublishedModel {
        let dir = run.parameters["models_dir"] ?? "configs/models"
        do { return try PublishedModel.load(path: "\(dir)/\(run.variant).json") } catch let error as PublishedModelError {
            throw HarnessError.badInput(error.description)
        }
    }

    static func execute(_ run: RunSpec, context: RunContext) throws -> [Measurement] {
        let m = try model(run)
        let bytesPerElement = try run.int("bytes_per_element")
        var out: [Measurement] = [
            Measurement("layers", Double(m.numLayers), "layers"),
            Measurement("sliding_layers", Double(m.slidingLayerCount), "layers"),
            Measurement("attention_heads", Double(m.numHeads), "heads"),
            Measurement("kv_heads", Double(m.numKVHeads), "heads"),
            Measurement("head_dim", Double(m.headDim), "elements"),
            Measurement("elements_per_token", Double(m.elementsPerToken), "elements"),
            Measurement("bytes_per_token", Double(m.elementsPerToken * bytesPerElement), "bytes"),
        ]
        // Per layer, once per kind of layer (e.g. Gemma's sliding and global layers).
        for group in m.layerGroups {
            let kind = group.layer.kind.rawValue + (group.layer.window.map { "-sliding-\($0)" } ?? "")
            out.append(Measurement("elements_per_token_per_layer", Double(group.layer.elementsPerToken), "elements", at: ["layer_kind": kind]))
        }
        if let mla = m.mla {
            out.append(Measurement("kv_lora_rank", Double(mla.kvLoraRank), "elements"))
            out.append(Measurement("qk_rope_head_dim", Double(mla.qkRopeHeadDim), "elements"))
        }
        if let equivalent = m.mhaEquivalentElementsPerTokenPerLayer, let reduction = m.mlaReduction {
            out.append(Measurement("mha_equivalent_elements_per_token_per_layer", Double(equivalent), "elements"))
            out.append(Measurement("mla_reduction_vs_mha", reduction, "ratio"))
        }
        for n in try contexts(run) {
            out.append(Measurement("cache_bytes", Double(m.cacheBytes(context: n, bytesPerElement: bytesPerElement)), "bytes",
                                   at: ["context": String(n)]))
        }
        return out
    }
}
