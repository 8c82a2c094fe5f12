// Shared by the training tests: tiny configurations (so the whole target runs in
// seconds in a debug build), a scratch directory per test, progress sinks that record
// or snapshot, and bit-exact comparisons of a trainer's state.

import Attention
import Foundation
import Models
import Tasks
import Testing
import TensorCore
import Training

/// MQAR with 2 pairs: V = 32, T = 16.
func tinyMQAR() -> MQARTask { try! MQARTask(vocabSize: 32, sequenceLength: 16, kvPairs: 2) }

/// C = 16, H = 4, G = 2, D = 4; MLA with d_c = 8, d_nope = 4, d_h^R = 2, d_v = 4.
func tinyModel(_ variant: Variant, vocab: Int = 32, layers: Int = 1, width: Int = 16, mlp: Int = 0) -> ModelConfig {
    let attention = AttentionConfig(hiddenSize: width, numHeads: 4, numKVHeads: 2, headDim: width / 4,
                                    kvLoraRank: 8, qkNopeHeadDim: width / 4, qkRopeHeadDim: 2, vHeadDim: width / 4)
    return ModelConfig(vocabSize: vocab, layers: layers, attention: attention, variant: variant, mlpHidden: mlp)
}

/// Batch 8, a handful of steps, small validation and test sets, no early stop.
func tinyTrainConfig(steps: Int = 6, evalEvery: Int = 2, seed: UInt64 = 7) -> TrainConfig {
    var c = TrainConfig()
    c.batchSize = 8
    c.maxSteps = steps
    c.warmupSteps = 2
    c.learningRate = 1e-2
    c.evalEvery = evalEvery
    c.evalExamples = 16
    c.testExamples = 16
    c.targetAccuracy = nil
    c.seed = seed
    return c
}

/// A fresh directory under the system temporary directory; removed by `cleanup()`.
struct ScratchDirectory {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-training-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Records every progress update and message.
final class RecordingProgress: ProgressSink {
    var states: [ProgressState] = []
    var messages: [String] = []
    func update(_ state: ProgressState) { states.append(state) }
    func message(_ text: String) { messages.append(text) }
    func finish() {}
}

/// Copies the checkpoint file as it is right after step `step` (the run saves it before
/// reporting progress): the file a run killed between that evaluation and the next
/// leaves behind.
final class SnapshotProgress: ProgressSink {
    let step: Int
    let source: String, destination: String
    var taken = false
    init(at step: Int, copying source: String, to destination: String) {
        self.step = step; self.source = source; self.destination = destination
    }
    func update(_ state: ProgressState) {
        guard state.step == step else { return }
        taken = (try? FileManager.default.copyItem(atPath: source, toPath: destination)) != nil
    }
    func message(_ text: String) {}
    func finish() {}
}

/// The first parameter, moment or counter where two trainers differ (bit patterns), or nil.
func firstStateDifference(_ a: Trainer, _ b: Trainer) -> String? {
    let pa = a.model.namedParameters, pb = b.model.namedParameters
    guard pa.map(\.name) == pb.map(\.name) else { return "parameter names differ" }
    func firstBits(_ x: [Float], _ y: [Float]) -> Int? {
        guard x.count == y.count else { return -1 }
        return x.indices.first { x[$0].bitPattern != y[$0].bitPattern }
    }
    for k in pa.indices {
        let name = pa[k].name
        if let i = firstBits(pa[k].tensor.data, pb[k].tensor.data) {
            return "\(name)[\(i)]: \(i >= 0 ? "\(pa[k].tensor.data[i]) vs \(pb[k].tensor.data[i])" : "sizes differ")"
        }
        if let i = firstBits(a.optimizer.m[k], b.optimizer.m[k]) { return "optimizer.m.\(name)[\(i)]" }
        if let i = firstBits(a.optimizer.v[k], b.optimizer.v[k]) { return "optimizer.v.\(name)[\(i)]" }
    }
    if a.optimizer.step != b.optimizer.step { return "AdamW step \(a.optimizer.step) vs \(b.optimizer.step)" }
    if a.optimizer.parameterSteps != b.optimizer.parameterSteps { return "AdamW parameter steps differ" }
    if a.step != b.step { return "trainer step \(a.step) vs \(b.step)" }
    return nil
}

/// A curve without its wall-clock column, with losses as bit patterns.
func curveRows(_ curve: [CurvePoint]) -> [[UInt64]] {
    curve.map { [UInt64($0.step), $0.loss.bitPattern, $0.evalAccuracy.bitPattern] }
}
