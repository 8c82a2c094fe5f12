// A trained model evaluated under a KV-cache policy: each example's context is
// prefilled into policy-managed caches (one per layer), the policy compresses them at
// the context boundary, then the questions run through the compressed caches (they are
// not compressed themselves: kvpress's rule) and the answers are scored. The bytes are
// what the caches really hold after compression, quantisation scales included.

import Attention
import CachePolicies
import Foundation
import Models
import NN
import Tasks
import TensorCore
import Training

public struct PolicyEvaluation: Sendable {
    public var correct = 0
    public var total = 0
    /// Context tokens over all examples.
    public var contextTokens = 0
    /// Cache bytes, all layers and examples, right after the context: uncompressed, then
    /// as the policy left them.
    public var fullBytes = 0
    public var compressedBytes = 0
    /// Per layer and kv head: the mean attention the first token receives from the other
    /// context queries, before compression (StreamingLLM's attention sink; attention spread
    /// evenly over each causal prefix would give it (H_c − 1)/(c − 1), 0.25 at c = 8).
    public var firstTokenAttention: [[Double]] = []

    /// With `record`: every example as evaluated, in test-set order.
    public var examples: [EvaluatedExample] = []

    public var accuracy: Double { total == 0 ? .nan : Double(correct) / Double(total) }
    /// What the policy keeps per context token, all layers (the x axis of the frontier).
    public var bytesPerContextToken: Double { Double(compressedBytes) / Double(contextTokens) }
    /// Compressed over uncompressed bytes.
    public var keptFraction: Double { Double(compressedBytes) / Double(fullBytes) }

    /// Evaluates `model` on the examples of `set` (their context and questions split at
    /// `task.contextLength`), `chunk` examples at a time.
    /// With `record`, each example's tokens, answers, predictions and the positions every
    /// layer's kv heads kept are kept in `examples` (for a peer to compare against).
    public static func run(model: TransformerLM, task: any ContextThenQuestions, set: TaskBatch, policy: CachePolicy,
                           settings: CachePolicySettings, chunk: Int = 64, record: Bool = false) throws -> PolicyEvaluation {
        try policy.validate(settings)
        for block in model.blocks { if let why = policy.refusal(for: block.attention.variant) { throw CachePolicyError(why) } }
        let c = task.contextLength, t = set.length
        precondition(t == task.sequenceLength && c >= 1 && c < t, "context \(c) of \(t) positions")
        var result = PolicyEvaluation()
        for part in set.chunks(ofSize: chunk) {
            let n = part.batch
            let caches = try model.blocks.map { try PolicyKVCache(for: $0.attention, batch: n) }
            var context: [Int] = [], questions: [Int] = [], targets: [Int] = []
            for b in 0..<n {
                let row = Array(part.inputs(row: b)), answers = Array(part.targets(row: b))
                precondition(answers[..<c].allSatisfy { $0 == ignoreLabel }, "\(task.id.rawValue) scores a context position")
                context += row[..<c]
                questions += row[c...]
                targets += answers[c...]
            }
            _ = model.step(ids: context, batch: n, length: c, caches: caches)
            result.fullBytes += caches.reduce(0) { $0 + $1.bytes }
            if result.firstTokenAttention.isEmpty { result.firstTokenAttention = caches.map { Array(repeating: 0, count: $0.kvHeads) } }
            for (l, cache) in caches.enumerated() where c > 1 {
                let perKV = cache.queryHeads / cache.kvHeads
                for g in 0..<cache.kvHeads {
                    // received[0] sums every query's probability on token 0; the first query's own 1 is left out.
                    let mass = (0..<n).reduce(0.0) { $0 + cache.stores[$1][g].received[0] - Double(perKV) }
                    result.firstTokenAttention[l][g] += mass / Double((c - 1) * perKV) / Double(set.batch)
                }
            }
            for (l, cache) in caches.enumerated() { policy.descriptor.compress(cache, settings: settings, layer: l, of: caches.count) }
            result.compressedBytes += caches.reduce(0) { $0 + $1.bytes }
            // [layer][sequence][kv head]: the context positions each store kept (before the questions join it).
            let kept = record ? caches.map { $0.stores.map { $0.map(\.positions) } } : []
            let logits = model.step(ids: questions, batch: n, length: t - c, caches: caches)  // [n, T − c, V]
            let predictions = argmaxRows(logits.reshaped([n * (t - c), -1]))
            let scored = Tasks.accuracy(predictions: predictions, targets: targets)
            if record {
                let q = t - c
                for b in 0..<n {
                    result.examples.append(EvaluatedExample(
                        ids: Array(context[(b * c)..<((b + 1) * c)] + questions[(b * q)..<((b + 1) * q)]),
                        targets: Array(targets[(b * q)..<((b + 1) * q)]), predictions: Array(predictions[(b * q)..<((b + 1) * q)]),
                        kept: kept.map { $0[b] }))
                }
            }
            result.correct += scored.correct
            result.total += scored.total
            result.contextTokens += n * c
        }
        return result
    }
}

