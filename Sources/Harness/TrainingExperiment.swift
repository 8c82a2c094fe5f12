// Kind `train`: trains one tiny model with one mechanism on one synthetic task and
// records its accuracy on the test set (`accuracy`; the validation set's, used to stop and
// to choose the learning rate, is `val_accuracy`), the steps and tokens it took to reach
// the target accuracy, its cost, and its KV cache per token and state at the run's length
// (the x axis of recall-versus-cache). Passkey and multikey-needle runs also record
// accuracy at each distance, and every run its training curve (metric eval_accuracy /
// train_loss against step, on the validation set). A run with lr = "best" trains at the
// rate its lr grid chose; a grid run stops once another rate of its grid has won the choice.

import Attention
import Foundation
import Models
import Tasks
import TensorCore
import Training

enum TrainingExperiment {
    /// The spec parameters a training run reads, in CSV column order; a knob a new
    /// mechanism declares joins at the end, so existing shards keep their columns.
    static let parameterNames = fixedParameterNames + Knob.allCases.map(\.specKey).filter { !fixedParameterNames.contains($0) }
    static let fixedParameterNames = [
        "task", "seq_len", "kv_pairs", "vocab", "alpha", "fixed_distance", "data_tokens",
        "d_model", "layers", "heads", "kv_heads", "head_dim", "window", "latent", "rope_dim", "feature_dim", "mlp", "tied",
        "batch", "lr", "warmup", "weight_decay", "steps", "max_minutes", "eval_every", "eval_examples", "target_accuracy",
        "distance_examples", "threads", "test_examples", LearningRateChoice.gridParameter, LearningRateChoice.gridSeedParameter,
        "needles", "questions", "cue_steps",
    ]

    /// The run's recipe; a run at the grid's choice (lr = "best") validates with the grid's
    /// first rate unless `learningRate` gives the chosen one.
    static func recipe(_ run: RunSpec, learningRate: Double? = nil) throws -> TrainingRecipe {
        var r = TrainingRecipe(variant: try Variant.parse(run.variant))
        let p = run.parameters
        if let t = p["task"] { r.task = try TaskKind.parse(t) }
        if p["seq_len"] != nil { r.seqLen = try run.int("seq_len") }
        if p["kv_pairs"] != nil { r.kvPairs = try run.int("kv_pairs") }
        if p["vocab"] != nil { r.vocab = try run.int("vocab") }
        if p["alpha"] != nil { r.alpha = try run.double("alpha") }
        r.distance = try run.optionalInt("fixed_distance")
        if p["data_tokens"] != nil { r.dataTokens = try run.int("data_tokens") }
        r.needles = try run.optionalInt("needles")
        r.questions = try run.optionalInt("questions")
        if p["d_model"] != nil { r.dModel = try run.int("d_model") }
        if p["layers"] != nil { r.layers = try run.int("layers") }
        if p["heads"] != nil { r.heads = try run.int("heads") }
        r.headDim = try run.optionalInt("head_dim")
        for knob in Knob.allCases { r.knobValues[knob] = try run.optionalInt(knob.specKey) }
        if p["mlp"] != nil { r.mlp = try run.int("mlp") }
        if let tied = p["tied"] {
            guard tied == "true" || tied == "false" else { throw HarnessError.badInput("tied = '\(tied)'; valid: true, false") }
            r.tied = tied == "true"
        }
        var c = TrainConfig()
        if p["batch"] != nil { c.batchSize = try run.int("batch") }
        if let learningRate {
            c.learningRate = Float(learningRate)
        } else if LearningRateChoice.isSelected(run) {
            let grid = try LearningRateChoice.gridRuns(of: run)
            c.learningRate = Float(try grid[0].double("lr"))
        } else if p["lr"] != nil {
            c.learningRate = Float(try run.double("lr"))
        }
        if !LearningRateChoice.isSelected(run) {
            for name in [LearningRateChoice.gridParameter, LearningRateChoice.gridSeedParameter] where p[name] != nil {
                throw HarnessError.badInput("\(name) = \(p[name]!) applies only to runs with lr = \(LearningRateChoice.selected)")
            }
        }
        if p["warmup"] != nil { c.warmupSteps = try run.int("warmup") }
        if p["weight_decay"] != nil { c.weightDecay = Float(try run.double("weight_decay")) }
        if p["steps"] != nil { c.maxSteps = try run.int("steps") }
        if p["max_minutes"] != nil { c.maxSeconds = try run.double("max_minutes") * 60 }
        if p["eval_every"] != nil { c.evalEvery = try run.int("eval_every") }
        if p["cue_steps"] != nil { c.cueSteps = try run.int("cue_steps") }
        if p["eval_examples"] != nil { c.evalExamples = try run.int("eval_examples") }
        if p["test_examples"] != nil { c.testExamples = try run.int("test_examples") }
        if p["target_accuracy"] != nil {
            let t = try run.double("target_accuracy")
            guard (0...1).contains(t) else { throw HarnessError.badInput("target_accuracy = \(t): must be in 0...1") }
            c.targetAccuracy = t >= 1 ? nil : t
        }
        c.seed = UInt64(run.seed)
        r.train = c
        if p["distance_examples"] != nil { _ = try require(run, "distance_examples", atLeast: 1) }
        if p["threads"] != nil { _ = try require(run, "threads", atLeast: 1) }
        try r.validate()
        return r
    }

