// Kind `throughput`: tokens per second of the tiny model with each mechanism, training
// (optimiser steps on the task's batches) and greedy decoding (batch 1, one token per
// step through the KV caches, from a prompt of `decode_context` tokens). Both after
// untimed warm-up steps; medians over the timed steps.

import Attention
import Foundation
import Models
import Tasks
import TensorCore
import Training

enum ThroughputExperiment {
    static let extraParameters = ["measure_steps", "decode_context", "decode_tokens"]

    static func validate(_ run: RunSpec) throws {
        _ = try TrainingExperiment.recipe(run)
        _ = try require(run, "measure_steps", atLeast: 1)
        _ = try require(run, "decode_context", atLeast: 1)
        _ = try require(run, "decode_tokens", atLeast: 1)
    }

    static func execute(_ run: RunSpec, context: RunContext) throws -> [Measurement] {
        let recipe = try TrainingExperiment.recipe(run)
        BLAS.setThreads(try run.optionalInt("threads") ?? 1)
        let trainer = try recipe.makeTrainer()
        let steps = try run.int("measure_steps")
        let tokensPerStep = Double(recipe.train.batchSize * recipe.seqLen)
        let trainTimes = try Stopwatch.timeThrowing(samples: steps, warmup: 2) { try trainer.trainStep() }
        let trainMedian = Stopwatch.median(trainTimes)

        let model = trainer.model
        let n = try run.int("decode_context"), count = try run.int("decode_tokens")
        var rng = Xoshiro256StarStar(seed: UInt64(run.seed))
        let prompt = (0..<n).map { _ in Int(rng.next() % UInt64(recipe.vocab)) }
        let caches = model.makeCaches(batch: 1, capacity: n + count + 3)
        _ = model.step(ids: prompt, batch: 1, length: n, caches: caches)
        var next = [prompt[n - 1]]
        let decodeTimes = Stopwatch.time(samples: count, warmup: 3) {
            next = argmaxRows(model.step(ids: next, batch: 1, length: 1, caches: caches).reshaped([1, -1]))
        }
        let decodeMedian = Stopwatch.median(decodeTimes)
        return [
            Measurement("tokens_per_second", tokensPerStep / trainMedian, "tokens/s", at: ["phase": "train"]),
            Measurement("median_seconds_per_step", trainMedian, "s", at: ["phase": "train"]),
            Measurement("tokens_per_second", 1 / decodeMedian, "tokens/s", at: ["phase": "decode"]),
            Measurement("median_seconds_per_step", decodeMedian, "s", at: ["phase": "decode"]),
            Measurement("parameters", Double(model.parameterCount), "parameters"),
        ]
    }
}

extension Stopwatch {
    static func timeThrowing(samples: Int, warmup: Int, _ body: () throws -> Void) throws -> [Double] {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<samples {
            let t0 = now()
            try body()
            times.append(now() - t0)
        }
        return times
    }
}
