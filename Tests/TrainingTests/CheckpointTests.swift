// Checkpoints: a run resumed from the file an interrupted run leaves behind ends
// bit-identically to an uninterrupted one (parameters, AdamW moments and counters, the
// curve, the accuracy); a checkpoint of another configuration, or a damaged file, is
// refused with an error and leaves the trainer as it was.

import Attention
import Foundation
import Models
import Tasks
import Testing
import TensorCore
import Training

@Suite("Checkpoints")
struct CheckpointTests {
    /// A: 8 steps, evaluating and checkpointing every 2. The checkpoint as it stood after
    /// step 4 (what a run killed during steps 5–6 leaves) is resumed by a fresh trainer,
    /// which must finish exactly where A finished.
    @Test(arguments: [Variant.gqa, .mla])
    func resumedRunIsBitIdenticalToUninterrupted(_ variant: Variant) throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let model = tinyModel(variant, layers: 2, mlp: 8)
        let config = tinyTrainConfig(steps: 8, evalEvery: 2)
        let a = try Trainer(modelConfig: model, task: tinyMQAR(), config: config)
        let snapshot = SnapshotProgress(at: 4, copying: dir.path("a.safetensors"), to: dir.path("b.safetensors"))
        let resultA = try a.run(progress: snapshot, checkpointPath: dir.path("a.safetensors"))
        try #require(snapshot.taken)

        let b = try Trainer(modelConfig: model, task: tinyMQAR(), config: config)
        let progressB = RecordingProgress()
        let resultB = try b.run(progress: progressB, checkpointPath: dir.path("b.safetensors"))

