// What every synthetic task promises: fixed-length examples of token ids with
// next-token targets, deterministic given the generator, and `ignoreLabel` wherever a
// position is not scored. The registry of tasks (`TaskKind`) is an enum the compiler
// checks, and impossible configurations are thrown as `TaskConfigError`, naming the
// bad value and the valid range.
//
// Convention (all tasks): the target at position i is the token the model must output
// after reading inputs[0...i]. A causal model's logits at position i are compared with
// targets[i]; no further shift is applied anywhere.

import TensorCore

/// The target of every position that is not scored (PyTorch's `ignore_index`, zoology's -100).
public let ignoreLabel = -100

/// One batch of examples: inputs and next-token targets, both row-major. // [B, T]
public struct TaskBatch: Sendable, Equatable {
    /// B: the number of examples.
    public let batch: Int
    /// T: the length of every example.
    public let length: Int
    /// Token ids in 0..<vocab. // [B, T]
    public var inputs: [Int]
    /// The token to output after reading inputs[b, 0...t], or `ignoreLabel`. // [B, T]
    public var targets: [Int]

    public init(batch: Int, length: Int, inputs: [Int], targets: [Int]) {
        precondition(batch >= 0 && length >= 1, "batch \(batch) must be ≥ 0 and length \(length) ≥ 1")
        precondition(inputs.count == batch * length, "inputs hold \(inputs.count) tokens, expected B·T = \(batch)·\(length)")
        precondition(targets.count == batch * length, "targets hold \(targets.count) tokens, expected B·T = \(batch)·\(length)")
        self.batch = batch
        self.length = length
        self.inputs = inputs
        self.targets = targets
    }

    /// Positions whose target is not `ignoreLabel`.
    public var scoredCount: Int { targets.reduce(0) { $0 + ($1 == ignoreLabel ? 0 : 1) } }

    /// The inputs of example `b`. // [T]
    public func inputs(row b: Int) -> ArraySlice<Int> {
        precondition(b >= 0 && b < batch, "row \(b) outside 0..<\(batch)")
        return inputs[(b * length)..<((b + 1) * length)]
    }

    /// The targets of example `b`. // [T]
    public func targets(row b: Int) -> ArraySlice<Int> {
        precondition(b >= 0 && b < batch, "row \(b) outside 0..<\(batch)")
        return targets[(b * length)..<((b + 1) * length)]
    }

    /// Consecutive batches of at most `size` examples each, in order (for evaluation loops).
    public func chunks(ofSize size: Int) -> [TaskBatch] {
        precondition(size >= 1, "chunk size \(size) must be ≥ 1")
        return stride(from: 0, to: batch, by: size).map { start in
            let n = min(size, batch - start)
            let range = (start * length)..<((start + n) * length)
            return TaskBatch(batch: n, length: length, inputs: Array(inputs[range]), targets: Array(targets[range]))
        }
    }

    /// Example `b` as two aligned lines, ignored targets shown as `·`, for logs and tests:
    /// ```
    /// inputs:   3 14  5 ...
    /// targets:  ·  ·  · ...
    /// ```
    public func rendered(row b: Int) -> String {
        let ins = inputs(row: b).map(String.init)
        let outs = targets(row: b).map { $0 == ignoreLabel ? "·" : String($0) }
        let width = (ins + outs).map(\.count).max() ?? 1
        func line(_ cells: [String]) -> String {
            cells.map { String(repeating: " ", count: width - $0.count) + $0 }.joined(separator: " ")
        }
        return "inputs:  \(line(ins))\ntargets: \(line(outs))"
    }
}

/// A generator of fixed-length training examples.
public protocol SyntheticTask: Sendable {
    var id: TaskKind { get }
    /// V: the model vocabulary the task needs, special tokens included; every input and
    /// scored target is in 0..<V.
    var vocabSize: Int { get }
    /// T of every example.
    var sequenceLength: Int { get }
    /// One example: inputs and targets, T each. The target at position i is what the
    /// model must output after reading inputs[0...i]; `ignoreLabel` where not scored.
    func example(rng: inout Xoshiro256StarStar) -> (inputs: [Int], targets: [Int])
    /// The configuration in one line for logs and CSV, e.g. "vocab=8192 seq=64 kv-pairs=4 alpha=0.01".
    var configDescription: String { get }
    /// The task that validation and test sets are drawn from: itself, unless its training
    /// examples carry a learning cue that the held-out ones must not (multikey-needle).
    var heldOut: any SyntheticTask { get }
    /// An easier layout of the same task that teaches the skill its held-out examples
    /// test, for the first steps of training (`TrainConfig.cueSteps`); nil for none.
    var trainingCue: (any SyntheticTask)? { get }
}

