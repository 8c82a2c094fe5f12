// Checkpoints: one safetensors file with the parameters (HF names), AdamW's moments
// (`optimizer.m.<name>`, `optimizer.v.<name>`), and in its metadata the step, the
// training stream's generator state, AdamW's step counts, the elapsed time, the curve
// so far and the configurations. Float32 round-trips exactly, so a resumed run
// continues bit-identically to an uninterrupted one (with the same thread count).

import Foundation
import Models
import TensorCore

extension Trainer {
    static let format = "attnlab-checkpoint-1"

    func saveCheckpoint(to path: String, elapsed: Double) throws {
        let named = model.namedParameters
        var tensors: [(name: String, tensor: Tensor)] = named.map { ($0.name, $0.tensor) }
        for (k, p) in named.enumerated() {
            tensors.append(("optimizer.m.\(p.name)", Tensor(shape: p.tensor.shape, data: optimizer.m[k])))
            tensors.append(("optimizer.v.\(p.name)", Tensor(shape: p.tensor.shape, data: optimizer.v[k])))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata: [String: String] = [
            "format": Self.format,
            "step": String(step),
            "train_rng_state": trainStream.state.map(String.init).joined(separator: ","),
            "adamw_step": String(optimizer.step),
            "adamw_parameter_steps": optimizer.parameterSteps.map(String.init).joined(separator: ","),
            "elapsed_seconds": String(elapsed),
            "loss_sum": String(lossSum),
            "loss_steps": String(lossSteps),
            "curve": String(decoding: try encoder.encode(curve), as: UTF8.self),
            "train_config": String(decoding: try encoder.encode(config), as: UTF8.self),
            "model_config": String(decoding: try encoder.encode(model.config), as: UTF8.self),
            "task": "\(task.id.rawValue) \(task.configDescription)",
        ]
        try AtomicFile.write(SafeTensorsFile(tensors: tensors, metadata: metadata).encode(), to: path)
    }

    /// The first top-level JSON field whose value differs, as "field: saved X, now Y"
    /// (the whole strings when they are not JSON objects).
    static func firstDifference(_ saved: String, _ current: String) -> String {
        guard let a = try? JSONSerialization.jsonObject(with: Data(saved.utf8)) as? [String: Any],
              let b = try? JSONSerialization.jsonObject(with: Data(current.utf8)) as? [String: Any] else {
            return "saved '\(saved)', now '\(current)'"
        }
        for key in Set(a.keys).union(b.keys).sorted() {
            let x = a[key].map { "\($0)" } ?? "absent", y = b[key].map { "\($0)" } ?? "absent"
            if x != y { return "\(key): saved \(x), now \(y)" }
        }
        return "saved '\(saved)', now '\(current)'"
    }

    func resume(from path: String) throws {
        let file = try SafeTensorsFile.read(from: path)
        let meta = file.metadata
        func field(_ key: String) throws -> String {
            guard let v = meta[key] else { throw TrainingError.checkpointMismatch("'\(path)' has no '\(key)' entry") }
            return v
        }
        guard try field("format") == Self.format else {
            throw TrainingError.checkpointMismatch("'\(path)' is format '\(meta["format"] ?? "")', expected '\(Self.format)'")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let expectTrain = String(decoding: try encoder.encode(config), as: UTF8.self)
        let expectModel = String(decoding: try encoder.encode(model.config), as: UTF8.self)
        let expectTask = "\(task.id.rawValue) \(task.configDescription)"
        // The time budget may differ between sessions; everything else must match.
        var savedTrain = try JSONDecoder().decode(TrainConfig.self, from: Data(try field("train_config").utf8))
        savedTrain.maxSeconds = config.maxSeconds
        let savedTrainJSON = String(decoding: try encoder.encode(savedTrain), as: UTF8.self)
        for (what, saved, current) in [("training config", savedTrainJSON, expectTrain),
                                       ("model config", try field("model_config"), expectModel),
                                       ("task", try field("task"), expectTask)] where saved != current {
            throw TrainingError.checkpointMismatch("'\(path)' was made with a different \(what): \(Self.firstDifference(saved, current))")
        }
        let named = model.namedParameters
        var loaded: [(Tensor, [Float], [Float], [Float])] = []
        for p in named {
            let w = try file.tensor(named: p.name, expectedShape: p.tensor.shape)
            let m = try file.tensor(named: "optimizer.m.\(p.name)", expectedShape: p.tensor.shape)
            let v = try file.tensor(named: "optimizer.v.\(p.name)", expectedShape: p.tensor.shape)
            loaded.append((p.tensor, w.data, m.data, v.data))
        }
        let rngWords = try field("train_rng_state").split(separator: ",").compactMap { UInt64($0) }
        let parameterSteps = try field("adamw_parameter_steps").split(separator: ",").compactMap { Int($0) }
        guard rngWords.count == 4, rngWords.contains(where: { $0 != 0 }), parameterSteps.count == named.count,
              let savedStep = Int(try field("step")), let adamStep = Int(try field("adamw_step")),
              let elapsed = Double(try field("elapsed_seconds")), let lossSum = Double(try field("loss_sum")),
              let lossSteps = Int(try field("loss_steps")) else {
            throw TrainingError.checkpointMismatch("'\(path)' has malformed optimiser or generator state")
        }
        let curve = try JSONDecoder().decode([CurvePoint].self, from: Data(try field("curve").utf8))
        for (k, (tensor, w, m, v)) in loaded.enumerated() {
            tensor.data = w
            optimizer.m[k] = m
            optimizer.v[k] = v
        }
        optimizer.step = adamStep
        optimizer.parameterSteps = parameterSteps
        trainStream = Xoshiro256StarStar(state: rngWords)
        step = savedStep
        elapsedBefore = elapsed
        self.lossSum = lossSum
        self.lossSteps = lossSteps
        self.curve = curve
    }
}
