// attnlab-bench: performance benchmarks that write tidy CSV (they are not tests).
//
//   attnlab-bench <benchmark> [options]      e.g. attnlab-bench matmul --threads 1,2
//   attnlab-bench <benchmark> --help
//
// Adding a benchmark: one file with a `run(arguments:)` entry point and a usage text,
// plus one case below; the exhaustive switches make the compiler ask for the rest.
// Time only release builds: `swift build -c release --product attnlab-bench`.

import CPUCheck
import Foundation
import TensorCore

enum Benchmark: String, CaseIterable {
    case machine, matmul, attention, train
    case policyDecode = "policy-decode"
    case evictionDecode = "eviction-decode"

    var summary: String {
        switch self {
        case .machine: return "peak sgemm GFLOP/s and STREAM triad memory bandwidth (the roofline ceilings)"
        case .matmul: return "Tensor.matmul against direct cblas_sgemm/sgemv calls"
        case .attention: return "prefill and decode time of every mechanism against context length"
        case .train: return "training tokens/s of the reference tiny model per mechanism"
        case .policyDecode: return "decode time over an int8 cache (dequantised in the kernel) against Float32"
        case .evictionDecode: return "decode time with a cache held at a budget by StreamingLLM, H2O or TOVA"
        }
    }

    var usage: String {
        switch self {
        case .machine: return MachineBench.usage
        case .matmul: return MatmulBench.usage
        case .attention: return AttentionBench.usage
        case .train: return TrainBench.usage
        case .policyDecode: return PolicyDecodeBench.usage
        case .evictionDecode: return EvictionDecodeBench.usage
        }
    }

    func run(_ arguments: [String]) throws {
        switch self {
        case .machine: try MachineBench.run(arguments)
        case .matmul: try MatmulBench.run(arguments)
        case .attention: try AttentionBench.run(arguments)
        case .train: try TrainBench.run(arguments)
        case .policyDecode: try PolicyDecodeBench.run(arguments)
        case .evictionDecode: try EvictionDecodeBench.run(arguments)
        }
    }
}

func topLevelUsage() -> String {
    var text = "usage: attnlab-bench <benchmark> [options]\n\nbenchmarks:\n"
    for b in Benchmark.allCases {
        text += "  " + b.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + b.summary + "\n"
    }
    text += "\n'attnlab-bench <benchmark> --help' shows a benchmark's options."
    return text
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

RuntimeEnvironment.apply()
CPUCheck.requireBuildFeatures(program: "attnlab-bench")
let argv = Array(CommandLine.arguments.dropFirst())
guard let name = argv.first, !["-h", "--help", "help"].contains(name) else {
    print(topLevelUsage())
    exit(argv.isEmpty ? 2 : 0)
}
guard let benchmark = Benchmark(rawValue: name) else {
    printError("attnlab-bench: unknown benchmark '\(name)'; valid: \(Benchmark.allCases.map(\.rawValue).joined(separator: ", "))")
    exit(2)
}
let rest = Array(argv.dropFirst())
MemoryTuning.keepFreedMemory()
if rest.contains("--help") || rest.contains("-h") {
    print(benchmark.usage)
    exit(0)
}
do {
    try benchmark.run(rest)
} catch let error as BenchError {
    printError("attnlab-bench: \(error)")
    switch error {
    case .usage: exit(2)
    case .io, .mismatch: exit(1)
    }
} catch {
    printError("attnlab-bench: \(error)")
    exit(1)
}
