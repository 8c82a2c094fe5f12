// The training loop: one seeded stream of batches, AdamW with warm-up and cosine
// decay, global-norm clipping, evaluation on a fixed validation set, early stop at a
// target accuracy, step and wall-time budgets, a NaN/Inf guard, checkpoints that
// resume bit-identically (same thread count), a training curve, and at the end one
// evaluation on a disjoint test set: validation chooses (when to stop, which learning
// rate), the test set reports.

import Foundation
import Models
import NN
import Tasks
import TensorCore

/// One row of the training curve, written at every evaluation.
public struct CurvePoint: Codable, Sendable, Equatable {
    public var step: Int
    /// Mean training loss over the steps since the previous point.
    public var loss: Double
    public var evalAccuracy: Double
    public var elapsedSeconds: Double
}

public enum StopReason: String, Codable, Sendable {
    case targetAccuracy = "target-accuracy", maxSteps = "max-steps", maxTime = "max-time"
    /// The caller's `stopRule` ended the run at an evaluation.
    case stopRule = "stop-rule"
}

public struct TrainResult: Sendable {
    public var steps: Int
    /// Validation accuracy where the run stopped.
    public var finalAccuracy: Double
    /// Best validation accuracy over the curve.
    public var bestAccuracy: Double
    /// Test-set accuracy of the final model (nil when testExamples is 0).
    public var testAccuracy: Double?
    /// The first evaluation step at which validation accuracy reached the target (nil: never).
    public var stepsToTarget: Int?
    public var seconds: Double
    /// Training tokens (batch × sequence length per step) per second of training.
    public var tokensPerSecond: Double
    public var stopReason: StopReason
    public var curve: [CurvePoint]
}

public final class Trainer {
    public let model: TransformerLM
    public let task: any SyntheticTask
    public let config: TrainConfig
    public let optimizer: AdamW
    public let schedule: WarmupCosine
    let evaluationBatch: TaskBatch
    /// Built when first needed (the end of a run): it can be large and no step uses it.
    lazy var testBatch: TaskBatch? = config.testExamples > 0 ? Self.testSet(of: task, examples: config.testExamples, seed: config.seed) : nil
    var trainStream: Xoshiro256StarStar
    public internal(set) var step = 0
    public internal(set) var curve: [CurvePoint] = []
    /// Seconds spent in earlier sessions of a resumed run.
    var elapsedBefore: Double = 0
    /// Training loss since the last curve point.
    var lossSum: Double = 0, lossSteps = 0
    /// Asked at each evaluation that did not reach the target, with the step: true ends the
    /// run there (StopReason.stopRule). The harness ends a learning-rate grid run with it once
    /// the run can no longer be the grid's choice.
    public var stopRule: ((_ step: Int) throws -> Bool)?

    /// A fresh run: the model is initialised from `config.seed`.
    public init(modelConfig: ModelConfig, task: any SyntheticTask, config: TrainConfig) throws {
        try config.validate()
        if config.cueSteps > 0 && task.trainingCue == nil {
            throw TrainingError.invalidConfig("cue-steps = \(config.cueSteps): the \(task.id.rawValue) task has no training cue")
        }
        guard modelConfig.vocabSize >= task.vocabSize else {
            throw TrainingError.invalidConfig("vocab = \(modelConfig.vocabSize): the \(task.id.rawValue) task needs at least \(task.vocabSize)")
        }
        var initRNG = Xoshiro256StarStar(seed: config.seed)
        model = try TransformerLM(config: modelConfig, rng: &initRNG)
        self.task = task
        self.config = config
        let named = model.namedParameters
        // No weight decay on gains (RMSNorm) — vectors, as is usual.
        optimizer = AdamW(parameters: named.map(\.tensor),
                          hyper: .init(weightDecay: config.weightDecay),
                          noDecay: Set(named.indices.filter { named[$0].tensor.rank == 1 }))
        schedule = WarmupCosine(peak: config.learningRate, floor: config.learningRate * config.finalLearningRateRatio,
                                warmupSteps: config.warmupSteps, totalSteps: config.maxSteps)
        let streams = TaskStreams(seed: config.seed)
        trainStream = streams.train
        let heldOut = task.heldOut
        evaluationBatch = evaluationSet(heldOut, examples: config.evalExamples, seed: config.seed)
    }

    /// One optimisation step; returns the training loss.
    @discardableResult
    public func trainStep() throws -> Float {
        let source = step < config.cueSteps ? task.trainingCue ?? task : task
        let batch = source.batch(size: config.batchSize, rng: &trainStream)
        model.zeroGrad()
        let (loss, _, _) = model.loss(ids: batch.inputs, targets: batch.targets, batch: batch.batch, length: batch.length,
                                      predictions: false)
        guard loss.item().isFinite else { throw TrainingError.nonFinite(step: step + 1, tensor: "loss") }
        loss.backward()
        for (name, p) in model.namedParameters {
            if let g = p.grad, !g.withUnsafeBufferPointer({ allFinite($0) }) {
                throw TrainingError.nonFinite(step: step + 1, tensor: "gradient of \(name)")
            }
        }
        clipGradNorm(model.parameters, maxNorm: config.gradClip)
        optimizer.update(lr: schedule.learningRate(step: step))
        for (name, p) in model.namedParameters where !p.data.withUnsafeBufferPointer({ allFinite($0) }) {
            throw TrainingError.nonFinite(step: step + 1, tensor: "\(name) after the update")
        }
        step += 1
        lossSum += Double(loss.item())
        lossSteps += 1
        return loss.item()
    }

    /// Exact-match accuracy and mean loss on the fixed validation set.
    public func evaluate() -> (accuracy: Double, loss: Double) { evaluate(on: evaluationBatch) }