    /// Mechanisms that train the very same model as another one in these runs: the same
    /// reference family and the same resolved layer configuration (a GQA preset with as many
    /// kv heads as the runs' query heads is MHA). Their results can only repeat the other's,
    /// so `attnlab run` says so before spending the time.
    static func sameModelNotes(_ runs: [RunSpec]) -> [String] {
        struct Model: Equatable { var family: ReferenceFamily; var config: AttentionConfig; var layers: Int }
        // A point: the parameters that are not a mechanism's knob or the learning rate.
        let knobKeys = Set(Knob.allCases.map(\.specKey) + ["lr"])
        var models: [String: [(variant: String, model: Model)]] = [:]
        for run in runs {
            guard let recipe = try? recipe(run), let config = try? recipe.variant.resolve(recipe.modelConfig().attention) else { continue }
            let point = run.parameters.filter { !knobKeys.contains($0.key) }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let model = Model(family: recipe.variant.referenceFamily, config: config, layers: recipe.layers)
            if !(models[point] ?? []).contains(where: { $0.variant == run.variant && $0.model == model }) {
                models[point, default: []].append((run.variant, model))
            }
        }
        var notes: Set<String> = []
        for entries in models.values {
            for (i, a) in entries.enumerated() {
                for b in entries[(i + 1)...] where a.variant != b.variant && a.model == b.model {
                    let c = a.model.config
                    notes.insert("\(b.variant) trains the same model as \(a.variant) in \(runs[0].experiment) (\(c.numHeads) heads, \(c.numKVHeads) kv heads"
                                 + (c.slidingWindow.map { ", window \($0)" } ?? "") + "): its results can only repeat \(a.variant)'s")
                }
            }
        }
        return notes.sorted()
    }

    /// Ends a learning-rate grid run at the evaluation where it can no longer be the grid's
    /// choice (LearningRateChoice.outpacingRival): a rival rate, trained by this or another
    /// process, has reached the target in no more steps. The rivals' shards are read at each
    /// evaluation, as they land. Returns the rival that ended the run, once it has.
    static func stopWhenOutpaced(_ trainer: Trainer, rivals: [RunSpec], finished: @escaping (RunSpec) throws -> [Measurement]?)
        -> (() -> (learningRate: Double, stepsToTarget: Double)?)? {
        guard !rivals.isEmpty else { return nil }
        var stepsToTarget: [Double?] = Array(repeating: nil, count: rivals.count)
        var done = Array(repeating: false, count: rivals.count)
        var winner: Int?
        trainer.stopRule = { step in
            for i in rivals.indices where !done[i] {
                guard let m = try finished(rivals[i]) else { continue }
                done[i] = true
                stepsToTarget[i] = m.first { $0.metric == "steps_to_target" && $0.point.isEmpty }?.value
            }
            winner = LearningRateChoice.outpacingRival(at: step, rivalStepsToTarget: stepsToTarget)
            return winner != nil
        }
        return { winner.flatMap { i in stepsToTarget[i].map { (Double(rivals[i].parameters["lr"]!) ?? .nan, $0) } } }
    }

