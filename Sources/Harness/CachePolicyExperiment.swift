// Kind `cache-policies`: trains one model (a mechanism whose cache keeps every token:
// MHA, GQA, MQA, MLA) on a task with a context and questions, then evaluates it on its own test set
// under every policy setting of the run: each eviction policy at each ratio, each
// quantising policy at each of its bit widths, and the full cache. Every setting gives
// the accuracy and the bytes the compressed cache holds per context token (all layers),
// at the point (policy, ratio, bits); the model's own training result is recorded too, and
// per layer and kv head the attention the first token receives (StreamingLLM's sink).
// Retraining from the spec is what keeps a result reproducible without committed weights.

import Attention
import CachePolicies
import Foundation
import Tasks
import TensorCore
import Training

enum CachePolicyExperiment {
    static let extraParameters = ["policies", "ratios", "bit_widths"]
    static let pointColumns = ["policy", "ratio", "bits", "layer", "kv_head"]

    /// The settings a run evaluates, the full cache first.
    static func settings(_ run: RunSpec) throws -> [(policy: CachePolicy, settings: CachePolicySettings)] {
        func list(_ name: String) throws -> [String] {
            guard let text = run.parameters[name], !text.isEmpty else { throw HarnessError.badInput("\(name) is required") }
            return text.split(separator: " ").map(String.init)
        }
        let policyWords = try list("policies")
        let variant = try Variant.parse(run.variant)
        // "all": every policy that applies to the mechanism's cache (KIVI not to MLA's latent).
        let policies = policyWords == ["all"] ? CachePolicy.allCases.filter { $0.refusal(for: variant) == nil } : try policyWords.map { word -> CachePolicy in
            guard let p = CachePolicy(rawValue: word) else {
                throw HarnessError.badInput("policies: unknown policy '\(word)'; valid: all, \(CachePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let why = p.refusal(for: variant) { throw HarnessError.badInput("policies: \(why)") }
            return p
        }
        let ratios = try list("ratios").map { word -> Double in
            guard let r = Double(word), r > 0, r < 1 else { throw HarnessError.badInput("ratios: '\(word)' is not a fraction in (0, 1)") }
            return r
        }
        let bits = try list("bit_widths").map { word -> Int in
            guard let b = Int(word), b >= 1 else { throw HarnessError.badInput("bit_widths: '\(word)' is not a positive integer") }
            return b
        }
        var out: [(CachePolicy, CachePolicySettings)] = [(.full, CachePolicySettings())]
        for p in policies where p != .full {
            switch p.kind {
            case .none: break
            case .eviction: out += ratios.map { (p, CachePolicySettings(ratio: $0)) }
            case .quantisation:
                let widths = bits.filter(p.descriptor.supportedBits.contains)
                guard !widths.isEmpty else {
                    throw HarnessError.badInput("bit_widths \(bits) include none that \(p.rawValue) supports; valid: \(p.descriptor.supportedBits)")
                }
                out += widths.map { (p, CachePolicySettings(bits: $0)) }
            }
        }
        return out
    }

    static func validate(_ run: RunSpec) throws {
        let recipe = try TrainingExperiment.recipe(run)
        _ = try settings(run)
        guard try recipe.makeTask() is any ContextThenQuestions else {
            throw HarnessError.badInput("task \(recipe.task.rawValue) has no context boundary; valid: \(TaskKind.mqar.rawValue), \(TaskKind.multikeyNeedle.rawValue)")
        }
        var rng = Xoshiro256StarStar(seed: 0)
        let layer = try recipe.variant.make(config: recipe.modelConfig().attention, rng: &rng)
        do { _ = try PolicyKVCache(for: layer, batch: 1) } catch let e as CachePolicyError { throw HarnessError.badInput(e.description) }
    }

    static func execute(_ run: RunSpec, context: RunContext) throws -> [Measurement] {
        let recipe = try TrainingExperiment.recipe(run)
        BLAS.setThreads(try run.optionalInt("threads") ?? 1)
        let trainer = try recipe.makeTrainer()
        let result = try trainer.run(progress: context.progress)
        var out: [Measurement] = [
            Measurement("trained_accuracy", result.testAccuracy ?? result.finalAccuracy, "fraction"),
            Measurement("steps", Double(result.steps), "steps"),
            Measurement("train_seconds", result.seconds, "s"),
        ]
        if recipe.train.targetAccuracy != nil {
            out.append(Measurement("reached_target", result.stepsToTarget == nil ? 0 : 1, "bool"))
        }
        guard let task = try recipe.makeTask().heldOut as? any ContextThenQuestions else {
            throw HarnessError.badInput("task \(recipe.task.rawValue) has no context boundary")
        }
        let examples = recipe.train.testExamples > 0 ? recipe.train.testExamples : recipe.train.evalExamples
        let set = testSet(task, examples: examples, seed: recipe.train.seed)
        for (policy, settings) in try settings(run) {
            context.progress.message("\(policy.rawValue)" + (policy.kind == .eviction ? " ratio \(settings.ratio)" : policy.kind == .quantisation ? " \(settings.bits) bits" : ""))
            let r = try PolicyEvaluation.run(model: trainer.model, task: task, set: set, policy: policy, settings: settings)
            let point = ["policy": policy.rawValue,
                         "ratio": policy.kind == .eviction ? String(settings.ratio) : "0",
                         "bits": policy.kind == .quantisation ? String(settings.bits) : "32"]
            out.append(Measurement("accuracy", r.accuracy, "fraction", at: point))
            out.append(Measurement("cache_bytes_per_context_token", r.bytesPerContextToken, "bytes", at: point))
            out.append(Measurement("kept_fraction", r.keptFraction, "fraction", at: point))
            if policy == .full {
                for (l, heads) in r.firstTokenAttention.enumerated() {
                    for (g, mass) in heads.enumerated() {
                        out.append(Measurement("first_token_attention", mass, "fraction", at: ["layer": String(l), "kv_head": String(g)]))
                    }
                }
            }
        }
        return out
    }
}