    /// The test set, from the task's held-out form (no training cue).
    static func testSet(of task: any SyntheticTask, examples: Int, seed: UInt64) -> TaskBatch {
        let heldOut = task.heldOut
        return Tasks.testSet(heldOut, examples: examples, seed: seed)
    }

    /// Exact-match accuracy on the fixed test set (nil when the config has none).
    public func evaluateTest() -> Double? { testBatch.map { evaluate(on: $0).accuracy } }

    /// Exact-match accuracy and mean loss over the scored positions of `batch`.
    public func evaluate(on batch: TaskBatch) -> (accuracy: Double, loss: Double) {
        var correct = 0, total = 0
        var lossTotal: Double = 0
        Autograd.inference {
            for chunk in batch.chunks(ofSize: 256) {
                let (loss, predictions, targets) = model.loss(ids: chunk.inputs, targets: chunk.targets,
                                                              batch: chunk.batch, length: chunk.length)
                let (c, n) = accuracy(predictions: predictions, targets: targets)
                correct += c
                total += n
                lossTotal += Double(loss.item()) * Double(n)
            }
        }
        return (total > 0 ? Double(correct) / Double(total) : 0, total > 0 ? lossTotal / Double(total) : 0)
    }

    /// Trains until the target accuracy, the step budget or the time budget. With
    /// `checkpointPath`, saves a checkpoint at every evaluation (and resumes from it
    /// if it exists). `curvePath` receives the training curve as CSV at the end.
    public func run(progress: ProgressSink = SilentProgress(), checkpointPath: String? = nil,
                    curvePath: String? = nil) throws -> TrainResult {
        if let checkpointPath, FileManager.default.fileExists(atPath: checkpointPath) {
            try resume(from: checkpointPath)
            progress.message("resumed from \(checkpointPath) at step \(step)")
        }
        let start = Date()
        func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(start) }
        let tokensPerStep = Double(config.batchSize * task.sequenceLength)
        var trainingSeconds = 0.0, trainedSteps = 0
        var lastAccuracy = curve.last?.evalAccuracy
        var stop: StopReason?
        if let last = lastAccuracy, let target = config.targetAccuracy, last >= target { stop = .targetAccuracy }
        if stop == nil && step >= config.maxSteps { stop = .maxSteps }
        // The time budget counts every session of a run: a resumed run that has used it up stops.
        if stop == nil, let limit = config.maxSeconds, elapsedBefore >= limit { stop = .maxTime }
        while stop == nil {
            let t0 = Date()
            let loss = try trainStep()
            trainingSeconds += Date().timeIntervalSince(t0)
            trainedSteps += 1
            if step % config.evalEvery == 0 || step == config.maxSteps {
                let (acc, _) = evaluate()
                lastAccuracy = acc
                curve.append(CurvePoint(step: step, loss: lossSum / Double(max(lossSteps, 1)), evalAccuracy: acc, elapsedSeconds: elapsed()))
                lossSum = 0; lossSteps = 0
                if let checkpointPath { try saveCheckpoint(to: checkpointPath, elapsed: elapsed()) }
                if let target = config.targetAccuracy, acc >= target {
                    stop = .targetAccuracy
                } else if let stopRule, try stopRule(step) {
                    stop = .stopRule
                }
            }
            if stop == nil && step >= config.maxSteps { stop = .maxSteps }
            if stop == nil, let limit = config.maxSeconds, elapsed() >= limit { stop = .maxTime }
            progress.update(ProgressState(step: step, totalSteps: config.maxSteps, loss: loss, accuracy: lastAccuracy,
                                          tokensPerSecond: trainedSteps > 0 ? tokensPerStep * Double(trainedSteps) / trainingSeconds : 0,
                                          elapsedSeconds: elapsed(), budgetSeconds: config.maxSeconds))
        }
        progress.finish()
        if curve.last?.step != step {
            // Stopped between evaluations (time budget): evaluate where it stopped.
            let (acc, _) = evaluate()
            curve.append(CurvePoint(step: step, loss: lossSum / Double(max(lossSteps, 1)), evalAccuracy: acc, elapsedSeconds: elapsed()))
            lossSum = 0; lossSteps = 0
            if let checkpointPath { try saveCheckpoint(to: checkpointPath, elapsed: elapsed()) }
        }
        if let curvePath { try writeCurve(to: curvePath) }
        let reached = config.targetAccuracy.flatMap { target in curve.first { $0.evalAccuracy >= target }?.step }
        return TrainResult(steps: step, finalAccuracy: curve.last?.evalAccuracy ?? 0,
                           bestAccuracy: curve.map(\.evalAccuracy).max() ?? 0,
                           testAccuracy: evaluateTest(), stepsToTarget: reached, seconds: elapsed(),
                           tokensPerSecond: trainedSteps > 0 ? tokensPerStep * Double(trainedSteps) / trainingSeconds : 0,
                           stopReason: stop!, curve: curve)
    }

    public func writeCurve(to path: String) throws {
        let rows = curve.map { p in
            [String(p.step), String(format: "%.6f", p.loss), String(format: "%.6f", p.evalAccuracy), String(format: "%.3f", p.elapsedSeconds)]
        }
        try AtomicFile.write(CSVTable.render(header: ["step", "loss", "eval_accuracy", "elapsed_seconds"], rows: rows), to: path)
    }
}

/// Whether every value is finite (one vectorised pass; the checks run over every gradient
/// and parameter each step).
private func allFinite(_ x: UnsafeBufferPointer<Float>) -> Bool {
    x.isEmpty || VectorMath.allFinite(x.baseAddress!, count: x.count)
}
