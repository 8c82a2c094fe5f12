// swift-tools-version:6.0
import PackageDescription

// The hot numerical module is compiled with FMA-capable code generation: without a
// `-target-cpu` that has FMA, SIMD multiply-add lowers to a call to `fmaf` per lane.
let hotSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

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
        .target(name: "TensorCore", dependencies: ["CBLAS", "CMalloc"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "NN", dependencies: ["TensorCore"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "Attention", dependencies: ["TensorCore", "NN", "CPrefetch"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "Models", dependencies: ["TensorCore", "NN", "Attention"], exclude: ["README.md"], swiftSettings: hotSettings),
        // The readable reference: plain loops in Double, no BLAS, no autograd.
        .target(name: "AttentionReference", exclude: ["README.md"]),
        // Synthetic long-sequence tasks: MQAR, passkey, copying, selective copying.
        .target(name: "Tasks", dependencies: ["TensorCore"], exclude: ["README.md"]),
        .target(name: "Training", dependencies: ["Models", "Tasks", "NN", "TensorCore"], exclude: ["README.md"], swiftSettings: hotSettings),
        // Experiment specs, runner, shards, merge, provenance, KV-cache calculator, report generator.
        .target(name: "Harness", dependencies: ["TensorCore", "NN", "Attention", "Models", "Tasks", "Training"], exclude: ["README.md"], swiftSettings: hotSettings),
        .executableTarget(
            name: "attnlab",
            dependencies: [
                "TensorCore", "NN", "Attention", "Models", "Tasks", "Training", "Harness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(name: "attnlab-bench", dependencies: ["TensorCore", "CBLAS", "Attention", "Models", "Tasks", "Training", "Harness"], exclude: ["README.md"], swiftSettings: hotSettings),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport", exclude: ["README.md"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "AttentionTests", dependencies: ["Attention", "AttentionReference", "NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "AttentionReferenceTests", dependencies: ["AttentionReference"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Attention", "NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "TensorCore"]),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "Attention", "Models", "Tasks", "TensorCore"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Tasks", "Attention", "TensorCore"]),
    ],
    swiftLanguageModes: [.v5]
)
