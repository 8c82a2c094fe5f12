// One training run fully described: the task, the model around one mechanism, and the
// optimiser settings. `attnlab train` builds it from flags and the training experiments
// from spec parameters, so both validate the same way.

import Attention
import Foundation
import Models
import Tasks
import TensorCore
import Training

public struct TrainingRecipe: Sendable, Equatable {
    public var variant: Variant
    public var task: TaskKind = .mqar
    public var seqLen = 64
    public var kvPairs = 4
    public var vocab = 8192
    public var alpha = 0.01
    /// Passkey and multikey-needle: one fixed distance, or nil to draw every valid distance.
    public var distance: Int?
    public var dataTokens = 16
    /// Multikey-needle: K needles; nil is `defaultNeedles`, and a value given to another task is an error.
    public var needles: Int?
    /// Multikey-needle: Q distinct needles asked at the end (nil: 1, RULER's single question).
    public var questions: Int?
    public var dModel = 64
    public var layers = 2
    public var heads = 1
    public var headDim: Int?
    /// The mechanism knobs given (kv heads, window, latent width, ...); the others keep
    /// `AttentionConfig`'s defaults.
    public var knobValues: [Knob: Int] = [:]
    public var kvHeads: Int? { get { knobValues[.kvHeads] } set { knobValues[.kvHeads] = newValue } }
    public var window: Int? { get { knobValues[.window] } set { knobValues[.window] = newValue } }
    public var latent: Int? { get { knobValues[.latent] } set { knobValues[.latent] = newValue } }
    public var ropeDim: Int? { get { knobValues[.ropeDim] } set { knobValues[.ropeDim] = newValue } }
    public var featureDim: Int? { get { knobValues[.featureDim] } set { knobValues[.featureDim] = newValue } }
    public var mlp = 0
    public var tied = false
    public var train = TrainConfig()

    public init(variant: Variant) { self.variant = variant }

    /// The mechanisms that take each knob, from the registry; a knob given to another
    /// mechanism is an error, not silently ignored, so a sweep cannot mislabel what it measured.
    public static var knobOwners: [(knob: Knob, owners: Set<Variant>)] {
        Knob.allCases.map { k in (k, Set(Variant.allCases.filter { $0.knobs.contains(k) })) }
    }

    /// The task knobs that have no meaning for other tasks, checked like `knobOwners`.
    public static let taskKnobOwners: [(name: String, owners: Set<TaskKind>)] = [
        ("--needles", [.multikeyNeedle]), ("--questions", [.multikeyNeedle]),
    ]

    /// K of a multikey-needle task when `needles` is not given.
    public static let defaultNeedles = 4

    func givenKnobs() -> [Knob] { Knob.allCases.filter { knobValues[$0] != nil } }

    func givenTaskKnobs() -> [String] {
        (needles != nil ? ["--needles"] : []) + (questions != nil ? ["--questions"] : [])
    }

    /// Messages name the command-line flags (`--kv-heads`); in a spec the same knob is `kv_heads`.
    public func validate() throws {
        func bad(_ m: String) -> HarnessError { .badInput(m) }
        guard heads >= 1, dModel >= 1 else { throw bad("--heads \(heads) and --d-model \(dModel) must be at least 1") }
        // Checked before any task or model config is built from them: a layer list, or a
        // task's tables over the positions, would otherwise be built first.
        guard (1...ModelConfig.maxLayers).contains(layers) else {
            throw bad("--layers \(layers) is invalid: use 1...\(ModelConfig.maxLayers)")
        }
        for (flag, value, limit) in sizeLimits where value > limit {
            throw bad("\(flag) \(value) is too large: at most \(limit)")
        }
        for knob in givenKnobs() where !variant.knobs.contains(knob) {
            let owners = Variant.allCases.filter { $0.knobs.contains(knob) }.map(\.rawValue)
            throw bad("\(knob.flag) does not apply to \(variant.rawValue); it applies to: \(owners.isEmpty ? "none" : owners.joined(separator: ", "))")
        }
        for knob in givenTaskKnobs() {
            let owners = Self.taskKnobOwners.first { $0.name == knob }!.owners
            if !owners.contains(task) {
                throw bad("\(knob) does not apply to task \(task.rawValue); it applies to: \(owners.map(\.rawValue).sorted().joined(separator: ", "))")
            }
        }
        do { try variant.descriptor.validateForTraining(modelConfig().attention, given: Set(givenKnobs())) }
        catch let e as AttentionConfigError { throw bad(e.reason) }
        if headDim == nil && dModel % heads != 0 {
            throw bad("--d-model \(dModel) is not divisible by --heads \(heads); give --head-dim")
        }
        try train.validate()
        let task = try makeTask()
        if train.cueSteps > 0 && task.trainingCue == nil {
            let owners = TaskKind.allCases.filter { kind in
                var r = self
                r.task = kind
                return (try? r.makeTask())?.trainingCue != nil
            }
            throw bad("--cue-steps \(train.cueSteps) does not apply to task \(self.task.rawValue); it applies to: \(owners.map(\.rawValue).joined(separator: ", "))")
        }
        try modelConfig().validate()
    }

