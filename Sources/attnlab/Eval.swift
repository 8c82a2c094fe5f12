import ArgumentParser
import CachePolicies
import Foundation
import Harness
import Tasks
import TensorCore

/// `attnlab policies`: the registered KV-cache policies.
struct Policies: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the registered KV-cache policies (compression of a trained model's cache at inference)."
    )

    func run() throws {
        let rows = CachePolicy.allCases.map { p -> [String] in
            let setting = p.kind == .quantisation ? "--bits \(p.descriptor.supportedBits.map(String.init).joined(separator: "|"))"
                : p.kind == .eviction ? "--ratio" : "-"
            return [p.rawValue, p.kind.rawValue, setting, p.summary]
        }
        printTable(header: ["id", "kind", "setting", "policy"], rows: rows)
    }
}

/// `attnlab eval`: a trained checkpoint's test accuracy with its cache under a policy.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained checkpoint with its KV cache compressed by a policy at the context boundary.",
        discussion: "The test set is the run's own (its seed and stream). Each example's context is prefilled, the policy compresses the cache, then the questions run uncompressed. Prints accuracy, bytes kept per context token and the fraction of the full cache."
    )

    @Option(help: "Checkpoint written by `attnlab train --checkpoint`.") var checkpoint: String
    @Option(help: "Policy id: \(CachePolicy.allCases.map(\.rawValue).joined(separator: ", ")).") var policy: String = "full"
    @Option(help: "Eviction: fraction of the context's cache removed, in [0, 1).") var ratio: Double = 0
    @Option(help: "Quantisation: bits per code.") var bits: Int?
    @Option(help: "Test examples (default: the run's own count).") var examples: Int?
    @Option(help: "Write every example as evaluated (tokens, answers, predictions, the positions each layer's kv heads kept) and the settings to this JSON file, for a peer to compare against.")
    var dump: String?

    func run() throws {
        let p: CachePolicy
        do { p = try CachePolicy.parse(policy) } catch let e as CachePolicyError { throw ValidationError(e.description) }
        let settings = CachePolicySettings(ratio: ratio, bits: bits ?? p.descriptor.supportedBits.first ?? 8)
        if bits != nil && p.kind != .quantisation { throw ValidationError("--bits does not apply to \(p.rawValue); it applies to: \(CachePolicy.allCases.filter { $0.kind == .quantisation }.map(\.rawValue).joined(separator: ", "))") }
        do { try p.validate(settings) } catch let e as CachePolicyError { throw ValidationError(e.description) }
        let trained: TrainedModel
        do { trained = try TrainedModel.load(checkpoint: checkpoint) } catch HarnessError.badInput(let m) { throw ValidationError(m) }
        guard let task = trained.task.heldOut as? any ContextThenQuestions else {
            throw ValidationError("task \(trained.task.id.rawValue) has no context boundary")
        }
        let n = examples ?? trained.train.testExamples
        guard n >= 1 else { throw ValidationError("--examples \(n) is invalid: use at least 1") }
        let set = testSet(task, examples: n, seed: trained.train.seed)
        let r: PolicyEvaluation
        do { r = try PolicyEvaluation.run(model: trained.model, task: task, set: set, policy: p, settings: settings, record: dump != nil) }
        catch let e as CachePolicyError { throw ValidationError(e.description) }
        if let dump {
            let record = EvaluationDump(task: "\(task.id.rawValue) \(task.configDescription)", contextLength: task.contextLength, policy: p.rawValue,
                                        ratio: settings.ratio, bits: p.kind == .quantisation ? settings.bits : nil, sinks: settings.sinks,
                                        observationWindow: settings.observationWindow, poolingKernel: settings.poolingKernel,
                                        pyramidBeta: settings.pyramidBeta, accuracy: r.accuracy, examples: r.examples)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try AtomicFile.write(String(decoding: try encoder.encode(record), as: UTF8.self), to: dump)
        }
        print("task \(task.id.rawValue) (\(task.configDescription)); context \(task.contextLength) tokens; \(n) test examples")
        print("policy \(p.rawValue)" + (p.kind == .eviction ? " ratio \(ratio)" : p.kind == .quantisation ? " bits \(settings.bits)" : ""))
        print(String(format: "accuracy %.4f (%d of %d answers)", r.accuracy, r.correct, r.total))
        print(String(format: "cache after the context: %.1f bytes per context token (all layers), %.4f of the full cache",
                     r.bytesPerContextToken, r.keptFraction))
    }
}

/// What `attnlab eval --dump` writes: the evaluation's settings and every example.
struct EvaluationDump: Encodable {
    var task: String
    var contextLength: Int
    var policy: String
    var ratio: Double
    var bits: Int?
    var sinks: Int
    var observationWindow: Int
    var poolingKernel: Int
    var pyramidBeta: Double
    var accuracy: Double
    var examples: [EvaluatedExample]
}
