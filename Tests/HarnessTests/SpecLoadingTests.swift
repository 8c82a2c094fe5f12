// ExperimentSpec.load on spec files written to a temporary directory: a valid spec expands
// into the documented runs, and every kind of bad input is a HarnessError.badInput that
// names the file, the bad value and the valid ones.

import Attention
import Foundation
import Testing
@testable import Harness

@Suite("Experiment specs: loading and validation")
struct SpecLoadingTests {
    /// Writes `spec` as <tmp>/<file>.json (the spec's name unless given) and loads it.
    private func load(_ spec: [String: Any], file: String? = nil, in dir: TempDir) throws -> ExperimentSpec {
        let name = file ?? (spec["name"] as? String ?? "spec")
        let path = try dir.write("\(name).json", try json(spec))
        return try ExperimentSpec.load(path: path)
    }

    @Test func aValidSpecExpandsIntoVariantsTimesCellsTimesSeeds() throws {
        let dir = try TempDir()
        let spec = try load(kvScalingSpec(), in: dir)
        let runs = try spec.runs(profile: .smoke)
        #expect(runs.count == 3 * 2 * 2)
        #expect(runs.map(\.variant) == ["gqa", "gqa", "gqa", "gqa", "mqa", "mqa", "mqa", "mqa", "linear", "linear", "linear", "linear"])
        #expect(Set(runs.map(\.key)).count == runs.count)
        #expect(runs[0].parameters == ["context": "16", "layers": "1", "max_measured_bytes": "1048576"])
        let onlyGQA = try spec.runs(profile: .smoke, variants: ["gqa"])
        #expect(onlyGQA.count == 4 && onlyGQA.allSatisfy { $0.variant == "gqa" })
    }

    /// Raising a spec's version gives every run a new key (old shards are not reused);
    /// version-1 keys are what they were before versions entered the key (the committed
    /// shards keep their names): the hash of the parameters, seed and variant alone.
    @Test func theSpecVersionEntersTheKeyFromVersionTwo() throws {
        var spec = kvScalingSpec()
        let v1 = try load(spec, in: try TempDir()).runs(profile: .smoke)
        spec["version"] = 2
        let v2 = try load(spec, in: try TempDir()).runs(profile: .smoke)
        #expect(v1.count == v2.count)
        for (a, b) in zip(v1, v2) { #expect(a.key != b.key, "\(a.key)") }
        let run = v1[0]
        let canonical = run.parameters.keys.sorted().map { "\($0)=\(run.parameters[$0]!)" }.joined(separator: ";")
            + ";seed=\(run.seed);variant=\(run.variant)"
        #expect(run.key.hasSuffix("-" + String(fnv1a64(canonical), radix: 16)), "\(run.key)")
    }

    @Test func theRepositorysSpecsAllLoad() throws {
        let suite = try Suite.load(directory: harnessRepoRoot.appendingPathComponent("experiments").path)
        #expect(suite.names.contains("kv-cache-models") && suite.names.contains("mqar-recall"))
        for spec in suite.specs {
            for profile in Profile.allCases { #expect(try !spec.runs(profile: profile).isEmpty, "\(spec.name) \(profile)") }
        }
    }

    @Test func notValidJSON() throws {
        let dir = try TempDir()
        let path = try dir.write("broken.json", #"{"name": "broken", "version": 1,"#)
        expectBadInput(["broken.json", "not valid JSON"]) { _ = try ExperimentSpec.load(path: path) }
        let array = try dir.write("array.json", "[1, 2]")
        expectBadInput(["array.json", "JSON object"]) { _ = try ExperimentSpec.load(path: array) }
        expectBadInput(["missing.json"]) { _ = try ExperimentSpec.load(path: dir.file("missing.json")) }
    }

    @Test(arguments: ["name", "version", "kind", "description", "profiles"])
    func missingField(field: String) throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        spec[field] = nil
        expectBadInput(["tiny.json", "missing field '\(field)'", "required: name, version, kind, description, profiles"]) {
            _ = try load(spec, file: "tiny", in: dir)
        }
    }

    @Test func fieldOfTheWrongType() throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        spec["version"] = "one"
        expectBadInput(["field 'version'", "one"]) { _ = try load(spec, in: dir) }
        spec = kvScalingSpec()
        spec["version"] = 0
        expectBadInput(["version 0", "at least 1"]) { _ = try load(spec, in: dir) }
    }

    @Test func unknownTopLevelField() throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        spec["colour"] = "red"
        expectBadInput(["unknown field 'colour'", "valid: base, description, kind, knob_defaults, name, profiles, variant_base, version"]) {
            _ = try load(spec, in: dir)
        }
    }