    static func execute(_ run: RunSpec, context: RunContext) throws -> [Measurement] {
        let chosen = LearningRateChoice.isSelected(run) ? try LearningRateChoice.resolve(run, finished: context.finished) : nil
        if let chosen { context.progress.message("learning rate \(chosen), chosen on the validation set of the seed-\(run.parameters[LearningRateChoice.gridSeedParameter] ?? "?") grid") }
        let recipe = try recipe(run, learningRate: chosen)
        BLAS.setThreads(try run.optionalInt("threads") ?? 1)
        let trainer = try recipe.makeTrainer()
        let outpacedBy = recipe.train.targetAccuracy == nil ? nil : stopWhenOutpaced(trainer, rivals: context.gridRivals, finished: context.finished)
        // A checkpoint next to the shard would let a killed long run resume; runs here
        // last minutes, so a killed run restarts (its shard is simply not written yet).
        let result = try trainer.run(progress: context.progress)
        let model = trainer.model
        // The reported accuracy is the test set's; without a test set (test_examples 0), the validation set's.
        var out: [Measurement] = [
            Measurement("accuracy", result.testAccuracy ?? result.finalAccuracy, "fraction"),
            Measurement("val_accuracy", result.finalAccuracy, "fraction"),
            Measurement("best_accuracy", result.bestAccuracy, "fraction"),
            Measurement("learning_rate", Double(recipe.train.learningRate), "1"),
            Measurement("steps", Double(result.steps), "steps"),
            Measurement("train_seconds", result.seconds, "s"),
            Measurement("train_tokens_per_second", result.tokensPerSecond, "tokens/s"),
            Measurement("parameters", Double(model.parameterCount), "parameters"),
            Measurement("kv_elements_per_token", Double(model.blocks.reduce(0) { $0 + $1.attention.kvElementsPerToken }), "elements"),
            Measurement("kv_bytes_per_token", Double(model.kvBytesPerToken), "bytes"),
        ]
        if result.stopReason == .stopRule, let rival = outpacedBy?() {
            out.append(Measurement("outpaced_by_lr", rival.learningRate, "1"))
            out.append(Measurement("outpaced_by_steps", rival.stepsToTarget, "steps"))
        }
        // Learning speed at zoology's bar, whatever the stopping target: the first evaluation
        // at 99 % validation accuracy.
        if let at99 = result.curve.first(where: { $0.evalAccuracy >= 0.99 })?.step {
            out.append(Measurement("steps_to_99", Double(at99), "steps"))
            out.append(Measurement("tokens_to_99", Double(at99 * recipe.train.batchSize * recipe.seqLen), "tokens"))
        }
        if recipe.train.targetAccuracy != nil {
            out.append(Measurement("reached_target", result.stepsToTarget == nil ? 0 : 1, "bool"))
            if let steps = result.stepsToTarget {
                out.append(Measurement("steps_to_target", Double(steps), "steps"))
                out.append(Measurement("tokens_to_target", Double(steps * recipe.train.batchSize * recipe.seqLen), "tokens"))
            }
        }
        // Recurrent state (linear attention) is not per token: record it at the run's length too,
        // in elements and in fp32 bytes over all layers (zoology's and Based's state size).
        let T = recipe.seqLen
        let stateElements = model.blocks.reduce(0) { $0 + $1.attention.cacheElements(context: T) }
        out.append(Measurement("kv_elements_at_seq_len", Double(stateElements), "elements"))
        out.append(Measurement("state_bytes_at_seq_len", Double(stateElements * 4), "bytes"))
        for point in result.curve {
            out.append(Measurement("eval_accuracy", point.evalAccuracy, "fraction", at: ["step": String(point.step)]))
            out.append(Measurement("train_loss", point.loss, "nats", at: ["step": String(point.step)]))
        }
        // Accuracy against distance (passkey, multikey-needle) on held-out examples.
        let examples = try run.optionalInt("distance_examples") ?? 256
        for (d, accuracy) in try recipe.accuracyByDistance(of: trainer, examples: examples) ?? [] {
            out.append(Measurement("accuracy_at_distance", accuracy, "fraction", at: ["distance": String(d)]))
        }
        return out
    }
}
