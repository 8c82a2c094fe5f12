import ArgumentParser
import Attention
import Foundation
import Harness
import Models
import Tasks
import TensorCore
import Training

/// `attnlab train`: one mechanism, one task, one seed.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a tiny model with one attention mechanism on a synthetic task.",
        discussion: "Prints the final accuracy, time, parameters and KV cache per token. With --checkpoint, an interrupted run resumes where it stopped."
    )

    @Option(help: "Mechanism id: \(Variant.allCases.map(\.rawValue).joined(separator: ", ")).") var variant: String
    @Option(help: "Task: \(TaskKind.allCases.map(\.rawValue).joined(separator: ", ")).") var task: String = "mqar"
    @Option(help: "Sequence length T.") var seqLen: Int = 64
    @Option(help: "MQAR key-value pairs.") var kvPairs: Int = 4
    @Option(help: "Vocabulary (the model's and the task's).") var vocab: Int = 8192
    @Option(help: "MQAR power-law exponent of the query gaps.") var alpha: Double = 0.01
    @Option(help: "Passkey, multikey-needle: one fixed distance (answer to the last position); default: all, drawn per example.") var distance: Int?
    @Option(help: "Selective copying: data tokens.") var dataTokens: Int = 16
    @Option(help: "Multikey-needle: key-value needles K (default \(TrainingRecipe.defaultNeedles)).") var needles: Int?
    @Option(help: "Multikey-needle: distinct needles asked at the end (default 1, RULER's single question).") var questions: Int?
    @Option(help: "Model width C.") var dModel: Int = 64
    @Option(help: "Number of layers.") var layers: Int = 2
    @Option(help: "Query heads H.") var heads: Int = 1
    @Option(help: "Key/value heads G (gqa, swa).") var kvHeads: Int?
    @Option(help: "Head dimension D (default C/H).") var headDim: Int?
    @Option(help: "Sliding window w (swa).") var window: Int?
    @Option(help: "MLA latent width d_c (default 4·D).") var latent: Int?
    @Option(help: "MLA RoPE key width d_h^R (default D/2).") var ropeDim: Int?
    @Option(help: "Linear attention feature width d_k (default D).") var featureDim: Int?
    @Option(help: "SwiGLU hidden width; 0 = no MLP.") var mlp: Int = 0
    @Flag(help: "Tie the LM head to the embedding.") var tied = false
    @Option(help: "Batch size.") var batchSize: Int = 64
    @Option(help: "Peak learning rate.") var lr: Float = TrainConfig.defaultLearningRate
    @Option(help: "Warm-up steps.") var warmup: Int = 100
    @Option(help: "Weight decay.") var weightDecay: Float = 0.1
    @Option(help: "Step budget and cosine length (default \(TrainConfig.defaultSteps); with --max-minutes alone, none: the time budget or the target ends the run, at a constant learning rate after warm-up).") var maxSteps: Int?
    @Option(help: "Wall-time budget in minutes.") var maxMinutes: Double?
    @Option(help: "Evaluate every this many steps.") var evalEvery: Int = 100
    @Option(help: "Validation examples (early stopping).") var evalExamples: Int = 512
    @Option(help: "Test examples, evaluated once at the end (0: none).") var testExamples: Int = 1000
    @Option(help: "Stop at this evaluation accuracy (0...1); 1 = train the whole budget.") var targetAccuracy: Double = 0.99
    @Option(help: "Steps at the start that train on the task's easier cue layout (multikey-needle: needles packed at the start); 0: none.") var cueSteps: Int = 0
    @Option(help: "Seed of initialisation and data.") var seed: UInt64 = 0
    @Option(help: "OpenBLAS threads.") var threads: Int?
    @Option(help: "Checkpoint file (safetensors): saved at every evaluation, resumed if present.") var checkpoint: String?
    @Option(help: "Training curve CSV (step, loss, eval_accuracy, elapsed_seconds).") var curve: String?

    /// The run as a recipe: the same validation as the training experiments.
    func recipe() throws -> TrainingRecipe {
        var r = TrainingRecipe(variant: try Variant.parse(variant))
        r.task = try TaskKind.parse(task)
        r.seqLen = seqLen; r.kvPairs = kvPairs; r.vocab = vocab; r.alpha = alpha; r.distance = distance
        r.dataTokens = dataTokens; r.needles = needles; r.questions = questions; r.dModel = dModel; r.layers = layers; r.heads = heads; r.kvHeads = kvHeads
        r.headDim = headDim; r.window = window; r.latent = latent; r.ropeDim = ropeDim; r.featureDim = featureDim
        r.mlp = mlp; r.tied = tied
        if !(0...1).contains(targetAccuracy) { throw ValidationError("--target-accuracy \(targetAccuracy) must be in 0...1") }
        var cfg = TrainConfig()
        cfg.batchSize = batchSize; cfg.learningRate = lr; cfg.warmupSteps = warmup; cfg.weightDecay = weightDecay
        cfg.maxSeconds = maxMinutes.map { $0 * 60 }
        if let maxSteps {
            cfg.maxSteps = maxSteps
        } else if maxMinutes != nil {
            // A time budget alone: no step budget ends the run minutes early, and the learning
            // rate stays at its peak after warm-up (a cosine needs a known length).
            cfg.maxSteps = TrainConfig.unboundedSteps
            cfg.finalLearningRateRatio = 1
        } else {
            cfg.maxSteps = TrainConfig.defaultSteps
        }
        cfg.evalEvery = evalEvery
        cfg.cueSteps = cueSteps
        cfg.evalExamples = evalExamples; cfg.testExamples = testExamples; cfg.targetAccuracy = targetAccuracy >= 1 ? nil : targetAccuracy; cfg.seed = seed
        r.train = cfg
        do { try r.validate() } catch HarnessError.badInput(let message) { throw ValidationError(message) }
        return r
    }

    func run() throws {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads \(threads) is invalid: use at least 1") }
            BLAS.setThreads(threads)
        }
        let r = try recipe()
        let v = r.variant
        let t = try r.makeTask()
        let trainer = try r.makeTrainer()
        let progress = ConsoleProgress(prefix: "\(v.rawValue) \(t.id.rawValue): ")
        progress.message("\(t.configDescription); \(trainer.model.parameterCount) parameters; OpenBLAS \(BLAS.coreName) × \(BLAS.threads) threads")
        let result = try trainer.run(progress: progress, checkpointPath: checkpoint, curvePath: curve)
        print("variant \(v.rawValue)  task \(t.id.rawValue) (\(t.configDescription))")
        print(String(format: "validation accuracy %.4f (best %.4f) after %d steps, stopped by %@", result.finalAccuracy, result.bestAccuracy,
                     result.steps, result.stopReason.rawValue))
        if let test = result.testAccuracy { print(String(format: "test accuracy %.4f (%d held-out examples)", test, testExamples)) }
        if let target = r.train.targetAccuracy {
            if let reached = result.stepsToTarget {
                print(String(format: "reached %.1f%% at step %d (%d training tokens)", 100 * target, reached, reached * batchSize * seqLen))
            } else {
                print(String(format: "did not reach %.1f%%", 100 * target))
            }
        }
        print(String(format: "time %.1f s, %.0f training tokens/s", result.seconds, result.tokensPerSecond))
        print("parameters \(trainer.model.parameterCount); KV cache \(trainer.model.kvBytesPerToken) bytes per token (Float32, all layers)")
        // Accuracy against distance on held-out examples (their own stream), so a window
        // shorter than the distance shows.
        if let byDistance = try r.accuracyByDistance(of: trainer, examples: 256) {
            print("\(t.id.rawValue) accuracy by distance (256 held-out examples each):")
            for (d, accuracy) in byDistance { print(String(format: "  distance %4d  accuracy %.3f", d, accuracy)) }
        }
    }
}
