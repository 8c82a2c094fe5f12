// How a model is trained: AdamW with warm-up and cosine decay, clipping, a batch
// stream, periodic evaluation on a fixed validation set, stopping rules, and a final
// evaluation on a disjoint test set (the accuracy a result reports).

public struct TrainConfig: Codable, Sendable, Equatable {
    /// The defaults of `attnlab train`: chosen so that the default model (width 64, one
    /// head, 2 layers) reaches 99 % on zoology's (64, 4) and (128, 8) MQAR cells at
    /// vocabulary 8192 (checked by scripts/check-defaults.sh, output in results/bench/defaults.csv).
    public static let defaultLearningRate: Float = 3e-3
    public static let defaultSteps = 5000

    public var batchSize = 64
    /// Step budget (also the length of the cosine schedule).
    public var maxSteps = TrainConfig.defaultSteps
    /// A step budget so large that only the time budget or the target ends the run
    /// (`attnlab train --max-minutes` without `--max-steps`); pair it with a constant
    /// learning rate after warm-up (finalLearningRateRatio = 1), since a cosine over it
    /// would never decay.
    public static let unboundedSteps = 1 << 40
    public var learningRate: Float = TrainConfig.defaultLearningRate
    /// The cosine decays to learningRate · finalLearningRateRatio.
    public var finalLearningRateRatio: Float = 0.1
    public var warmupSteps = 100
    public var weightDecay: Float = 0.1
    public var gradClip: Float = 1.0
    /// Evaluate every this many steps (and at the end).
    public var evalEvery = 100
    /// Size of the fixed validation set (early stopping and learning-rate choice).
    public var evalExamples = 512
    /// Size of the fixed test set, evaluated once at the end (0: none).
    public var testExamples = 1000
    /// Stop once evaluation accuracy reaches this (nil: never stop early).
    public var targetAccuracy: Double? = 0.99
    /// Wall-time budget in seconds (nil: none).
    public var maxSeconds: Double? = nil
    /// Seeds the model initialisation, the training stream and (disjointly) the evaluation set.
    public var seed: UInt64 = 0
    /// The first this many steps draw their batches from the task's training cue, an easier
    /// layout of it (`SyntheticTask.trainingCue`); 0: none.
    public var cueSteps: Int {
        get { cue ?? 0 }
        set { cue = newValue == 0 ? nil : newValue }
    }
    /// cueSteps, stored as an optional so that a config without a cue encodes as it did
    /// before cues existed: older checkpoints still decode and resume.
    private var cue: Int?

    public init() {}

    public func validate() throws {
        func bad(_ field: String, _ value: Any, _ reason: String) -> TrainingError {
            .invalidConfig("\(field) = \(value): \(reason)")
        }
        if batchSize < 1 { throw bad("batch-size", batchSize, "must be at least 1") }
        if maxSteps < 1 { throw bad("max-steps", maxSteps, "must be at least 1") }
        if !(learningRate > 0) || !learningRate.isFinite { throw bad("lr", learningRate, "must be a positive number") }
        if !(0...1).contains(finalLearningRateRatio) { throw bad("final-lr-ratio", finalLearningRateRatio, "must be in 0...1") }
        if warmupSteps < 0 || warmupSteps > maxSteps { throw bad("warmup", warmupSteps, "must be in 0...\(maxSteps) (max-steps)") }
        if !(weightDecay >= 0) || !weightDecay.isFinite { throw bad("weight-decay", weightDecay, "must be a finite number ≥ 0") }
        if !(gradClip > 0) { throw bad("grad-clip", gradClip, "must be positive") }
        if evalEvery < 1 { throw bad("eval-every", evalEvery, "must be at least 1") }
        if evalExamples < 1 { throw bad("eval-examples", evalExamples, "must be at least 1") }
        if testExamples < 0 { throw bad("test-examples", testExamples, "must be at least 0 (0: no test set)") }
        if let t = targetAccuracy, !(0...1).contains(t) { throw bad("target-accuracy", t, "must be in 0...1") }
        if let s = maxSeconds, !(s > 0) { throw bad("max-minutes", s / 60, "must be positive") }
        if cueSteps < 0 || cueSteps > maxSteps { throw bad("cue-steps", cueSteps, "must be in 0...\(maxSteps) (max-steps)") }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    /// A NaN or ±∞ in the loss or a gradient: the run stops and writes no result.
    case nonFinite(step: Int, tensor: String)
    case checkpointMismatch(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid training config: \(m)"
        case .nonFinite(let step, let tensor): return "non-finite value at step \(step) in \(tensor); stopping without writing results"
        case .checkpointMismatch(let m): return "cannot resume: \(m)"
        }
    }
}
