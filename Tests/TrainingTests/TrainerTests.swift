// The training loop: the NaN/Inf guard, the stopping rules, the curve CSV,
// determinism, configuration checks, and that a tiny model actually learns.

import Attention
import Foundation
import Models
import Tasks
import Testing
import TensorCore
import Training

@Suite("Trainer")
struct TrainerTests {
    // MARK: - NaN/Inf guard

    /// The first cueSteps steps draw from the task's training cue: a run with every step on
    /// the cue ends with the weights of a run on the cue task itself, and one with no cue
    /// steps does not; a task without a cue refuses cue steps.
    @Test func cueStepsTrainOnTheTasksCue() throws {
        let needle = try MultiKeyNeedleTask(vocabSize: 32, sequenceLength: 24, needles: 2, questions: 2)
        let cue = try #require(needle.trainingCue)
        var config = tinyTrainConfig(steps: 4)
        func weights(_ task: any SyntheticTask, cueSteps: Int) throws -> [[Float]] {
            config.cueSteps = cueSteps
            let t = try Trainer(modelConfig: tinyModel(.gqa), task: task, config: config)
            _ = try t.run()
            return t.model.namedParameters.map(\.tensor.data)
        }
        let onCue = try weights(cue, cueSteps: 0)
        #expect(try weights(needle, cueSteps: 4) == onCue)
        #expect(try weights(needle, cueSteps: 0) != onCue)
        #expect(try weights(needle, cueSteps: 2) != onCue)
        config.cueSteps = 2
        #expect(throws: TrainingError.self) { try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config) }
    }

