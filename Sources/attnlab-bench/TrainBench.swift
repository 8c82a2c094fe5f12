// `attnlab-bench train`: training throughput of the reference tiny model with each
// mechanism: MQAR (vocabulary 8192, T 256, 16 pairs), 2 layers, d_model 128, 4 heads
// of 32 (2 kv heads for GQA and SWA, w 64), batch 32, no MLP (zoology's MQAR shape). One step = forward, backward, clipping and
// the AdamW update; tokens/s = batch · T / median step time. --seq-len, --d-model,
// --batch, --window and --kv-pairs change the shape (the recall sweep's cells: T 64–256,
// d_model 64 or 128, batch 64, w 32); --steps N runs exactly N
// timed steps after one warm-up (for profilers: callgrind counts the same work every run).

import Attention
import Foundation
import Harness
import Models
import Tasks
import TensorCore
import Training

enum TrainBench {
    static let usage = """
    usage: attnlab-bench train [--out results/bench/train.csv] [--threads N] [--quick] [--variants mha,gqa,...]
                               [--seq-len 256] [--d-model 128] [--batch 32] [--window 64] [--kv-pairs 16] [--steps N]
    Training tokens/s of the reference tiny model per mechanism (4 heads of d_model/4).
    --quick: fewer steps. --steps N: exactly N timed steps after one warm-up step.
    """

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "train", argv)
        let out = try args.value("--out") ?? "results/bench/train.csv"
        let quick = args.flag("--quick")
        let threads = try args.int("--threads", atLeast: 1)
        let wanted = try args.value("--variants").map { $0.split(separator: ",").map(String.init) }
        let seqLen = try args.int("--seq-len", atLeast: 2) ?? 256
        let dModel = try args.int("--d-model", atLeast: 4) ?? 128
        let batch = try args.int("--batch", atLeast: 1) ?? 32
        let window = try args.int("--window", atLeast: 1) ?? 64
        let kvPairs = try args.int("--kv-pairs", atLeast: 1) ?? 16
        let steps = try args.int("--steps", atLeast: 1)
        if let wanted, let unknown = wanted.first(where: { Variant(rawValue: $0) == nil }) {
            throw BenchError.usage("train: --variants: unknown '\(unknown)'; valid: \(Variant.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try args.finish()
        if let threads { BLAS.setThreads(threads) }
        let variants = Variant.allCases.filter { wanted?.contains($0.rawValue) ?? true }
        let provenance = Provenance.current()
        guard dModel % 4 == 0 else { throw BenchError.usage("train: --d-model \(dModel) must be a multiple of 4 (4 heads)") }
        let task = try MQARTask(vocabSize: 8192, sequenceLength: seqLen, kvPairs: kvPairs)
        let attention = AttentionConfig(hiddenSize: dModel, numHeads: 4, numKVHeads: 2, headDim: dModel / 4, slidingWindow: window)
        var train = TrainConfig()
        train.batchSize = batch
        train.evalExamples = 1
        print("attnlab-bench train (\(provenance.build) build), OpenBLAS \(provenance.machine.blasCore) × \(BLAS.threads) threads")
        print("MQAR \(task.configDescription); d_model \(dModel), 2 layers, 4 heads × \(dModel / 4), batch \(batch) (gqa, swa: 2 kv heads; swa: w \(window))")

        let header = ["benchmark", "variant", "task", "seq_len", "d_model", "layers", "batch", "metric", "value", "unit"] + Provenance.header
        var rows: [[String]] = []
        for v in variants {
            let model = ModelConfig(vocabSize: 8192, layers: 2, attention: attention, variant: v)
            let trainer = try Trainer(modelConfig: model, task: task, config: train)
            var failure: Error?
            let step = { do { try trainer.trainStep() } catch { failure = failure ?? error } }
            let times: [Double]
            if let steps {
                times = AttentionBench.time(samples: steps, minSeconds: 0, maxSamples: steps, step)
            } else {
                times = AttentionBench.time(samples: quick ? 3 : 10, minSeconds: quick ? 0 : 3, step)
            }
            if let failure { throw BenchError.mismatch("train: \(v.rawValue): \(failure)") }
            let med = AttentionBench.median(times)
            let tokens = Double(train.batchSize * task.sequenceLength)
            func add(_ metric: String, _ value: Double, _ unit: String) {
                rows.append(["train", v.rawValue, "mqar", String(task.sequenceLength), String(dModel), "2", String(train.batchSize),
                             metric, String(value), unit] + provenance.columns(blasThreads: BLAS.threads))
            }
            add("median_step_seconds", med, "s")
            add("tokens_per_second", tokens / med, "tokens/s")
            add("parameters", Double(trainer.model.parameterCount), "count")
            print(String(format: "  %@ %8.1f ms/step  %8.0f tokens/s", v.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0),
                         med * 1e3, tokens / med))
        }
        try CSV.writeAtomically(CSV.render(header: header, rows: rows), to: out)
        print("\nwrote \(rows.count) rows to \(out)")
    }
}