/// One test example as a policy evaluation saw it: the tokens (context, then questions),
/// the answers at the question positions (`ignoreLabel` where none is scored), the model's
/// predictions there, and per layer and kv head the context positions the cache kept.
public struct EvaluatedExample: Codable, Sendable, Equatable {
    public var ids: [Int]
    public var targets: [Int]
    public var predictions: [Int]
    public var kept: [[[Int]]]
}

/// A model trained by `attnlab train --checkpoint`, with what it was trained on.
public struct TrainedModel {
    public let model: TransformerLM
    public let task: any SyntheticTask
    public let train: TrainConfig

    /// Reads a training checkpoint: the model from its configuration and weights, the task
    /// from its one-line description (rebuilt, and checked to describe itself the same).
    public static func load(checkpoint path: String) throws -> TrainedModel {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(from: path) } catch { throw HarnessError.badInput("checkpoint '\(path)': \(error)") }
        func field(_ key: String) throws -> String {
            guard let v = file.metadata[key] else {
                throw HarnessError.badInput("'\(path)' is not a training checkpoint: no '\(key)' in its metadata")
            }
            return v
        }
        let modelConfig = try JSONDecoder().decode(ModelConfig.self, from: Data(try field("model_config").utf8))
        let train = try JSONDecoder().decode(TrainConfig.self, from: Data(try field("train_config").utf8))
        var rng = Xoshiro256StarStar(seed: 0)
        let model = try TransformerLM(config: modelConfig, rng: &rng)
        try model.loadWeights(from: file)
        return TrainedModel(model: model, task: try task(described: try field("task")), train: train)
    }

    /// The task a checkpoint's "task" line describes ("mqar vocab=64 seq=16 kv-pairs=2
    /// alpha=0.01"), for the tasks with a context and questions.
    static func task(described line: String) throws -> any SyntheticTask {
        let words = line.split(separator: " ").map(String.init)
        var fields: [String: String] = [:]
        for w in words.dropFirst() {
            let kv = w.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw HarnessError.badInput("task '\(line)': '\(w)' is not key=value") }
            fields[kv[0]] = kv[1]
        }
        func int(_ key: String) throws -> Int {
            guard let s = fields[key], let v = Int(s) else { throw HarnessError.badInput("task '\(line)': no integer \(key)") }
            return v
        }
        let task: any SyntheticTask
        switch words.first.flatMap(TaskKind.init(rawValue:)) {
        case .mqar?:
            guard let alpha = fields["alpha"].flatMap(Double.init) else { throw HarnessError.badInput("task '\(line)': no alpha") }
            task = try MQARTask(vocabSize: try int("vocab"), sequenceLength: try int("seq"), kvPairs: try int("kv-pairs"), alpha: alpha)
        case .multikeyNeedle?:
            let questions = fields["questions"] == nil ? 1 : try int("questions")
            var distances: ClosedRange<Int>?
            if let d = fields["distance"] {
                let ends = d.components(separatedBy: "...").compactMap { Int($0) }
                guard (1...2).contains(ends.count), ends[0] <= ends[ends.count - 1] else {
                    throw HarnessError.badInput("task '\(line)': distance '\(d)' is not N or A...B")
                }
                distances = ends[0]...ends[ends.count - 1]
            }
            let ordered = fields["ordered"] == nil ? 0 : Double(fields["ordered"]!) ?? -1
            task = try MultiKeyNeedleTask(vocabSize: try int("vocab"), sequenceLength: try int("seq"), needles: try int("needles"),
                                          questions: questions, distances: distances, orderedFraction: ordered)
        default:
            let valid = [TaskKind.mqar, .multikeyNeedle].map(\.rawValue).joined(separator: ", ")
            throw HarnessError.badInput("task '\(line)': cache policies are evaluated on tasks with a context and questions; valid: \(valid)")
        }
        guard "\(task.id.rawValue) \(task.configDescription)" == line else {
            throw HarnessError.badInput("task '\(line)' rebuilds as '\(task.id.rawValue) \(task.configDescription)'")
        }
        return task
    }
}