    @Test func nonFiniteLossStopsTheRunWithoutWritingACurve() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let trainer = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig())
        // A NaN in the LM head reaches every logit.
        let head = try #require(trainer.model.lmHead)
        head.weight.data[5] = .nan
        #expect(throws: TrainingError.nonFinite(step: 1, tensor: "loss")) {
            try trainer.run(checkpointPath: dir.path("ck.safetensors"), curvePath: dir.path("curve.csv"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("curve.csv")))
        #expect(!FileManager.default.fileExists(atPath: dir.path("ck.safetensors")))
    }

    /// A learning rate of 1e30 blows the weights up to ~1e30 in the first update, after
    /// one evaluation has been recorded: step 2 overflows (the RMSNorms keep the loss
    /// finite here, the gradients are not), and the run still writes no curve.
    @Test func divergenceAfterAnEvaluationWritesNoCurve() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        var config = tinyTrainConfig(steps: 6, evalEvery: 1)
        config.learningRate = 1e30
        config.warmupSteps = 0
        let trainer = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        let error = #expect(throws: TrainingError.self) { try trainer.run(curvePath: dir.path("curve.csv")) }
        guard case .nonFinite(let step, let tensor)? = error else {
            Issue.record("expected nonFinite, got \(String(describing: error))")
            return
        }
        #expect(step == 2 && (tensor == "loss" || tensor.hasPrefix("gradient of model.")), "step \(step), \(tensor)")
        #expect(trainer.curve.count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path("curve.csv")))
    }

    /// A finite loss with a non-finite gradient. Copying with V = 6, T = 10 pads only the
    /// last position, which is not scored and (causally) feeds no scored position. Only
    /// the pad embedding has a channel-0 component, attention writes nothing to channel 0,
    /// and the MLP's gate and up projections read channel 0 with a weight of 1e30: the
    /// MLP overflows at the pad position alone. The loss never sees that row; the
    /// backward multiplies its zero gradient by ∞.
    @Test func nonFiniteGradientWithFiniteLossIsCaught() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let task = try CopyingTask(vocabSize: 6, sequenceLength: 10)
        let trainer = try Trainer(modelConfig: tinyModel(.gqa, vocab: 6, mlp: 8), task: task, config: tinyTrainConfig())
        let params = Dictionary(uniqueKeysWithValues: trainer.model.namedParameters.map { ($0.name, $0.tensor) })
        let c = 16
        let embedding = try #require(params["model.embed_tokens.weight"])       // [V, C]
        for v in 0..<6 { embedding.data[v * c] = v == CopyingTask.padToken ? 1 : 0 }
        let oProj = try #require(params["model.layers.0.self_attn.o_proj.weight"])  // [C, C]
        for j in 0..<c { oProj.data[j] = 0 }
        for name in ["model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight"] {
            let w = try #require(params[name])                                   // [8, C]
            for r in 0..<8 { w.data[r * c] = 1e30 }
        }
        let error = #expect(throws: TrainingError.self) { try trainer.run(curvePath: dir.path("curve.csv")) }
        guard case .nonFinite(let step, let tensor)? = error else {
            Issue.record("expected nonFinite, got \(String(describing: error))")
            return
        }
        #expect(step == 1 && tensor.hasPrefix("gradient of model."), "step \(step), \(tensor)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("curve.csv")))
    }

    // MARK: - Stopping rules

    @Test func targetAccuracyZeroStopsAtTheFirstEvaluation() throws {
        var config = tinyTrainConfig(steps: 6, evalEvery: 2)
        config.targetAccuracy = 0
        let result = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config).run()
        #expect(result.stopReason == .targetAccuracy)
        #expect(result.steps == 2 && result.curve.map(\.step) == [2])
    }

    @Test func withoutTargetTheRunUsesTheWholeStepBudget() throws {
        // 5 steps, evaluation every 2: points at 2, 4 and the last step.
        let progress = RecordingProgress()
        let result = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 5, evalEvery: 2))
            .run(progress: progress)
        #expect(result.stopReason == .maxSteps && result.steps == 5)
        #expect(result.curve.map(\.step) == [2, 4, 5])
        #expect(progress.states.map(\.step) == [1, 2, 3, 4, 5])
        #expect(progress.states.allSatisfy { $0.totalSteps == 5 && $0.tokensPerSecond > 0 })
        #expect(progress.states.map { $0.accuracy == nil } == [true, false, false, false, false])
        #expect(progress.states[2].accuracy == result.curve[0].evalAccuracy)
        #expect(progress.states[3].accuracy == result.curve[1].evalAccuracy)
    }

    @Test func timeBudgetStopsWithAFinalCurvePoint() throws {
        var config = tinyTrainConfig(steps: 6, evalEvery: 4)
        config.maxSeconds = 1e-6
        let trainer = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        let result = try trainer.run()
        #expect(result.stopReason == .maxTime)
        #expect(result.steps == 1 && result.curve.map(\.step) == [1])
        #expect(result.finalAccuracy == trainer.evaluate().accuracy)
    }

    @Test func testAccuracyComesFromTheDisjointTestSet() throws {
        let trainer = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 4, evalEvery: 2))
        let result = try trainer.run()
        let test = testSet(tinyMQAR(), examples: 16, seed: 7)
        #expect(result.testAccuracy == trainer.evaluate(on: test).accuracy)
        #expect(test != evaluationSet(tinyMQAR(), examples: 16, seed: 7))
        var none = tinyTrainConfig(steps: 2)
        none.testExamples = 0
        #expect(try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: none).run().testAccuracy == nil)
    }

    @Test func stepsToTargetIsTheFirstEvaluationAtTheTarget() throws {
        var config = tinyTrainConfig(steps: 8, evalEvery: 2)
        config.targetAccuracy = 0  // reached at the first evaluation
        let reached = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config).run()
        #expect(reached.stepsToTarget == 2 && reached.steps == 2 && reached.stopReason == .targetAccuracy)
        let never = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 4)).run()
        #expect(never.stepsToTarget == nil)
    }

    @Test func unboundedStepsRunUntilTheTimeBudgetAtAConstantRate() throws {
        var config = tinyTrainConfig(steps: 6, evalEvery: 1000)
        config.maxSteps = TrainConfig.unboundedSteps
        config.finalLearningRateRatio = 1
        config.maxSeconds = 0.3
        let trainer = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        let result = try trainer.run()
        #expect(result.stopReason == .maxTime && result.steps > 1)
        #expect(trainer.schedule.learningRate(step: 10_000) == config.learningRate)
    }

    // MARK: - Curve

    @Test func curveCSVHasOneRowPerEvaluation() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.path("curve.csv")
        let result = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 7, evalEvery: 2))
            .run(curvePath: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "step,loss,eval_accuracy,elapsed_seconds")
        let rows = lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.count == 4 && rows.allSatisfy { $0.count == 4 })
        let steps = rows.compactMap { Int($0[0]) }
        #expect(steps == [2, 4, 6, 7])
        #expect(steps == result.curve.map(\.step))
        for (row, point) in zip(rows, result.curve) {
            let loss = try #require(Double(row[1])), acc = try #require(Double(row[2])), seconds = try #require(Double(row[3]))
            #expect(loss.isFinite && loss > 0 && abs(loss - point.loss) <= 1e-6)
            #expect((0...1).contains(acc) && abs(acc - point.evalAccuracy) <= 1e-6)
            #expect(seconds >= 0)
        }
        let seconds = rows.compactMap { Double($0[3]) }
        #expect(zip(seconds, seconds.dropFirst()).allSatisfy { $0 <= $1 })
    }

    // MARK: - Determinism

    @Test func sameSeedGivesBitIdenticalRuns() throws {
        let config = tinyTrainConfig(steps: 4, evalEvery: 2)
        let a = try Trainer(modelConfig: tinyModel(.mla), task: tinyMQAR(), config: config)
        let b = try Trainer(modelConfig: tinyModel(.mla), task: tinyMQAR(), config: config)
        let ra = try a.run(), rb = try b.run()
        let difference = firstStateDifference(a, b)
        #expect(difference == nil, "first difference \(difference ?? "")")
        #expect(curveRows(ra.curve) == curveRows(rb.curve))
    }

    @Test func differentSeedGivesDifferentInitialisationAndData() throws {
        let a = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(seed: 7))
        let b = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(seed: 8))
        let fresh = zip(a.model.namedParameters, b.model.namedParameters).filter { $0.0.tensor.data != $0.1.tensor.data }
        #expect(fresh.count == a.model.namedParameters.filter { $0.tensor.rank == 2 }.count,
                "matrices differ; RMSNorm gains start at 1 in both")
        _ = try a.run(); _ = try b.run()
        #expect(firstStateDifference(a, b) != nil)
    }

    /// How often the run evaluates does not change the training: evaluation reads a fixed
    /// set and consumes nothing from the training stream.
    @Test func evaluationCadenceDoesNotChangeTraining() throws {
        let a = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 6, evalEvery: 1))
        let b = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 6, evalEvery: 6))
        let ra = try a.run(), rb = try b.run()
        let difference = firstStateDifference(a, b)
        #expect(difference == nil, "first difference \(difference ?? "")")
        #expect(ra.curve.count == 6 && rb.curve.count == 1)
        #expect(ra.finalAccuracy.bitPattern == rb.finalAccuracy.bitPattern)
    }

    /// The evaluation set depends on the seed and its size, not on the training batch.
    @Test func evaluationSetDoesNotDependOnBatchSize() throws {
        var small = tinyTrainConfig(); small.batchSize = 3
        var large = tinyTrainConfig(); large.batchSize = 32; large.maxSteps = 50
        let a = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: small)
        let b = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: large)
        let ea = a.evaluate(), eb = b.evaluate()
        #expect(ea.accuracy.bitPattern == eb.accuracy.bitPattern && ea.loss.bitPattern == eb.loss.bitPattern)
        // ... and it is the held-out stream of the seed, not the training stream.
        var other = tinyTrainConfig(seed: 8); other.batchSize = 3
        let c = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: other)
        #expect(c.evaluate().loss.bitPattern != ea.loss.bitPattern)
        let set = evaluationSet(tinyMQAR(), examples: 16, seed: 7)
        var streams = TaskStreams(seed: 7)
        #expect(set == tinyMQAR().batch(size: 16, rng: &streams.evaluation))
        #expect(set != tinyMQAR().batch(size: 16, rng: &streams.train))
    }

    // MARK: - Configuration checks

    struct InvalidCase: CustomTestStringConvertible, Sendable {
        let field: String
        let config: TrainConfig
        var testDescription: String { "\(field): \(config)" }
    }

    static let invalidCases: [InvalidCase] = {
        func with(_ field: String, _ edit: (inout TrainConfig) -> Void) -> InvalidCase {
            var c = tinyTrainConfig()
            edit(&c)
            return InvalidCase(field: field, config: c)
        }
        return [
            with("batch-size") { $0.batchSize = 0 },
            with("max-steps") { $0.maxSteps = 0 },
            with("lr") { $0.learningRate = 0 },
            with("lr") { $0.learningRate = -1e-3 },
            with("lr") { $0.learningRate = .infinity },
            with("lr") { $0.learningRate = .nan },
            with("final-lr-ratio") { $0.finalLearningRateRatio = 1.5 },
            with("final-lr-ratio") { $0.finalLearningRateRatio = .nan },
            with("warmup") { $0.warmupSteps = $0.maxSteps + 1 },
            with("warmup") { $0.warmupSteps = -1 },
            with("weight-decay") { $0.weightDecay = -0.1 },
            with("weight-decay") { $0.weightDecay = .nan },
            with("weight-decay") { $0.weightDecay = .infinity },
            with("grad-clip") { $0.gradClip = 0 },
            with("grad-clip") { $0.gradClip = .nan },
            with("eval-every") { $0.evalEvery = 0 },
            with("eval-examples") { $0.evalExamples = 0 },
            with("test-examples") { $0.testExamples = -1 },
            with("target-accuracy") { $0.targetAccuracy = 1.5 },
            with("target-accuracy") { $0.targetAccuracy = -0.1 },
            with("target-accuracy") { $0.targetAccuracy = .nan },
            with("max-minutes") { $0.maxSeconds = 0 },
            with("max-minutes") { $0.maxSeconds = -60 },
            with("max-minutes") { $0.maxSeconds = .nan },
        ]
    }()

    @Test(arguments: invalidCases)
    func invalidConfigurationIsRejectedNamingTheField(_ bad: InvalidCase) throws {
        let error = #expect(throws: TrainingError.self) { try bad.config.validate() }
        guard case .invalidConfig(let message)? = error else {
            Issue.record("\(bad.field): expected invalidConfig, got \(String(describing: error))")
            return
        }
        #expect(message.hasPrefix("\(bad.field) = "), "\(message)")
        #expect(throws: TrainingError.self) { try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: bad.config) }
    }

    @Test func boundaryConfigurationsAreAccepted() throws {
        try TrainConfig().validate()
        var c = tinyTrainConfig()
        c.warmupSteps = c.maxSteps
        c.finalLearningRateRatio = 0
        c.weightDecay = 0
        c.targetAccuracy = 1
        try c.validate()
        c.targetAccuracy = 0
        c.maxSeconds = 0.5
        try c.validate()
    }

    @Test func modelVocabularySmallerThanTheTaskIsRejected() throws {
        let error = #expect(throws: TrainingError.self) {
            try Trainer(modelConfig: tinyModel(.gqa, vocab: 31), task: tinyMQAR(), config: tinyTrainConfig())
        }
        guard case .invalidConfig(let message)? = error else {
            Issue.record("expected invalidConfig, got \(String(describing: error))")
            return
        }
        #expect(message.contains("vocab = 31") && message.contains("mqar") && message.contains("32"), "\(message)")
        // A larger model vocabulary is fine (the extra tokens are never seen).
        _ = try Trainer(modelConfig: tinyModel(.gqa, vocab: 40), task: tinyMQAR(), config: tinyTrainConfig())
    }

    // MARK: - Learning

    /// MQAR with one pair (V = 16, T = 16): a 2-layer model learns to recall the value
    /// in 150 steps. Measured: evaluation loss 2.94 → 0.29, accuracy 5% → 92%.
    @Test func tinyModelLearnsAnEasyTask() throws {
        let task = try MQARTask(vocabSize: 16, sequenceLength: 16, kvPairs: 1)
        var config = tinyTrainConfig(steps: 150, evalEvery: 50)
        config.warmupSteps = 10
        config.evalExamples = 64
        let trainer = try Trainer(modelConfig: tinyModel(.gqa, vocab: 16, layers: 2), task: task, config: config)
        let before = trainer.evaluate()
        let result = try trainer.run()
        let after = trainer.evaluate()
        #expect(after.loss < 0.5 * before.loss, "evaluation loss \(before.loss) → \(after.loss)")
        #expect(result.finalAccuracy >= 0.5, "accuracy \(before.accuracy) → \(result.finalAccuracy); chance is 1/8")
        #expect(result.curve.last!.loss < result.curve.first!.loss)
    }
}
