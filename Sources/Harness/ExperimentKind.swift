// The registry of measurement kinds: what one run of an experiment does. A spec in
// experiments/ picks a kind and sweeps its parameters; the kind validates a run's
// parameters before anything runs and executes one run into measurements.

import Attention
import Foundation
import Training

/// One measured value of a run.
public struct Measurement: Sendable, Equatable {
    public var metric: String
    public var value: Double
    public var unit: String
    /// Where inside the run it was measured (e.g. "distance" → "17", "step" → "400");
    /// keys are the kind's `pointColumns`.
    public var point: [String: String]

    public init(_ metric: String, _ value: Double, _ unit: String, at point: [String: String] = [:]) {
        self.metric = metric; self.value = value; self.unit = unit; self.point = point
    }
}

/// What a run may use besides its parameters.
public struct RunContext {
    /// Directory the spec's relative paths (configs/models) are resolved against.
    public var root: String
    public var progress: ProgressSink
    /// Another run's measurements if it has finished (nil: not yet): a run at the learning
    /// rate chosen from a grid reads the grid's results here.
    public var finished: (RunSpec) throws -> [Measurement]?
    /// The other runs of the learning-rate grid this run belongs to (empty when it belongs
    /// to none): a grid run stops once one of them has won the choice against it.
    public var gridRivals: [RunSpec]
    public init(root: String, progress: ProgressSink, finished: @escaping (RunSpec) throws -> [Measurement]? = { _ in nil },
                gridRivals: [RunSpec] = []) {
        self.root = root; self.progress = progress; self.finished = finished; self.gridRivals = gridRivals
    }
}

public enum ExperimentKind: String, CaseIterable, Sendable {
    case kvCacheModels = "kv-cache-models"
    case kvCacheScaling = "kv-cache-scaling"
    case prefill
    case decode
    case train
    case throughput
    case cachePolicies = "cache-policies"

    /// Timed kinds never share the machine with another run (see RunLock).
    public var timed: Bool {
        switch self {
        case .prefill, .decode, .throughput: return true
        case .kvCacheModels, .kvCacheScaling, .train, .cachePolicies: return false
        }
    }

    /// Every parameter a spec may set, in CSV column order.
    public var parameterNames: [String] {
        switch self {
        case .kvCacheModels: return ["models_dir", "bytes_per_element", "contexts"]
        case .kvCacheScaling: return ["context", "layers", "max_measured_bytes"]
        case .prefill: return ["tokens", "mla_path", "repeats", "threads"]
        case .decode: return ["context", "mla_path", "samples", "threads"]
        case .train: return TrainingExperiment.parameterNames
        case .throughput: return TrainingExperiment.parameterNames + ThroughputExperiment.extraParameters
        case .cachePolicies: return TrainingExperiment.parameterNames + CachePolicyExperiment.extraParameters
        }
    }

    /// Columns saying where inside a run a value was measured.
    public var pointColumns: [String] {
        switch self {
        case .kvCacheModels: return ["layer_kind", "context"]
        case .train: return ["step", "distance"]
        case .throughput: return ["phase"]
        case .cachePolicies: return CachePolicyExperiment.pointColumns
        case .kvCacheScaling, .prefill, .decode: return []
        }
    }

    public var validVariants: [String] {
        switch self {
        case .kvCacheModels: return ["one file name under models_dir, without .json"]
        default: return Variant.allCases.map(\.rawValue)
        }
    }

    func acceptsVariant(_ v: String) -> Bool {
        switch self {
        case .kvCacheModels: return !v.isEmpty && !v.contains("/")
        default: return Variant(rawValue: v) != nil
        }
    }

    /// "all" is every registered mechanism (or every model file), so a new mechanism adds shards.
    func expandVariants(_ list: [String], spec: ExperimentSpec) throws -> [String] {
        var out: [String] = []
        for v in list {
            if v == "all" {
                switch self {
                case .kvCacheModels: out += try KVCacheModelsExperiment.modelNames(spec: spec)
                default: out += Variant.allCases.map(\.rawValue)
                }
            } else {
                out.append(v)
            }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// A rough relative cost, to run cheap runs first: for training, tokens × width over the
    /// step budget; other kinds keep the spec's order.
    func estimatedCost(_ run: RunSpec) -> Double {
        switch self {
        case .train, .throughput, .cachePolicies:
            let p = run.parameters
            func n(_ name: String) -> Double { p[name].flatMap(Double.init) ?? 1 }
            return n("steps") * n("batch") * n("seq_len") * n("d_model")
        case .kvCacheModels, .kvCacheScaling, .prefill, .decode:
            return 0
        }
    }

    /// Checks a run's merged parameters before anything runs.
    func validate(_ run: RunSpec) throws {
        do {
            switch self {
            case .kvCacheModels: try KVCacheModelsExperiment.validate(run)
            case .kvCacheScaling: try KVCacheScalingExperiment.validate(run)
            case .prefill: try PrefillExperiment.validate(run)
            case .decode: try DecodeExperiment.validate(run)
            case .train: _ = try TrainingExperiment.recipe(run)
            case .throughput: try ThroughputExperiment.validate(run)
            case .cachePolicies: try CachePolicyExperiment.validate(run)
            }
        } catch let error as HarnessError {
            throw HarnessError.badInput("\(run.experiment), run \(run.key): \(error.description)")
        } catch {
            throw HarnessError.badInput("\(run.experiment), run \(run.key): \(error)")
        }
    }

    func execute(_ run: RunSpec, context: RunContext) throws -> [Measurement] {
        switch self {
        case .kvCacheModels: return try KVCacheModelsExperiment.execute(run, context: context)
        case .kvCacheScaling: return try KVCacheScalingExperiment.execute(run)
        case .prefill: return try PrefillExperiment.execute(run)
        case .decode: return try DecodeExperiment.execute(run)
        case .train: return try TrainingExperiment.execute(run, context: context)
        case .throughput: return try ThroughputExperiment.execute(run, context: context)
        case .cachePolicies: return try CachePolicyExperiment.execute(run, context: context)
        }
    }
}

/// Checks that every parameter a kind requires is present and in range.
func require(_ run: RunSpec, _ name: String, atLeast minimum: Int) throws -> Int {
    let v = try run.int(name)
    guard v >= minimum else { throw HarnessError.badInput("\(name) = \(v): must be at least \(minimum)") }
    return v
}

/// MLA's inference path for an mla run ("naive" or "absorbed"); nil for other mechanisms.
func mlaPath(_ run: RunSpec) throws -> MLAPath? {
    let text = run.parameters["mla_path"]
    guard run.variant == Variant.mla.rawValue else {
        if let text, !text.isEmpty { throw HarnessError.badInput("mla_path = \(text) applies only to mla, not \(run.variant)") }
        return nil
    }
    guard let text else { return .naive }
    guard let path = MLAPath(rawValue: text) else {
        throw HarnessError.badInput("mla_path = '\(text)'; valid: \(MLAPath.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return path
}
