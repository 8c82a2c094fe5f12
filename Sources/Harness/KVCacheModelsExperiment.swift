// Kind `kv-cache-models`: the KV cache of published models, from their config.json.

import Foundation

enum KVCacheModelsExperiment {
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

    static func validate(_ run: RunSpec) throws {
        _ = try require(run, "bytes_per_element", atLeast: 1)
    }

    static func execute(_ run: RunSpec, context: RunContext) throws -> [Measurement] {
        throw HarnessError.failed("kv-cache-models: the calculator is not merged yet")
    }
}
