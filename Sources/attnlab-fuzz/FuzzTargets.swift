// The fuzz targets: each feeds arbitrary bytes to one of AttnLab's readers of untrusted
// files, the way the command line would, and then uses what was read the way the command
// line does. A thrown error is the reader doing its job; a crash, trap (overflow,
// precondition, out-of-range index), sanitizer report, timeout or memory blow-up is a finding.
//
// Compiled in every build, so the targets keep compiling; only main.swift's entry point
// depends on ATTNLAB_FUZZ (see there).

import Attention
import Foundation
import Harness
import TensorCore

enum FuzzTarget: String, CaseIterable {
    /// SafeTensorsFile.decode: the header, shapes, offsets and data of a safetensors file
    /// (`attnlab forward --input/--weights`, checkpoints).
    case safetensors
    /// LayerIO.decodeConfig: a layer's config JSON (`attnlab forward --config`), then every
    /// mechanism's validation; with a "variant" key, a small layer of that mechanism runs a
    /// forward and decode pass as `attnlab forward --variant … --decode` would.
    case attentionConfig = "attention-config"
    /// PublishedModel.parse: a Hugging Face config.json (`attnlab kv-cache`, kv-cache-models),
    /// then the KV-cache arithmetic the kv-cache command prints.
    case publishedModel = "published-model"
    /// ExperimentSpec.load(data:path:): an experiments/<name>.json spec, expanded for every profile.
    case experimentSpec = "experiment-spec"

    static let environmentVariable = "ATTNLAB_FUZZ_TARGET"
    static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The target named by ATTNLAB_FUZZ_TARGET; exits with status 2 naming the valid ones otherwise.
    static func fromEnvironment() -> FuzzTarget {
        let name = ProcessInfo.processInfo.environment[environmentVariable] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let shown = name.isEmpty ? "is not set" : "= '\(name)' is not a fuzz target"
            FileHandle.standardError.write(Data("attnlab-fuzz: \(environmentVariable) \(shown); valid: \(validNames)\n".utf8))
            exit(2)
        }
        return target
    }

    /// Runs one input. Errors thrown by the reader are expected and ignored.
    func run(_ data: Data) {
        switch self {
        case .safetensors: FuzzTarget.safetensors(data)
        case .attentionConfig: FuzzTarget.attentionConfig(data)
        case .publishedModel: FuzzTarget.publishedModel(data)
        case .experimentSpec: FuzzTarget.experimentSpec(data)
        }
    }

    // MARK: - Targets

    static func safetensors(_ data: Data) {
        guard let file = try? SafeTensorsFile.decode(data) else { return }
        // What the readers do next: look tensors up by name and build them.
        for name in file.names { _ = try? file.tensor(named: name) }
        // Writing what was read must give a file that reads back the same (values compared
        // bit for bit, so NaN payloads count; F16/BF16 widen to F32 exactly).
        let again: SafeTensorsFile
        do { again = try SafeTensorsFile.decode(file.encode()) } catch {
            fatalError("safetensors: a decoded file re-encodes to bytes that do not decode: \(error)")
        }
        guard again.names == file.names, again.metadata == file.metadata,
              zip(again.entries, file.entries).allSatisfy({ a, b in
                  a.shape == b.shape && a.values.map(\.bitPattern) == b.values.map(\.bitPattern)
              })
        else { fatalError("safetensors: encode then decode changed the file (tensors \(file.names))") }
    }

    /// Layers up to this width get built and run (a forward and a decode of 3 tokens): big
    /// enough for every mechanism's code paths, small enough for many runs per second.
    static let smallWidth = 64

    static func attentionConfig(_ data: Data) {
        guard let config = try? LayerIO.decodeConfig(data, path: "fuzz.json") else { return }
        let resolved = Variant.allCases.map { try? $0.resolve(config) }
        // The config decoder ignores keys it does not know, so the variant to run can ride along
        // (running every variant on every input would cost most of the executions).
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let id = object["variant"] as? String, let variant = Variant(rawValue: id),
              let c = resolved[Variant.allCases.firstIndex(of: variant)!] else { return }
        let widths = [c.hiddenSize, c.numHeads, c.numKVHeads, c.headDim, c.linearFeatureDim, c.kvLoraRank,
                      c.qLoraRank, c.qkNopeHeadDim, c.qkRopeHeadDim, c.vHeadDim]
        guard widths.allSatisfy({ $0 <= smallWidth }) else { return }
        var rng = Xoshiro256StarStar(seed: 1)
        guard let layer = try? variant.make(config: c, rng: &rng) else { return }
        let x = Tensor(shape: [1, 3, c.hiddenSize], data: (0 ..< 3 * c.hiddenSize).map { Float($0 % 7) / 7 - 0.5 })
        _ = try? LayerIO.run(layer, input: x, decode: true)
    }

    /// The contexts and element size `attnlab kv-cache` uses at most (its --context limit is
    /// 2^30 tokens, --bytes-per-element at most 64), plus its defaults.
    static let contexts = [1, 4096, 32768, 131072, 1 << 30]
    static let bytesPerElement = [1, 2, 64]

    static func publishedModel(_ data: Data) {
        guard let m = try? PublishedModel.parse(data: data, file: "fuzz.json") else { return }
        _ = m.layerSummary
        for g in m.layerGroups { _ = (g.indexDescription, g.layer.cacheDescription, g.layer.elementsPerToken) }
        _ = m.uniformElementsPerTokenPerLayer
        _ = (m.slidingLayerCount, m.globalLayerCount, m.mlaReduction)
        let perToken = m.elementsPerToken
        let mhaEquivalent = m.mhaEquivalentElementsPerToken
        for b in bytesPerElement {
            _ = perToken * b
            for c in contexts {
                _ = m.cacheBytes(context: c, bytesPerElement: b)
                if let mhaEquivalent { _ = mhaEquivalent * c * b }
            }
        }
    }

    static func experimentSpec(_ data: Data) {
        // The spec's name must equal its file name: name the file after the spec, so that
        // inputs get past that check to the rest of the validation.
        var name = "fuzz"
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let given = object["name"] as? String, !given.isEmpty, !given.contains("/"), given.utf8.count < 200 {
            name = given
        }
        _ = try? ExperimentSpec.load(data: data, path: "experiments/\(name).json")
    }
}
