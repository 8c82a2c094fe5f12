// An experiment as data: experiments/<name>.json names the kind of measurement (the
// executor that runs one configuration), the parameters shared by all runs, and per
// profile the variants, cells, per-variant knob sweeps and seeds. Expanding a profile
// gives the runs, each an independent shard.
//
//   runs(profile) = variants × cells × knobs[variant] × seeds
//   parameters    = base ⊕ variant_base[v] ⊕ profile.set ⊕ cell ⊕ knob   (later wins)
//                   then knob_defaults for each knob the mechanism takes and nothing set
//
// knob_defaults speak of knobs, not mechanisms ("windows are 8 tokens here"), so a
// mechanism added to the registry runs in every experiment with its knobs set.
//
// A training profile may give an `lr_grid`: then every point (variant × cell × knob) runs
// the whole grid at the first seed, and each further seed runs once at lr = "best", the
// grid's choice on the validation set (see LearningRateChoice), resolved when that run
// starts from the grid's finished shards.

import Attention
import Foundation

public enum Profile: String, CaseIterable, Sendable {
    /// Seconds, for CI and the pipeline check.
    case smoke
    /// The whole suite within 20 minutes on 2 cores.
    case quick
    /// The full sweep whose CSV are committed in results/.
    case paper

    public static func parse(_ text: String) throws -> Profile {
        guard let p = Profile(rawValue: text) else {
            throw HarnessError.badInput("unknown profile '\(text)'; valid: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return p
    }
}

/// Errors a user can cause (bad spec, unknown name, bad shard): exit status 2.
public enum HarnessError: Error, CustomStringConvertible, Equatable {
    case badInput(String)
    /// Something that stops a run or a merge without being the user's typing error.
    case failed(String)

    public var description: String {
        switch self {
        case .badInput(let m), .failed(let m): return m
        }
    }
}

/// One parameter value as written in a spec: numbers are kept as their decimal text so
/// that shard keys and CSV cells are exactly what the spec says.
public typealias Parameters = [String: String]

/// One run: a point of the sweep, its own shard.
public struct RunSpec: Sendable, Equatable {
    public var experiment: String
    /// The mechanism's registry id (or, for kv-cache-models, the attention kind of the model).
    public var variant: String
    public var parameters: Parameters
    public var seed: Int
    /// The parameters that vary across the sweep, in the kind's column order: the readable part of the key.
    public var swept: [String]
    /// The spec's version: raising it (after a change to the code that measures, e.g. a
    /// faster kernel under a timed kind) makes new shards, so old results are not reused.
    public var specVersion: Int = 1

    /// Stable file name of the shard: the variant, the swept values and the seed, then a
    /// hash of every parameter (and of the spec version from 2 on; version-1 keys predate
    /// it), so that editing a fixed parameter or the version makes new shards.
    public var key: String {
        var readable = [variant]
        for name in swept { readable.append("\(name)=\(parameters[name] ?? "")") }
        readable.append("seed=\(seed)")
        var canonical = parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ";") + ";seed=\(seed);variant=\(variant)"
        if specVersion > 1 { canonical += ";spec_version=\(specVersion)" }
        let safe = readable.joined(separator: "_").map { c -> Character in
            c.isLetter || c.isNumber || c == "=" || c == "-" || c == "_" || c == "." ? c : "-"
        }
        return String(safe) + "-" + String(fnv1a64(canonical), radix: 16)
    }

    public func int(_ name: String) throws -> Int {
        guard let text = parameters[name] else { throw HarnessError.badInput("\(experiment): run \(variant) needs parameter '\(name)'") }
        guard let v = Int(text) else { throw HarnessError.badInput("\(experiment): parameter \(name) = '\(text)' is not an integer") }
        return v
    }

    public func optionalInt(_ name: String) throws -> Int? {
        guard parameters[name] != nil else { return nil }
        return try int(name)
    }

    public func double(_ name: String) throws -> Double {
        guard let text = parameters[name] else { throw HarnessError.badInput("\(experiment): run \(variant) needs parameter '\(name)'") }
        guard let v = Double(text), v.isFinite else { throw HarnessError.badInput("\(experiment): parameter \(name) = '\(text)' is not a number") }
        return v
    }

    public func string(_ name: String) throws -> String {
        guard let text = parameters[name] else { throw HarnessError.badInput("\(experiment): run \(variant) needs parameter '\(name)'") }
        return text
    }
}

/// 64-bit FNV-1a: a stable, platform-independent hash for shard keys.
func fnv1a64(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return h
}

public struct ExperimentSpec: Sendable {
    public struct ProfileSpec: Sendable {
        public var variants: [String]
        public var set: Parameters
        public var cells: [Parameters]
        public var knobs: [String: [Parameters]]
        public var seeds: [Int]
        /// Learning rates tried at the first seed (as written in the spec); nil: the lr parameter as given.
        public var lrGrid: [String]? = nil
    }