        // B really resumed at step 4 (a fresh start would also end identically).
        #expect(progressB.messages.contains { $0.contains("at step 4") }, "\(progressB.messages)")
        #expect(progressB.states.map(\.step) == [5, 6, 7, 8])
        let difference = firstStateDifference(a, b)
        #expect(difference == nil, "\(variant): first difference \(difference ?? "")")
        #expect(curveRows(resultB.curve) == curveRows(resultA.curve))
        #expect(resultA.curve.map(\.step) == [2, 4, 6, 8])
        #expect(resultB.finalAccuracy.bitPattern == resultA.finalAccuracy.bitPattern)
        #expect(resultB.bestAccuracy.bitPattern == resultA.bestAccuracy.bitPattern)
        #expect(resultB.steps == 8 && resultB.stopReason == .maxSteps)
        // The wall clock carries over: B's total includes A's first session.
        #expect(resultB.curve[1].elapsedSeconds == resultA.curve[1].elapsedSeconds)
    }

    /// A run stopped by its time budget, resumed with a larger one, ends with the same
    /// parameters as an uninterrupted run; its curve has one extra point where it stopped.
    @Test func runStoppedByTimeBudgetResumesExactly() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let model = tinyModel(.gqa)
        let config = tinyTrainConfig(steps: 6, evalEvery: 2)
        let a = try Trainer(modelConfig: model, task: tinyMQAR(), config: config)
        let resultA = try a.run()

        var hurried = config
        hurried.maxSeconds = 1e-9
        let first = try Trainer(modelConfig: model, task: tinyMQAR(), config: hurried)
        let stopped = try first.run(checkpointPath: dir.path("ck.safetensors"))
        #expect(stopped.stopReason == .maxTime && stopped.steps == 1)

        let second = try Trainer(modelConfig: model, task: tinyMQAR(), config: config)
        let resumed = try second.run(checkpointPath: dir.path("ck.safetensors"))
        #expect(resumed.stopReason == .maxSteps && resumed.steps == 6)
        let difference = firstStateDifference(a, second)
        #expect(difference == nil, "first difference \(difference ?? "")")
        #expect(resumed.curve.map(\.step) == [1, 2, 4, 6])
        #expect(resumed.curve.dropFirst().map(\.evalAccuracy) == resultA.curve.map(\.evalAccuracy))
        // Points after the first full window average the same steps.
        #expect(curveRows(Array(resumed.curve.suffix(2))) == curveRows(Array(resultA.curve.suffix(2))))
    }

    /// A run that already met its target resumes to the same result without training.
    @Test func finishedRunResumesWithoutTraining() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        var config = tinyTrainConfig(steps: 6, evalEvery: 2)
        config.targetAccuracy = 0
        let first = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        let done = try first.run(checkpointPath: dir.path("ck.safetensors"))
        let again = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        let progress = RecordingProgress()
        let result = try again.run(progress: progress, checkpointPath: dir.path("ck.safetensors"))
        #expect(progress.states.isEmpty)
        #expect(result.stopReason == .targetAccuracy && result.steps == done.steps)
        #expect(curveRows(result.curve) == curveRows(done.curve))
        #expect(firstStateDifference(first, again) == nil)
    }

    struct OtherRun: CustomTestStringConvertible, Sendable {
        let label: String
        let model: ModelConfig
        let task: MQARTask
        let config: TrainConfig
        var testDescription: String { label }
    }

    static let otherRuns: [OtherRun] = {
        let base = tinyTrainConfig(steps: 4, evalEvery: 2)
        var lr = base; lr.learningRate *= 2
        var seed = base; seed.seed += 1
        var steps = base; steps.maxSteps = 6
        var batch = base; batch.batchSize = 4
        return [
            OtherRun(label: "lr", model: tinyModel(.gqa), task: tinyMQAR(), config: lr),
            OtherRun(label: "seed", model: tinyModel(.gqa), task: tinyMQAR(), config: seed),
            OtherRun(label: "max-steps", model: tinyModel(.gqa), task: tinyMQAR(), config: steps),
            OtherRun(label: "batch-size", model: tinyModel(.gqa), task: tinyMQAR(), config: batch),
            OtherRun(label: "d-model", model: tinyModel(.gqa, width: 32), task: tinyMQAR(), config: base),
            OtherRun(label: "variant", model: tinyModel(.mha), task: tinyMQAR(), config: base),
            OtherRun(label: "layers", model: tinyModel(.gqa, layers: 2), task: tinyMQAR(), config: base),
            OtherRun(label: "task alpha", model: tinyModel(.gqa),
                     task: try! MQARTask(vocabSize: 32, sequenceLength: 16, kvPairs: 2, alpha: 0.5), config: base),
        ]
    }()

    @Test(arguments: otherRuns)
    func checkpointOfAnotherConfigurationIsRefused(_ other: OtherRun) throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.path("ck.safetensors")
        _ = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 4, evalEvery: 2))
            .run(checkpointPath: path)

        let trainer = try Trainer(modelConfig: other.model, task: other.task, config: other.config)
        let before = trainer.model.namedParameters.map { $0.tensor.data }
        let error = #expect(throws: TrainingError.self) { try trainer.run(checkpointPath: path) }
        guard case .checkpointMismatch(let message)? = error else {
            Issue.record("\(other.label): expected checkpointMismatch, got \(String(describing: error))")
            return
        }
        #expect(message.contains(path))
        #expect(trainer.step == 0 && trainer.model.namedParameters.map { $0.tensor.data } == before)
    }

    /// The time budget may change between sessions.
    @Test func checkpointWithAnotherTimeBudgetIsAccepted() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.path("ck.safetensors")
        let first = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: tinyTrainConfig(steps: 4, evalEvery: 2))
        _ = try first.run(checkpointPath: path)
        var config = tinyTrainConfig(steps: 4, evalEvery: 2)
        config.maxSeconds = 3600
        let again = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        #expect(try again.run(checkpointPath: path).steps == 4)
        #expect(firstStateDifference(first, again) == nil)
    }

    /// A config without a training cue encodes as before cues existed (no key), so older
    /// checkpoints decode and resume; one with a cue round-trips it.
    @Test func trainConfigEncodesACueOnlyWhenItHasOne() throws {
        let plain = try JSONEncoder().encode(tinyTrainConfig())
        #expect(!String(decoding: plain, as: UTF8.self).contains("cue"))
        #expect(try JSONDecoder().decode(TrainConfig.self, from: plain).cueSteps == 0)
        var cued = tinyTrainConfig()
        cued.cueSteps = 3
        #expect(try JSONDecoder().decode(TrainConfig.self, from: JSONEncoder().encode(cued)) == cued)
    }

    enum Damage: String, CaseIterable, Sendable {
        case empty, truncatedHeader, truncatedData, garbage, badRNGState, badStep, missingMoment, wrongFormat
    }

    @Test(arguments: Damage.allCases)
    func damagedCheckpointIsRefusedWithAnError(_ damage: Damage) throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.path("ck.safetensors")
        let config = tinyTrainConfig(steps: 4, evalEvery: 2)
        _ = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config).run(checkpointPath: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        func rewrite(_ edit: (inout SafeTensorsFile) throws -> Void) throws {
            var file = try SafeTensorsFile.read(from: path)
            try edit(&file)
            try file.write(to: path)
        }
        switch damage {
        case .empty: try Data().write(to: URL(fileURLWithPath: path))
        case .truncatedHeader: try bytes.prefix(40).write(to: URL(fileURLWithPath: path))
        case .truncatedData: try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: path))
        case .garbage: try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }).write(to: URL(fileURLWithPath: path))
        case .badRNGState: try rewrite { $0.metadata["train_rng_state"] = "1,2,x" }
        case .badStep: try rewrite { $0.metadata["step"] = "four" }
        case .wrongFormat: try rewrite { $0.metadata["format"] = "attnlab-checkpoint-0" }
        case .missingMoment:
            try rewrite { file in
                let kept = try file.names.filter { !$0.hasPrefix("optimizer.v.") }.map { ($0, try file.tensor(named: $0)) }
                file = try SafeTensorsFile(tensors: kept, metadata: file.metadata)
            }
        }
        let trainer = try Trainer(modelConfig: tinyModel(.gqa), task: tinyMQAR(), config: config)
        let before = trainer.model.namedParameters.map { $0.tensor.data }
        let moments = trainer.optimizer.m
        let error = #expect(throws: (any Error).self, "\(damage)") { try trainer.run(checkpointPath: path) }
        switch damage {
        case .badRNGState, .badStep, .wrongFormat:
            guard case .checkpointMismatch? = error as? TrainingError else {
                Issue.record("\(damage): expected checkpointMismatch, got \(String(describing: error))")
                return
            }
        case .empty, .truncatedHeader, .truncatedData, .garbage, .missingMoment:
            #expect(error is SafeTensorsError, "\(damage): \(String(describing: error))")
        }
        // Nothing was half-loaded.
        #expect(trainer.step == 0 && trainer.curve.isEmpty)
        #expect(trainer.model.namedParameters.map { $0.tensor.data } == before && trainer.optimizer.m == moments)
    }
}
