// swift-tools-version:6.0
import PackageDescription

import Foundation

// The hot numerical modules are compiled with FMA-capable code generation: on x86-64
// without a `-target-cpu` that has FMA, SIMD multiply-add lowers to a call to `fmaf` per
// lane. Haswell (AVX2 + FMA) is the x86-64 baseline here; ATTNLAB_GENERIC_CPU=1 builds
// for any x86-64 (slower kernels). Other architectures (aarch64: FMA is in the base ISA)
// get no CPU flag. The manifest is evaluated on the building machine, which is the
// target for a native build.
let genericCPU = ProcessInfo.processInfo.environment["ATTNLAB_GENERIC_CPU"].map { !$0.isEmpty && $0 != "0" } ?? false
#if arch(x86_64)
let cpuFlags: [String] = genericCPU ? [] : ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
// Release builds use -O, with overflow and precondition checks kept: -Ounchecked was
// measured not to matter (scripts/compare-ounchecked.sh, results/bench/ounchecked/: -O over
// -Ounchecked time 0.97–1.01 for training steps, prefill and decode, noise both ways).
// ATTNLAB_OUNCHECKED=1 builds the hot modules with it, for that comparison.
let uncheckedKernels = ProcessInfo.processInfo.environment["ATTNLAB_OUNCHECKED"].map { !$0.isEmpty && $0 != "0" } ?? false
let hotSettings: [SwiftSetting] = (cpuFlags.isEmpty ? [] : [.unsafeFlags(cpuFlags)])
    + (uncheckedKernels ? [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))] : [])
// The executables check at start-up that the CPU has what the kernels were compiled for.
let cpuCheckSettings: [SwiftSetting] = cpuFlags.isEmpty ? [] : [.define("ATTNLAB_NEEDS_AVX2_FMA")]

let package = Package(
    name: "AttnLab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "attnlab", targets: ["attnlab"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Attention", targets: ["Attention"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // glibc's mallopt, to keep large freed buffers for reuse (see MemoryTuning.swift).
        .systemLibrary(name: "CMalloc"),
        // __builtin_prefetch, for the decode kernel's streaming over the KV cache.
        .systemLibrary(name: "CPrefetch"),
        // Start-up check that the CPU has what the numerical modules were compiled for
        // (compiled without CPU flags itself).
        .target(name: "CPUCheck", swiftSettings: cpuCheckSettings),
        .target(name: "TensorCore", dependencies: ["CBLAS", "CMalloc"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "NN", dependencies: ["TensorCore"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "Attention", dependencies: ["TensorCore", "NN", "CPrefetch"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "Models", dependencies: ["TensorCore", "NN", "Attention"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "CachePolicies", dependencies: ["TensorCore", "Attention"], swiftSettings: hotSettings),
        // The readable reference: plain loops in Double, no BLAS, no autograd.
        .target(name: "AttentionReference", exclude: ["README.md"]),
        // Synthetic long-sequence tasks: MQAR, passkey, copying, selective copying.
        .target(name: "Tasks", dependencies: ["TensorCore"], exclude: ["README.md"]),
        .target(name: "Training", dependencies: ["Models", "Tasks", "NN", "TensorCore"], exclude: ["README.md"], swiftSettings: hotSettings),
        // Experiment specs, runner, shards, merge, provenance, KV-cache calculator, report generator.
        .target(name: "Harness", dependencies: ["TensorCore", "NN", "Attention", "CachePolicies", "Models", "Tasks", "Training"], exclude: ["README.md"], swiftSettings: hotSettings),
        .executableTarget(
            name: "attnlab",
            dependencies: [
                "TensorCore", "NN", "Attention", "CachePolicies", "Models", "Tasks", "Training", "Harness", "CPUCheck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]
        ),
        // libFuzzer targets for the readers of untrusted files; a fuzzer only when built with
        // -sanitize=fuzzer and -DATTNLAB_FUZZ (see scripts/fuzz.sh, docs/reliability.md).
        .executableTarget(name: "attnlab-fuzz", dependencies: ["TensorCore", "Attention", "Harness"]),
        .executableTarget(name: "attnlab-bench", dependencies: ["TensorCore", "CBLAS", "Attention", "CachePolicies", "Models", "Tasks", "Training", "Harness", "CPUCheck"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport", exclude: ["README.md"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport", "CPUCheck"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "AttentionTests", dependencies: ["Attention", "AttentionReference", "NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "AttentionReferenceTests", dependencies: ["AttentionReference"]),
        .testTarget(name: "CachePoliciesTests", dependencies: ["CachePolicies", "Attention", "Models", "TensorCore", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Attention", "NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "TensorCore"]),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "Attention", "CachePolicies", "Models", "Tasks", "Training", "TensorCore"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Tasks", "Attention", "TensorCore"]),
    ],
    swiftLanguageModes: [.v5]
)