    public var name: String
    public var version: Int
    public var kind: ExperimentKind
    public var description: String
    public var base: Parameters
    public var variantBase: [String: Parameters]
    /// Per knob (spec key), the value every mechanism that takes it runs with when nothing else sets it.
    public var knobDefaults: Parameters = [:]
    public var profiles: [Profile: ProfileSpec]
    /// The file it was read from, for messages.
    public var path: String

    public var timed: Bool { kind.timed }

    /// Reads and validates a spec file; every problem names the file and the field.
    public static func load(path: String) throws -> ExperimentSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HarnessError.badInput("cannot read experiment spec \(path)")
        }
        return try load(data: data, path: path)
    }

    /// As `load(path:)`, from bytes already read; `path` names the source in messages and
    /// its file name must equal the spec's name.
    public static func load(data: Data, path: String) throws -> ExperimentSpec {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw HarnessError.badInput("\(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else { throw HarnessError.badInput("\(path): the top level must be a JSON object") }
        let known: Set = ["name", "version", "kind", "description", "base", "variant_base", "knob_defaults", "profiles"]
        if let extra = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw HarnessError.badInput("\(path): unknown field '\(extra)'; valid: \(known.sorted().joined(separator: ", "))")
        }
        func field<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let raw = root[key] else {
                throw HarnessError.badInput("\(path): missing field '\(key)'; required: name, version, kind, description, profiles")
            }
            guard let value = raw as? T else { throw HarnessError.badInput("\(path): field '\(key)' has the wrong type (\(raw))") }
            return value
        }
        let name = try field("name", String.self)
        let fileName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard name == fileName else { throw HarnessError.badInput("\(path): name '\(name)' must equal the file name '\(fileName)'") }
        let version = try field("version", Int.self)
        guard version >= 1 else { throw HarnessError.badInput("\(path): version \(version) must be at least 1") }
        let kindText = try field("kind", String.self)
        guard let kind = ExperimentKind(rawValue: kindText) else {
            throw HarnessError.badInput("\(path): unknown kind '\(kindText)'; valid: \(ExperimentKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let description = try field("description", String.self)
        let context = "\(path)"
        let base = try parameters(root["base"] ?? [String: Any](), kind: kind, at: "\(context): base")
        var variantBase: [String: Parameters] = [:]
        if let vb = root["variant_base"] {
            guard let dict = vb as? [String: Any] else { throw HarnessError.badInput("\(path): variant_base must be an object of variant → parameters") }
            for (v, p) in dict {
                try checkVariantKey(v, kind: kind, at: "\(context): variant_base")
                variantBase[v] = try parameters(p, kind: kind, at: "\(context): variant_base.\(v)")
            }
        }
        let knobDefaults = try parameters(root["knob_defaults"] ?? [String: Any](), kind: kind, at: "\(context): knob_defaults")
        let knobKeys = Knob.allCases.map(\.specKey)
        if let bad = knobDefaults.keys.sorted().first(where: { !knobKeys.contains($0) }) {
            throw HarnessError.badInput("\(context): knob_defaults.\(bad) is not a mechanism knob; valid: \(knobKeys.joined(separator: ", "))")
        }
        let profilesObject = try field("profiles", [String: Any].self)
        var profiles: [Profile: ProfileSpec] = [:]
        for (key, value) in profilesObject {
            let profile: Profile
            do { profile = try Profile.parse(key) } catch { throw HarnessError.badInput("\(path): profiles: \(error)") }
            let at = "\(context): profiles.\(key)"
            guard let p = value as? [String: Any] else { throw HarnessError.badInput("\(at) must be an object") }
            let knownP: Set = ["variants", "set", "cells", "knobs", "seeds", "lr_grid"]
            if let extra = p.keys.sorted().first(where: { !knownP.contains($0) }) {
                throw HarnessError.badInput("\(at): unknown field '\(extra)'; valid: \(knownP.sorted().joined(separator: ", "))")
            }
            let variants = try variantList(p["variants"] ?? ["all"], kind: kind, at: "\(at).variants")
            let set = try parameters(p["set"] ?? [String: Any](), kind: kind, at: "\(at).set")
            var cells: [Parameters] = [[:]]
            if let raw = p["cells"] {
                guard let list = raw as? [Any], !list.isEmpty else { throw HarnessError.badInput("\(at).cells must be a non-empty list of objects") }
                cells = try list.enumerated().map { try parameters($0.element, kind: kind, at: "\(at).cells[\($0.offset)]") }
            }
            var knobs: [String: [Parameters]] = [:]
            if let raw = p["knobs"] {
                guard let dict = raw as? [String: Any] else { throw HarnessError.badInput("\(at).knobs must be an object of variant → list of parameters") }
                for (v, list) in dict {
                    try checkVariantKey(v, kind: kind, at: "\(at).knobs")
                    guard let items = list as? [Any], !items.isEmpty else { throw HarnessError.badInput("\(at).knobs.\(v) must be a non-empty list") }
                    knobs[v] = try items.enumerated().map { try parameters($0.element, kind: kind, at: "\(at).knobs.\(v)[\($0.offset)]") }
                }
            }
            let seedsRaw = p["seeds"] ?? [0]
            guard let seedList = seedsRaw as? [Any], !seedList.isEmpty else { throw HarnessError.badInput("\(at).seeds must be a non-empty list of integers") }
            let seeds = try seedList.map { s -> Int in
                guard let n = s as? NSNumber, let i = Int(exactly: n.doubleValue), i >= 0 else {
                    throw HarnessError.badInput("\(at).seeds: '\(s)' is not a non-negative integer")
                }
                return i
            }
            guard Set(seeds).count == seeds.count else { throw HarnessError.badInput("\(at).seeds lists a seed twice: \(seeds)") }
            var lrGrid: [String]?
            if let raw = p["lr_grid"] {
                guard kind.parameterNames.contains(LearningRateChoice.gridParameter) else {
                    throw HarnessError.badInput("\(at).lr_grid: kind \(kind.rawValue) trains nothing; lr_grid applies to: train")
                }
                guard let list = raw as? [Any], !list.isEmpty else { throw HarnessError.badInput("\(at).lr_grid must be a non-empty list of learning rates") }
                lrGrid = try list.enumerated().map { item -> String in
                    let text = try text(item.element, at: "\(at).lr_grid[\(item.offset)]")
                    guard let v = Double(text), v > 0, v.isFinite else {
                        throw HarnessError.badInput("\(at).lr_grid[\(item.offset)] = \(text): a learning rate must be a positive number")
                    }
                    return text
                }
                guard Set(lrGrid!).count == lrGrid!.count else { throw HarnessError.badInput("\(at).lr_grid lists a learning rate twice: \(lrGrid!)") }
                for (name, params) in [("set", set)] + cells.map({ ("cells", $0) }) + knobs.values.flatMap({ $0 }).map({ ("knobs", $0) })
                where params["lr"] != nil {
                    throw HarnessError.badInput("\(at).\(name) sets lr = \(params["lr"]!), but lr_grid chooses the learning rate; remove one of them")
                }
            }
            profiles[profile] = ProfileSpec(variants: variants, set: set, cells: cells, knobs: knobs, seeds: seeds, lrGrid: lrGrid)
        }
        for profile in Profile.allCases where profiles[profile] == nil {
            throw HarnessError.badInput("\(path): profiles.\(profile.rawValue) is missing; every spec defines \(Profile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var spec = ExperimentSpec(name: name, version: version, kind: kind, description: description, base: base,
                                  variantBase: variantBase, profiles: profiles, path: path)
        spec.knobDefaults = knobDefaults
        // Expanding every profile validates the merged parameters of every run up front.
        for profile in Profile.allCases { _ = try spec.runs(profile: profile) }
        return spec
    }

    /// Every run of a profile, in a fixed order (variants, cells, knobs, seeds as written).
    public func runs(profile: Profile, variants filter: [String]? = nil) throws -> [RunSpec] {
        guard let p = profiles[profile] else { return [] }
        var variants = try kind.expandVariants(p.variants, spec: self)
        if let filter {
            for v in filter where !variants.contains(v) {
                throw HarnessError.badInput("\(name) (\(profile.rawValue)) has no variant '\(v)'; valid: \(variants.joined(separator: ", "))")
            }
            variants = variants.filter(filter.contains)
        }
        var runs: [RunSpec] = []
        for v in variants {
            for cell in p.cells {
                for knob in p.knobs[v] ?? [[:]] {
                    var params = base
                    params.merge(variantBase[v] ?? [:]) { $1 }
                    params.merge(p.set) { $1 }
                    params.merge(cell) { $1 }
                    params.merge(knob) { $1 }
                    for k in Variant(rawValue: v)?.knobs ?? [] where params[k.specKey] == nil { params[k.specKey] = knobDefaults[k.specKey] }
                    // The key's readable part: what this run's cell and knob set, in column order.
                    let swept = kind.parameterNames.filter { cell[$0] != nil || knob[$0] != nil || ($0 == "lr" && p.lrGrid != nil) }
                    guard let grid = p.lrGrid else {
                        for seed in p.seeds {
                            runs.append(RunSpec(experiment: name, variant: v, parameters: params, seed: seed, swept: swept, specVersion: version))
                        }
                        continue
                    }
                    // The grid at the first seed, then the other seeds at the grid's choice.
                    for lr in grid {
                        var gridParams = params
                        gridParams["lr"] = lr
                        runs.append(RunSpec(experiment: name, variant: v, parameters: gridParams, seed: p.seeds[0], swept: swept, specVersion: version))
                    }
                    for seed in p.seeds.dropFirst() {
                        runs.append(RunSpec(experiment: name, variant: v, parameters: LearningRateChoice.selectedParameters(params, grid: grid, seed: p.seeds[0]),
                                            seed: seed, swept: swept, specVersion: version))
                    }
                }
            }
        }
        for run in runs { try kind.validate(run) }
        let keys = runs.map(\.key)
        if Set(keys).count != keys.count {
            let dup = Dictionary(grouping: keys, by: { $0 }).first { $0.value.count > 1 }!.key
            throw HarnessError.badInput("\(path): profile \(profile.rawValue) lists the same run twice (\(dup))")
        }
        return runs
    }

    /// A variant named as a key of variant_base or knobs: a HarnessError naming the file and the valid ids.
    private static func checkVariantKey(_ v: String, kind: ExperimentKind, at: String) throws {
        guard kind.acceptsVariant(v) else {
            throw HarnessError.badInput("\(at): unknown variant '\(v)'; valid: \(kind.validVariants.joined(separator: ", "))")
        }
    }

    private static func variantList(_ raw: Any, kind: ExperimentKind, at: String) throws -> [String] {
        guard let list = raw as? [String], !list.isEmpty else { throw HarnessError.badInput("\(at) must be a non-empty list of variant ids or \"all\"") }
        for v in list where v != "all" && !kind.acceptsVariant(v) {
            throw HarnessError.badInput("\(at): unknown variant '\(v)'; valid: all, \(kind.validVariants.joined(separator: ", "))")
        }
        return list
    }

    private static func parameters(_ raw: Any, kind: ExperimentKind, at: String) throws -> Parameters {
        guard let dict = raw as? [String: Any] else { throw HarnessError.badInput("\(at) must be an object of parameter → value") }
        var out: Parameters = [:]
        for (key, value) in dict {
            guard kind.parameterNames.contains(key) else {
                throw HarnessError.badInput("\(at): unknown parameter '\(key)' for kind \(kind.rawValue); valid: \(kind.parameterNames.joined(separator: ", "))")
            }
            out[key] = try text(value, at: "\(at).\(key)")
        }
        return out
    }

    /// A JSON scalar as the text it will carry in keys and CSV cells.
    static func text(_ value: Any, at: String) throws -> String {
        if let s = value as? String { return s }
        if let n = value as? NSNumber {
            // JSONSerialization gives booleans as NSNumber too: tell them apart by type.
            if String(cString: n.objCType) == "c" { return n.boolValue ? "true" : "false" }
            let d = n.doubleValue
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        }
        throw HarnessError.badInput("\(at): value \(value) must be a number, a string or a boolean")
    }
}
