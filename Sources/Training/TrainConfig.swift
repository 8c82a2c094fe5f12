// How a model is trained: AdamW with warm-up and cosine decay, clipping, a batch
// stream, periodic evaluation on a fixed held-out set, and stopping rules.

public struct TrainConfig: Codable, Sendable, Equatable {
    public var batchSize = 64
    /// Step budget (also the length of the cosine schedule).
    public var maxSteps = 2000
    public var learningRate: Float = 1e-3
    /// The cosine decays to learningRate · finalLearningRateRatio.
    public var finalLearningRateRatio: Float = 0.1
    public var warmupSteps = 100
    public var weightDecay: Float = 0.1
    public var gradClip: Float = 1.0
    /// Evaluate every this many steps (and at the end).
    public var evalEvery = 100
    /// Size of the fixed held-out evaluation set.
    public var evalExamples = 512
    /// Stop once evaluation accuracy reaches this (nil: never stop early).
    public var targetAccuracy: Double? = 0.99
    /// Wall-time budget in seconds (nil: none).
    public var maxSeconds: Double? = nil
    /// Seeds the model initialisation, the training stream and (disjointly) the evaluation set.
    public var seed: UInt64 = 0

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
        if let t = targetAccuracy, !(0...1).contains(t) { throw bad("target-accuracy", t, "must be in 0...1") }
        if let s = maxSeconds, !(s > 0) { throw bad("max-minutes", s / 60, "must be positive") }
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
