// Evaluating a trained checkpoint under a cache policy: the checkpoint rebuilds the
// model and the task it was trained on, the uncompressed policy reproduces the
// trainer's own test accuracy, compression shrinks the counted bytes, and a task
// without a context boundary, or a line that does not describe a task, is an error.

import CachePolicies
import Attention
import Foundation
import Models
import TensorCore
import Training
import Tasks
import Testing
@testable import Harness

@Suite("Cache policies on trained checkpoints")
struct PolicyEvaluationTests {
    func trainTiny(_ task: TaskKind, checkpoint: String) throws -> (trainer: Trainer, test: Double) {
        var r = TrainingRecipe(variant: .gqa)
        r.task = task; r.seqLen = 24; r.vocab = 32; r.kvPairs = 3; r.needles = task == .multikeyNeedle ? 3 : nil
        r.questions = task == .multikeyNeedle ? 3 : nil
        r.dModel = 16; r.heads = 4; r.kvHeads = 2; r.layers = 2
        r.train.batchSize = 8; r.train.maxSteps = 20; r.train.warmupSteps = 2; r.train.evalEvery = 10
        r.train.evalExamples = 16; r.train.testExamples = 40; r.train.targetAccuracy = nil; r.train.learningRate = 0.01
        let trainer = try r.makeTrainer()
        let result = try trainer.run(checkpointPath: checkpoint)
        return (trainer, try #require(result.testAccuracy))
    }

    @Test(arguments: [TaskKind.mqar, .multikeyNeedle])
    func theFullCacheReproducesTheTrainersTestAccuracy(task: TaskKind) throws {
        let dir = try TempDir("policy-eval")
        let (trainer, test) = try trainTiny(task, checkpoint: dir.file("run.ckpt"))
        let trained = try TrainedModel.load(checkpoint: dir.file("run.ckpt"))
        #expect(trained.model.namedParameters.map(\.tensor.data) == trainer.model.namedParameters.map(\.tensor.data))
        #expect(trained.task.configDescription == trainer.task.configDescription)
        let t = try #require(trained.task.heldOut as? any ContextThenQuestions)
        let set = testSet(t, examples: 40, seed: trained.train.seed)
        let full = try PolicyEvaluation.run(model: trained.model, task: t, set: set, policy: .full, settings: CachePolicySettings(), chunk: 16)
        #expect(full.accuracy == test, "full cache \(full.accuracy), trainer \(test)")
        #expect(full.keptFraction == 1 && full.contextTokens == 40 * t.contextLength)
        let half = try PolicyEvaluation.run(model: trained.model, task: t, set: set, policy: .snapkv, settings: CachePolicySettings(ratio: 0.5))
        #expect(abs(half.keptFraction - Double(t.contextLength - t.contextLength / 2) / Double(t.contextLength)) < 1e-12)
        #expect(half.bytesPerContextToken < full.bytesPerContextToken)
    }

    /// The record a peer compares against: every example in order, its tokens as the test set
    /// holds them, predictions that score as the evaluation counted, and per layer and kv head
    /// the context positions the policy kept (StreamingLLM's rule, stated here directly).
    @Test func aRecordedEvaluationHoldsEachExampleAndTheKeptPositions() throws {
        let dir = try TempDir("policy-record")
        _ = try trainTiny(.multikeyNeedle, checkpoint: dir.file("run.ckpt"))
        let trained = try TrainedModel.load(checkpoint: dir.file("run.ckpt"))
        let t = try #require(trained.task.heldOut as? any ContextThenQuestions)
        let set = testSet(t, examples: 10, seed: trained.train.seed)
        var settings = CachePolicySettings(ratio: 0.5)
        settings.sinks = 2
        let r = try PolicyEvaluation.run(model: trained.model, task: t, set: set, policy: .streaming, settings: settings, chunk: 4, record: true)
        let c = t.contextLength, budget = settings.budget(of: c)
        #expect(r.examples.count == 10)
        #expect(r.examples.enumerated().allSatisfy { $0.element.ids == Array(set.inputs(row: $0.offset)) })
        #expect(r.examples.reduce(0) { $0 + zip($1.targets, $1.predictions).filter { $0 != ignoreLabel && $0 == $1 }.count } == r.correct)
        let streaming = Array(0..<2) + Array((c - (budget - 2))..<c)
        #expect(r.examples.allSatisfy { $0.kept.count == 2 && $0.kept.allSatisfy { $0.count == 2 && $0.allSatisfy { $0 == streaming } } })
        let plain = try PolicyEvaluation.run(model: trained.model, task: t, set: set, policy: .streaming, settings: settings, chunk: 4)
        #expect(plain.examples.isEmpty && plain.correct == r.correct)
    }

    /// With every key zero, attention is even over each causal prefix, so the first token
    /// receives (H_c − 1)/(c − 1) on average from the other context queries.
    @Test func firstTokenAttentionIsTheMeanProbabilityOnTokenZero() throws {
        var rng = Xoshiro256StarStar(seed: 1)
        let config = ModelConfig(vocabSize: 32, layers: 2, attention: AttentionConfig(hiddenSize: 16, numHeads: 4, numKVHeads: 2, headDim: 4),
                                 variant: .gqa)
        let model = try TransformerLM(config: config, rng: &rng)
        for block in model.blocks { (block.attention as! SoftmaxAttention).kProj.weight.data = Array(repeating: 0, count: 8 * 16) }
        let task = try MQARTask(vocabSize: 32, sequenceLength: 16, kvPairs: 4)
        let r = try PolicyEvaluation.run(model: model, task: task, set: testSet(task, examples: 5, seed: 0), policy: .full,
                                         settings: CachePolicySettings(), chunk: 2)
        let c = 8.0, harmonic = (1...8).reduce(0.0) { $0 + 1 / Double($1) }
        #expect(r.firstTokenAttention.count == 2 && r.firstTokenAttention.allSatisfy { $0.count == 2 })
        for layer in r.firstTokenAttention { for mass in layer { #expect(abs(mass - (harmonic - 1) / (c - 1)) < 1e-9, "\(mass)") } }
    }

    /// A cache-policies spec names a bad policy, ratio or bit width, a mechanism or task a
    /// policy cannot serve, in an error with the value and the valid ones.
    @Test func cachePolicySpecsAreValidated() throws {
        let dir = try TempDir("policy-spec")
        func spec(variants: [String] = ["mha"], set: [String: Any]) -> [String: Any] {
            var s = trainSpec(name: "policies", variants: variants, set: set)
            s["kind"] = "cache-policies"
            var base = s["base"] as! [String: Any]
            base["policies"] = "all"; base["ratios"] = "0.5"; base["bit_widths"] = "2 8"
            s["base"] = base
            return s
        }
        func load(_ s: [String: Any]) throws { _ = try ExperimentSpec.load(path: try dir.write("policies.json", try json(s))) }
        try load(spec(set: [:]))
        #expect(try CachePolicyExperiment.settings(try ExperimentSpec.load(path: dir.file("policies.json")).runs(profile: .smoke)[0]).count
                == 1 + 7 + 1 + 1, "full, 7 eviction policies at one ratio, int8 at 8, kivi at 2")
        expectBadInput(["unknown policy 'lru'", "valid: all, full"]) { try load(spec(set: ["policies": "h2o lru"])) }
        expectBadInput(["ratios: '1'", "(0, 1)"]) { try load(spec(set: ["ratios": "0.5 1"])) }
        expectBadInput(["bit_widths [3]", "int8", "valid: [8]"]) { try load(spec(set: ["bit_widths": "3"])) }
        expectBadInput(["linear", "valid: mha, gqa, mqa, mla"]) { try load(spec(variants: ["linear"], set: [:])) }
        // MLA's latent cache takes every policy but KIVI: "all" leaves KIVI out, naming it is an error.
        try load(spec(variants: ["mla"], set: [:]))
        #expect(try CachePolicyExperiment.settings(try ExperimentSpec.load(path: dir.file("policies.json")).runs(profile: .smoke)[0])
            .allSatisfy { $0.policy != .kivi })
        expectBadInput(["kivi does not apply to MLA's latent cache"]) { try load(spec(variants: ["mla"], set: ["policies": "h2o kivi"])) }
        expectBadInput(["task copying has no context boundary"]) { try load(spec(set: ["task": "copying"])) }
    }

    @Test func taskLinesRebuildTheirTaskOrSayWhyNot() throws {
        for line in ["mqar vocab=64 seq=16 kv-pairs=2 alpha=0.01", "multikey-needle vocab=20 seq=16 needles=2",
                     "multikey-needle vocab=20 seq=16 needles=2 questions=2 distance=5", "multikey-needle vocab=20 seq=16 needles=2 distance=4...9"] {
            let task = try TrainedModel.task(described: line)
            #expect("\(task.id.rawValue) \(task.configDescription)" == line)
        }
        expectBadInput(["copying", "valid: mqar, multikey-needle"]) { _ = try TrainedModel.task(described: "copying vocab=20 seq=16 length=4") }
        expectBadInput(["'seq16' is not key=value"]) { _ = try TrainedModel.task(described: "mqar vocab=64 seq16") }
        expectBadInput(["no integer kv-pairs"]) { _ = try TrainedModel.task(described: "mqar vocab=64 seq=16 alpha=0.01") }
        let dir = try TempDir("policy-eval")
        let weights = try dir.write("weights.safetensors", "")
        expectBadInput(["checkpoint '\(weights)'"]) { _ = try TrainedModel.load(checkpoint: weights) }
    }
}