    @Test func knobDefaultsFillOnlyTheKnobsAMechanismTakes() throws {
        let dir = try TempDir()
        var spec = trainSpec()
        spec["variant_base"] = ["gqa": ["kv_heads": 2]]
        spec["knob_defaults"] = ["window": 6]
        let runs = try load(spec, in: dir).runs(profile: .smoke)
        for r in runs {
            let v = try Variant.parse(r.variant)
            #expect((r.parameters["window"] == "6") == v.knobs.contains(.window), "\(r.variant): \(r.parameters)")
        }
        // variant_base (or a profile) wins over the default.
        spec["variant_base"] = ["gqa": ["kv_heads": 2], "swa": ["window": 3]]
        #expect(try load(spec, in: dir).runs(profile: .smoke).first { $0.variant == "swa" }?.parameters["window"] == "3")
        spec["knob_defaults"] = ["seq_len": 8]
        expectBadInput(["knob_defaults.seq_len is not a mechanism knob", "valid: kv_heads, window"]) { _ = try load(spec, in: dir) }
    }

    @Test func unknownFieldInAProfile() throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        var profiles = spec["profiles"] as! [String: Any]
        var smoke = profiles["smoke"] as! [String: Any]
        smoke["seed"] = [0]
        profiles["smoke"] = smoke
        spec["profiles"] = profiles
        expectBadInput(["profiles.smoke", "unknown field 'seed'", "valid: cells, knobs, lr_grid, seeds, set, variants"]) { _ = try load(spec, in: dir) }
    }

    @Test func unknownKind() throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        spec["kind"] = "training"
        expectBadInput(["unknown kind 'training'", "valid: kv-cache-models, kv-cache-scaling, prefill, decode, train, throughput"]) {
            _ = try load(spec, in: dir)
        }
    }

    @Test func unknownProfileKey() throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        var profiles = spec["profiles"] as! [String: Any]
        profiles["fast"] = profiles["smoke"]
        spec["profiles"] = profiles
        expectBadInput(["tiny.json", "unknown profile 'fast'", "valid: smoke, quick, paper"]) { _ = try load(spec, in: dir) }
    }

    @Test(arguments: Profile.allCases)
    func missingProfile(profile: Profile) throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        var profiles = spec["profiles"] as! [String: Any]
        profiles[profile.rawValue] = nil
        spec["profiles"] = profiles
        expectBadInput(["profiles.\(profile.rawValue) is missing", "smoke, quick, paper"]) { _ = try load(spec, in: dir) }
    }

    @Test func unknownProfileName() {
        expectBadInput(["unknown profile 'full'", "valid: smoke, quick, paper"]) { _ = try Profile.parse("full") }
    }

    @Test func unknownVariantInAProfile() throws {
        let dir = try TempDir()
        let spec = kvScalingSpec(variants: ["mha", "flash"])
        expectBadInput([".variants", "unknown variant 'flash'", "valid: all, mha, gqa, mqa, swa, linear, mla"]) {
            _ = try load(spec, in: dir)
        }
    }

    @Test func unknownVariantInVariantBaseAndKnobs() throws {
        let dir = try TempDir()
        var spec = trainSpec()
        spec["variant_base"] = ["flash": ["kv_heads": 2]]
        expectBadInput(["tiny-train.json", "variant_base", "unknown variant 'flash'", "valid: mha, gqa, mqa, swa, linear, mla"]) {
            _ = try load(spec, in: dir)
        }
        spec = trainSpec(knobs: ["flash": [["window": 4]]])
        expectBadInput(["tiny-train.json", "knobs", "unknown variant 'flash'", "valid: mha, gqa, mqa, swa, linear, mla"]) {
            _ = try load(spec, in: dir)
        }
    }

    @Test func unknownVariantInTheFilter() throws {
        let dir = try TempDir()
        let spec = try load(kvScalingSpec(), in: dir)
        expectBadInput(["has no variant 'swa'", "valid: gqa, mqa, linear"]) { _ = try spec.runs(profile: .smoke, variants: ["swa"]) }
    }

    @Test func unknownParameterForTheKind() throws {
        let dir = try TempDir()
        var spec = kvScalingSpec()
        spec["base"] = ["layers": 1, "max_measured_bytes": 1024, "seq_len": 64]
        expectBadInput(["base", "unknown parameter 'seq_len' for kind kv-cache-scaling", "valid: context, layers, max_measured_bytes"]) {
            _ = try load(spec, in: dir)
        }
        let train = trainSpec(set: ["context": 4])
        expectBadInput(["profiles.", ".set", "unknown parameter 'context' for kind train", "valid: task, seq_len"]) {
            _ = try load(train, in: dir)
        }
    }

    @Test func aKnobGivenToAMechanismThatLacksIt() throws {
        let dir = try TempDir()
        expectBadInput(["window does not apply to mha", "it applies to: swa"]) {
            _ = try load(trainSpec(variants: ["mha"], knobs: ["mha": [["window": 4]]]), in: dir)
        }
        expectBadInput(["latent does not apply to gqa", "it applies to: mla"]) {
            _ = try load(trainSpec(variants: ["gqa"], knobs: ["gqa": [["latent": 8]]]), in: dir)
        }
        expectBadInput(["mla_path = naive applies only to mla, not mha"]) {
            var spec = kvScalingSpec()
            spec["kind"] = "prefill"
            spec["base"] = ["tokens": 8, "mla_path": "naive", "repeats": 1, "threads": 1]
            let profile: [String: Any] = ["variants": ["mha"]]
            spec["profiles"] = ["smoke": profile, "quick": profile, "paper": profile]
            _ = try load(spec, in: dir)
        }
    }

    @Test func impossibleValues() throws {
        let dir = try TempDir()
        var spec = trainSpec(variants: ["mha"])
        var profiles = spec["profiles"] as! [String: Any]
        var smoke = profiles["smoke"] as! [String: Any]
        smoke["cells"] = [["seq_len": 0, "kv_pairs": 2]]
        profiles["smoke"] = smoke
        spec["profiles"] = profiles
        expectBadInput(["tiny-train", "run mha_seq_len=0", "0"]) { _ = try load(spec, in: dir) }

        expectBadInput(["profiles.", ".seeds", "'-1' is not a non-negative integer"]) { _ = try load(trainSpec(seeds: [0, -1]), in: dir) }
        expectBadInput(["profiles.", ".seeds", "'1.5' is not a non-negative integer"]) { _ = try load(trainSpec(seeds: [1.5]), in: dir) }
        expectBadInput(["lists a seed twice", "[0, 1, 0]"]) { _ = try load(trainSpec(seeds: [0, 1, 0]), in: dir) }
        expectBadInput([".seeds must be a non-empty list"]) { _ = try load(trainSpec(seeds: []), in: dir) }

        // GQA with 3 kv heads against 4 query heads.
        var gqa = trainSpec(variants: ["gqa"])
        gqa["variant_base"] = ["gqa": ["kv_heads": 3]]
        expectBadInput(["run gqa", "3", "4"]) { _ = try load(gqa, in: dir) }

        expectBadInput(["context = 0", "at least 1"]) { _ = try load(kvScalingSpec(contexts: [16, 0]), in: dir) }
        var scaling = kvScalingSpec()
        scaling["base"] = ["layers": 0, "max_measured_bytes": 1024]
        expectBadInput(["layers = 0", "at least 1"]) { _ = try load(scaling, in: dir) }
        scaling["base"] = ["layers": "two", "max_measured_bytes": 1024]
        expectBadInput(["layers = 'two' is not an integer"]) { _ = try load(scaling, in: dir) }
        expectBadInput(["target_accuracy = 2", "0...1"]) { _ = try load(trainSpec(set: ["target_accuracy": 2]), in: dir) }
        expectBadInput(["tied = 'yes'", "valid: true, false"]) { _ = try load(trainSpec(set: ["tied": "yes"]), in: dir) }
        expectBadInput(["unknown", "recall"]) { _ = try load(trainSpec(set: ["task": "recall"]), in: dir) }
    }

    /// Fuzzing regression (docs/reliability.md): a training spec with 216,777,217 layers
    /// took over 30 s to validate, building a per-layer list before any bound was checked.
    /// Layers are now bounded (1...65,536) first, and the error names the value.
    @Test func fuzzSlowHugeLayerCountIsAnError() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/experiment-spec")
        let data = try Data(contentsOf: corpus.appendingPathComponent("timeout-91cb0e9ca8e5bc5aab7a64e39e465c6a2efc3b12"))
        let start = Date()
        expectBadInput(["--layers 216777217", "1...65536"]) { _ = try ExperimentSpec.load(data: data, path: "experiments/mqar-recall.json") }
        #expect(Date().timeIntervalSince(start) < 1, "validation took \(Date().timeIntervalSince(start)) s")
    }

    /// Fuzzing regression: seq_len 429,496,729,664 made validation build MQAR's table of
    /// query-gap weights (one per slot) and abort on the allocation. Sizes are bounded
    /// before a task or model is built, each error naming the flag, value and bound.
    @Test func fuzzCrashHugeSequenceLengthIsAnError() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/experiment-spec")
        let data = try Data(contentsOf: corpus.appendingPathComponent("crash-e5ef0372e76ffdfe81ea355cdbd1be0eae7129d1"))
        expectBadInput(["--seq-len 429496729664", "at most 1048576"]) { _ = try ExperimentSpec.load(data: data, path: "experiments/recall-vs-cache.json") }
        let dir = try TempDir()
        for (key, value, mention) in [("vocab", 1 << 30, "--vocab 1073741824"), ("d_model", 1 << 20, "--d-model 1048576"),
                                      ("batch", 1 << 21, "--batch-size 2097152")] {
            expectBadInput([mention, "at most"]) { _ = try load(trainSpec(set: [key: value]), in: dir) }
        }
    }

    @Test func theSameRunTwice() throws {
        let dir = try TempDir()
        expectBadInput(["lists the same run twice"]) { _ = try load(kvScalingSpec(contexts: [16, 16]), in: dir) }
    }

    @Test func nameMustEqualTheFileName() throws {
        let dir = try TempDir()
        expectBadInput(["name 'tiny' must equal the file name 'other'"]) { _ = try load(kvScalingSpec(), file: "other", in: dir) }
    }

    @Test func theSuiteNamesUnknownExperimentsAndEmptyDirectories() throws {
        let dir = try TempDir()
        expectBadInput(["no experiment specs", dir.path]) { _ = try Suite.load(directory: dir.path) }
        expectBadInput(["cannot list", "nowhere"]) { _ = try Suite.load(directory: dir.file("nowhere")) }
        try dir.write("tiny.json", try json(kvScalingSpec()))
        let suite = try Suite.load(directory: dir.path)
        expectBadInput(["unknown experiment 'tiny2'", "valid: all, tiny"]) { _ = try suite.select("tiny2") }
        #expect(try suite.select("all").map(\.name) == ["tiny"])
    }
}
