// `attnlab-bench train`: training throughput of the reference tiny model with each
// mechanism: MQAR (vocabulary 8192, T 256, 16 pairs), 2 layers, d_model 128, 4 heads
// of 32 (2 kv heads for GQA and SWA, w 64), batch 32, no MLP (zoology's MQAR shape). One step = forward, backward, clipping and
// the AdamW update; tokens/s = batch · T / median step time.

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
    Training tokens/s of the reference tiny model per mechanism. --quick: fewer steps.
    """

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "train", argv)
        let out = try args.value("--out") ?? "results/bench/train.csv"
        let quick = args.flag("--quick")
        let threads = try args.int("--threads", atLeast: 1)
        let wanted = try args.value("--variants").map { $0.split(separator: ",").map(String.init) }
        if let wanted, let unknown = wanted.first(where: { Variant(rawValue: $0) == nil }) {
            throw BenchError.usage("train: --variants: unknown '\(unknown)'; valid: \(Variant.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try args.finish()
        if let threads { BLAS.setThreads(threads) }
        let variants = Variant.allCases.filter { wanted?.contains($0.rawValue) ?? true }
        let provenance = Provenance.current()
        let task = try MQARTask(vocabSize: 8192, sequenceLength: 256, kvPairs: 16)
        let attention = AttentionConfig(hiddenSize: 128, numHeads: 4, numKVHeads: 2, headDim: 32, slidingWindow: 64)
        var train = TrainConfig()
        train.batchSize = 32
        train.evalExamples = 1
        print("attnlab-bench train (\(provenance.build) build), OpenBLAS \(provenance.machine.blasCore) × \(BLAS.threads) threads")
        print("MQAR \(task.configDescription); d_model 128, 2 layers, 4 heads × 32, batch 32 (gqa, swa: 2 kv heads; swa: w 64)")

        let header = ["benchmark", "variant", "task", "seq_len", "d_model", "layers", "batch", "metric", "value", "unit"] + Provenance.header
        var rows: [[String]] = []
        for v in variants {
            let model = ModelConfig(vocabSize: 8192, layers: 2, attention: attention, variant: v)
            let trainer = try Trainer(modelConfig: model, task: task, config: train)
            var failure: Error?
            let times = AttentionBench.time(samples: quick ? 3 : 10, minSeconds: quick ? 0 : 3) {
                do { try trainer.trainStep() } catch { failure = failure ?? error }
            }
            if let failure { throw BenchError.mismatch("train: \(v.rawValue): \(failure)") }
            let med = AttentionBench.median(times)
            let tokens = Double(train.batchSize * task.sequenceLength)
            func add(_ metric: String, _ value: Double, _ unit: String) {
                rows.append(["train", v.rawValue, "mqar", String(task.sequenceLength), "128", "2", String(train.batchSize),
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