extension SyntheticTask {
    public var heldOut: any SyntheticTask { self }
    public var trainingCue: (any SyntheticTask)? { nil }
}

/// A task whose examples are a context followed by questions about it: where a KV-cache
/// policy compresses (the context is compressed, the questions are not: kvpress's rule).
/// No position before `contextLength` is scored.
public protocol ContextThenQuestions: SyntheticTask {
    /// Positions 0 ..< contextLength are the context.
    var contextLength: Int { get }
}

extension SyntheticTask {
    /// `size` examples drawn one after another from `rng`. // [B, T]
    public func batch(size: Int, rng: inout Xoshiro256StarStar) -> TaskBatch {
        precondition(size >= 1, "batch size \(size) must be ≥ 1")
        let t = sequenceLength
        var inputs: [Int] = []
        var targets: [Int] = []
        inputs.reserveCapacity(size * t)
        targets.reserveCapacity(size * t)
        for _ in 0..<size {
            let e = example(rng: &rng)
            precondition(e.inputs.count == t && e.targets.count == t,
                         "\(id.rawValue) produced \(e.inputs.count) inputs and \(e.targets.count) targets, expected T = \(t)")
            inputs += e.inputs
            targets += e.targets
        }
        return TaskBatch(batch: size, length: t, inputs: inputs, targets: targets)
    }
}

/// A task whose single scored answer sits at a controlled distance before the position
/// that outputs it (passkey, multikey-needle), for accuracy-versus-distance curves.
public protocol DistanceControlledTask: SyntheticTask {
    /// Every distance an example can be generated at.
    var validDistances: ClosedRange<Int> { get }
    /// `size` examples all at exactly `distance`; throws a `TaskConfigError` naming
    /// `distance` when it is outside `validDistances`. // [B, T]
    func batch(size: Int, distance: Int, rng: inout Xoshiro256StarStar) throws -> TaskBatch
}

/// The registry of tasks. Every test and sweep that iterates `allCases` picks up a new case.
public enum TaskKind: String, CaseIterable, Codable, Sendable {
    case mqar, passkey, copying
    case selectiveCopying = "selective-copying"
    case multikeyNeedle = "multikey-needle"

    /// One line for listings.
    public var summary: String {
        switch self {
        case .mqar: return "multi-query associative recall (Arora et al. 2023, zoology): N key-value pairs, then queries at power-law gaps"
        case .passkey: return "passkey retrieval: a marked key among filler, asked for at a fixed distance"
        case .copying: return "copying (Jelassi et al. 2024): a random string, a delimiter, the string again"
        case .selectiveCopying: return "selective copying (Gu & Dao 2023 §3.1): data tokens among noise, recalled in order at markers"
        case .multikeyNeedle: return "multi-key needle in a haystack (RULER, Hsieh et al. 2024): K marked key-value needles among filler, asked for one key's value"
        }
    }

    /// Unknown ids get the list of valid ones.
    public static func parse(_ id: String) throws -> TaskKind {
        guard let kind = TaskKind(rawValue: id) else { throw UnknownTaskKind(id: id) }
        return kind
    }
}

public struct UnknownTaskKind: Error, CustomStringConvertible, Equatable {
    public let id: String
    public var description: String {
        "unknown task '\(id)'; valid: \(TaskKind.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}

/// An impossible task configuration: the task, the parameter (CLI spelling), its value,
/// and what would be valid.
public struct TaskConfigError: Error, CustomStringConvertible, Equatable {
    public let task: TaskKind
    public let parameter: String
    public let value: String
    public let reason: String

    public init(_ task: TaskKind, _ parameter: String, _ value: Any, _ reason: String) {
        self.task = task
        self.parameter = parameter
        self.value = "\(value)"
        self.reason = reason
    }

    public var description: String { "invalid \(task.rawValue) config: \(parameter) = \(value): \(reason)" }
}