    /// Upper bounds on the sizes, far beyond what trains on a CPU (a 2^20-token sequence,
    /// a 2^24-token vocabulary) yet small enough that validating a run stays instant (the
    /// fuzzer found a spec with 2^38 positions that validation tried to build).
    static let maxSequenceLength = 1 << 20, maxVocab = 1 << 24, maxWidth = 1 << 16

    var sizeLimits: [(flag: String, value: Int, limit: Int)] {
        [("--seq-len", seqLen, Self.maxSequenceLength), ("--vocab", vocab, Self.maxVocab),
         ("--d-model", dModel, Self.maxWidth), ("--heads", heads, Self.maxWidth), ("--head-dim", headDim ?? 0, Self.maxWidth),
         ("--mlp", mlp, Self.maxVocab), ("--batch-size", train.batchSize, Self.maxSequenceLength)]
        + knobValues.map { ($0.key.flag, $0.value, Self.maxSequenceLength) }
    }

    public func makeTask() throws -> any SyntheticTask {
        switch task {
        case .mqar: return try MQARTask(vocabSize: vocab, sequenceLength: seqLen, kvPairs: kvPairs, alpha: alpha)
        case .passkey:
            if let distance { return try PasskeyTask(vocabSize: vocab, sequenceLength: seqLen, distance: distance) }
            return try PasskeyTask(vocabSize: vocab, sequenceLength: seqLen, distances: 1...max(1, seqLen - 2))
        case .copying: return try CopyingTask(vocabSize: vocab, sequenceLength: seqLen)
        case .selectiveCopying: return try SelectiveCopyingTask(vocabSize: vocab, sequenceLength: seqLen, dataTokens: dataTokens)
        case .multikeyNeedle:
            let k = needles ?? Self.defaultNeedles
            let q = questions ?? 1
            let ordered = MultiKeyNeedleTask.trainingOrderedFraction
            if let distance {
                return try MultiKeyNeedleTask(vocabSize: vocab, sequenceLength: seqLen, needles: k, questions: q, distance: distance, orderedFraction: ordered)
            }
            return try MultiKeyNeedleTask(vocabSize: vocab, sequenceLength: seqLen, needles: k, questions: q, orderedFraction: ordered)
        }
    }

    public func modelConfig() -> ModelConfig {
        let d = headDim ?? dModel / heads
        var attention = AttentionConfig(hiddenSize: dModel, numHeads: heads, headDim: d)
        for (knob, value) in knobValues { knob.set(value, in: &attention) }
        return ModelConfig(vocabSize: vocab, layers: layers, attention: attention, variant: variant,
                           mlpHidden: mlp, tiedEmbeddings: tied)
    }

    public func makeTrainer() throws -> Trainer {
        try validate()
        return try Trainer(modelConfig: modelConfig(), task: makeTask(), config: train)
    }

    /// Held-out accuracy at each of `evaluationDistances` over the task's valid distances,
    /// for a distance-controlled task (passkey, multikey-needle) trained over all of them;
    /// nil for other tasks and for a fixed `distance`. The examples come from their own
    /// stream, seeded from the training seed, so they do not move the evaluation set.
    public func accuracyByDistance(of trainer: Trainer, examples: Int) throws -> [(distance: Int, accuracy: Double)]? {
        guard distance == nil, let task = try makeTask() as? any DistanceControlledTask else { return nil }
        var rng = Xoshiro256StarStar(seed: train.seed ^ 0x6469_7374_616E_6365)  // "distance"
        var out: [(distance: Int, accuracy: Double)] = []
        for d in Self.evaluationDistances(in: task.validDistances) {
            let batch = try task.batch(size: examples, distance: d, rng: &rng)
            out.append((d, trainer.evaluate(on: batch).accuracy))
        }
        return out
    }

    /// Up to 16 distances spread over a range of valid distances, both ends included.
    public static func evaluationDistances(in range: ClosedRange<Int>, count: Int = 16) -> [Int] {
        let n = min(count, range.count)
        return Array(Set((0..<n).map { range.lowerBound + $0 * (range.count - 1) / max(n - 1, 1) })).sorted()
    }
}
