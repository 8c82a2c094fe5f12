// `attnlab-bench matmul`: what the Tensor wrapper costs over calling OpenBLAS directly.
//
// For each shape op(A)[M,K] · op(B)[K,N] and each thread count it times, interleaved:
//   cblas_sgemm     the direct call on preallocated buffers: the tensors' own input storage
//                   and an output placed like the wrapper's (same offset in its 4 KiB page,
//                   see PlacedFloats);
//   cblas_sgemv     the direct call, for M = 1 only (Tensor.matmul routes M = 1 there);
//   tensor_matmul   Tensor.matmul under Autograd.inference (no tape), which allocates its
//                   output on every call: that allocation is part of the wrapper's cost.
// Before timing, the wrapper's result is checked against the direct call it dispatches to
// (and, for M = 1, sgemv against sgemm); a difference beyond 1e-5 relative aborts the run.

import CBLAS
import Foundation
import Harness
import TensorCore

/// One product: A is [M, K]; B is [K, N], or [N, K] used transposed (the Linear layer's x·Wᵀ).
struct MatmulShape {
    var label: String
    var m: Int
    var k: Int
    var n: Int
    var transB: Bool = false

    var flops: Double { 2 * Double(m) * Double(k) * Double(n) }

    /// The overhead target ("≤ 5 % at sizes ≥ 256") applies when the largest extent is ≥ 256.
    var targetApplies: Bool { max(m, k, n) >= 256 }

    /// The direct routine Tensor.matmul dispatches to for this shape.
    var baseline: MatmulImpl { m == 1 ? .cblasSgemv : .cblasSgemm }
}

enum MatmulImpl: String {
    case cblasSgemm = "cblas_sgemm"
    case cblasSgemv = "cblas_sgemv"
    case tensorMatmul = "tensor_matmul"
}

/// Output storage for the direct calls that can be placed at any offset within a 4 KiB
/// page: they are put where the wrapper's freshly allocated output lands. sgemv's speed
/// changes by up to 2× with the relative placement of y and B (4K aliasing, cache sets),
/// so the direct call gets the wrapper's placement, not a luckier or unluckier one.
/// The storage is allocated up front (with a page of slack) so that placing it allocates
/// nothing and cannot move the wrapper's next output.
final class PlacedFloats {
    static let page = 4096
    let raw: UnsafeMutableRawPointer
    let count: Int
    private(set) var pointer: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        let bytes = max(1, count) * MemoryLayout<Float>.stride + PlacedFloats.page
        raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: PlacedFloats.page)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.assumingMemoryBound(to: Float.self)
    }

    deinit { raw.deallocate() }

    /// Moves the storage to `offset` bytes into its page (a multiple of 4 below 4096).
    func place(atPageOffset offset: Int) {
        precondition(offset >= 0 && offset < PlacedFloats.page && offset % MemoryLayout<Float>.stride == 0,
                     "page offset \(offset) must be a multiple of 4 in 0..<\(PlacedFloats.page)")
        pointer = (raw + offset).assumingMemoryBound(to: Float.self)
    }

    var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}

/// The byte offset of an array's storage within its 4 KiB page.
func pageOffset(of array: [Float]) -> Int {
    array.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) % PlacedFloats.page }
}

enum MatmulBench {
    static let overheadTarget = 0.05
    static let relativeTolerance: Float = 1e-5

    static let usage = """
    usage: attnlab-bench matmul [--out PATH] [--threads LIST] [--repeats K]
                                [--min-seconds S] [--quick] [--only SHAPES]

    Times Tensor.matmul against direct cblas_sgemm (and cblas_sgemv for M = 1) calls and
    writes one tidy CSV row per (shape, threads, implementation, metric).

    Shapes (A[M,K] · B[K,N]): squares 64, 128, 256, 512, 1024, 2048; attention-like
    1×128·128×4096 (decode scores) and 4096×64·64×4096 (prefill scores); the Linear
    layer's x·Wᵀ at 1024 (B stored [N, K], transposed).

    options:
      --out PATH         CSV to write (default results/bench/matmul.csv), atomically
      --threads LIST     OpenBLAS thread counts, comma-separated (default 1 and all cores)
      --repeats K        minimum samples per series (default 10)
      --min-seconds S    minimum measured seconds per series (default 0.3)
      --quick            smoke run: sizes ≤ 256 and the decode shape, 0.02 s per series
      --only SHAPES      only these shapes, by label, comma-separated (e.g. square-256)

    metrics: median_seconds, min_seconds (s per call), gflops (2·M·K·N / median),
    samples, calls_per_sample, page_faults_per_call; for tensor_matmul also
      overhead_ratio                 its median / the median of the routine it dispatches
                                     to (cblas_sgemv for M = 1, else cblas_sgemm) − 1
      overhead_ratio_paired          median over interleaved rounds of the per-round
                                     ratio − 1 (robust to load that comes and goes)
      overhead_ratio_vs_cblas_sgemm  M = 1 only: against the plain sgemm call
    Target: overhead_ratio ≤ 5 % at sizes ≥ 256 (largest extent), reported as PASS/MISS;
    a MISS does not fail the run.
    Build with -c release: debug timings are meaningless.
    """

    static func shapes(quick: Bool) -> [MatmulShape] {
        let squares = quick ? [64, 128, 256] : [64, 128, 256, 512, 1024, 2048]
        var list = squares.map { MatmulShape(label: "square-\($0)", m: $0, k: $0, n: $0) }
        list.append(MatmulShape(label: "attn-decode-1x128x4096", m: 1, k: 128, n: 4096))
        if !quick {
            list.append(MatmulShape(label: "attn-prefill-4096x64x4096", m: 4096, k: 64, n: 4096))
        }
        let linear = quick ? 256 : 1024
        list.append(MatmulShape(label: "linear-xWt-\(linear)", m: linear, k: linear, n: linear, transB: true))
        return list
    }

    struct Outcome {
        var shape: MatmulShape
        var threads: Int
        /// Ratio of medians minus 1: the target's criterion.
        var overhead: Double
        /// Median over rounds of the per-round ratio minus 1: less sensitive to load drift.
        var paired: Double
    }

    /// Median over the interleaved rounds of (wrapper sample / baseline sample) − 1. Both
    /// samples of a round ran back to back, so load that comes and goes cancels out.
    static func pairedOverhead(_ wrapper: SeriesStats, over baseline: SeriesStats) -> Double {
        let ratios = zip(wrapper.samples, baseline.samples).map { $0 / $1 }
        return SeriesStats(samples: ratios, callsPerSample: 1, totalSeconds: 0).median - 1
    }

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "matmul", argv)
        let out = try args.value("--out") ?? "results/bench/matmul.csv"
        let quick = args.flag("--quick")
        let only = try args.value("--only").map { $0.split(separator: ",").map(String.init) }
        let allShapes = shapes(quick: quick)
        if let only, let unknown = only.first(where: { name in !allShapes.contains { $0.label == name } }) {
            throw BenchError.usage("matmul: --only: unknown shape '\(unknown)'; valid: \(allShapes.map(\.label).joined(separator: ", "))")
        }
        let selected = allShapes.filter { only?.contains($0.label) ?? true }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var threadCounts = try args.intList("--threads", atLeast: 1) ?? [1, cores]
        threadCounts = threadCounts.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        var plan = TimingPlan()
        if quick { plan.minSeconds = 0.02; plan.minSamples = 3; plan.warmupSeconds = 0.005 }
        if let k = try args.int("--repeats", atLeast: 1) { plan.minSamples = k }
        if let s = try args.double("--min-seconds", above: 0) { plan.minSeconds = s }
        try args.finish()

        let provenance = Provenance.current()
        let m = provenance.machine
        print("attnlab-bench matmul (\(provenance.build) build)")
        print("cpu: \(m.cpuModel) (\(m.logicalCores) logical cores)")
        print("openblas core: \(m.blasCore), OPENBLAS_CORETYPE=\(m.blasCoreTypeEnv.isEmpty ? "(unset)" : m.blasCoreTypeEnv)")
        print("commit: \(provenance.gitCommit.isEmpty ? "(none)" : provenance.gitCommit)\(provenance.gitDirty == "true" ? " (dirty)" : "")")
        print("threads: \(threadCounts.map(String.init).joined(separator: ", ")); ≥ \(plan.minSamples) samples and ≥ \(plan.minSeconds) s per series")
        if provenance.build != "release" {
            print("warning: debug build; timings are meaningless (swift build -c release --product attnlab-bench)")
        }
        print("")
        print(tableHeader())

        let header = ["benchmark", "shape", "m", "k", "n", "trans_b", "threads", "implementation",
                      "metric", "value", "unit"] + Provenance.header
        var rows: [[String]] = []
        var outcomes: [Outcome] = []
        var rng = Xoshiro256StarStar(seed: 0x6D61_746D_756C)  // "matmul"

        for shape in selected {
            // A [M, K], B [K, N] or [N, K]; uniform in [-1, 1). The direct calls read the
            // tensors' own storage (aData and bData share it), so inputs sit at the same place.
            let aData = (0..<shape.m * shape.k).map { _ in 2 * rng.nextFloat() - 1 }
            let bData = (0..<shape.k * shape.n).map { _ in 2 * rng.nextFloat() - 1 }
            let aT = Tensor(shape: [shape.m, shape.k], data: aData)
            let bT = Tensor(shape: shape.transB ? [shape.n, shape.k] : [shape.k, shape.n], data: bData)
            let useTransB = shape.transB

            // Direct outputs, placed like the wrapper's output before each series (below).
            let cGemm = PlacedFloats(count: shape.m * shape.n)  // [M, N]
            let cGemv = PlacedFloats(count: shape.m == 1 ? shape.n : 1)  // [1, N] when M = 1

            let M = Int32(shape.m), N = Int32(shape.n), K = Int32(shape.k)
            let ldb = shape.transB ? K : N
            let transB = shape.transB ? CblasTrans : CblasNoTrans
            let sgemm: () -> Void = {
                aData.withUnsafeBufferPointer { pa in
                    bData.withUnsafeBufferPointer { pb in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB, M, N, K,
                                    1, pa.baseAddress!, K, pb.baseAddress!, ldb, 0, cGemm.pointer, N)
                    }
                }
            }
            let sgemv: () -> Void = {
                aData.withUnsafeBufferPointer { pa in
                    bData.withUnsafeBufferPointer { pb in
                        if useTransB {
                            // y = B·x, B [N, K]
                            cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1, pb.baseAddress!, K, pa.baseAddress!, 1, 0, cGemv.pointer, 1)
                        } else {
                            // y = Bᵀ·x, B [K, N]
                            cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1, pb.baseAddress!, N, pa.baseAddress!, 1, 0, cGemv.pointer, 1)
                        }
                    }
                }
            }
            let wrapper: () -> Void = { _ = Tensor.matmul(aT, bT, transposeB: useTransB) }

            var impls: [(MatmulImpl, () -> Void)] = [(.cblasSgemm, sgemm)]
            if shape.m == 1 { impls.append((.cblasSgemv, sgemv)) }
            impls.append((.tensorMatmul, wrapper))

            for threads in threadCounts {
                BLAS.setThreads(threads)
                let blasThreads = BLAS.threads
                if blasThreads != threads {
                    print("warning: asked OpenBLAS for \(threads) threads, it uses \(blasThreads)")
                }

                // Correctness first: the wrapper must match the routine it dispatches to.
                // Its output's placement is where the next one will most likely land too.
                try Autograd.inference {
                    let got = Tensor.matmul(aT, bT, transposeB: useTransB).data
                    cGemm.place(atPageOffset: pageOffset(of: got))
                    cGemv.place(atPageOffset: pageOffset(of: got))
                    sgemm()
                    if shape.m == 1 {
                        sgemv()
                        try check("\(shape.label) threads \(threads): cblas_sgemv vs cblas_sgemm",
                                  got: cGemv.buffer, reference: cGemm.buffer)
                        try check("\(shape.label) threads \(threads): tensor_matmul vs cblas_sgemv",
                                  got: got, reference: cGemv.buffer)
                    } else {
                        try check("\(shape.label) threads \(threads): tensor_matmul vs cblas_sgemm",
                                  got: got, reference: cGemm.buffer)
                    }
                }

                let series = Autograd.inference { timeInterleaved(impls.map(\.1), plan: plan) }
                var stats: [MatmulImpl: SeriesStats] = [:]
                for ((impl, _), s) in zip(impls, series) { stats[impl] = s }
                let wrapper = stats[.tensorMatmul]!, baseline = stats[shape.baseline]!

                for ((impl, _), s) in zip(impls, series) {
                    func row(_ metric: String, _ value: Double, _ unit: String) {
                        rows.append(["matmul", shape.label, String(shape.m), String(shape.k), String(shape.n),
                                     String(shape.transB), String(threads), impl.rawValue, metric, "\(value)", unit]
                                    + provenance.columns(blasThreads: blasThreads))
                    }
                    row("median_seconds", s.median, "s")
                    row("min_seconds", s.min, "s")
                    row("gflops", shape.flops / s.median / 1e9, "GFLOP/s")
                    row("samples", Double(s.samples.count), "count")
                    row("calls_per_sample", Double(s.callsPerSample), "count")
                    row("page_faults_per_call", Double(s.pageFaults) / Double(s.calls), "count")
                    if impl == .tensorMatmul {
                        row("overhead_ratio", wrapper.median / baseline.median - 1, "ratio")
                        row("overhead_ratio_paired", pairedOverhead(wrapper, over: baseline), "ratio")
                        if shape.m == 1 {
                            row("overhead_ratio_vs_cblas_sgemm", wrapper.median / stats[.cblasSgemm]!.median - 1, "ratio")
                        }
                    }
                }

                outcomes.append(Outcome(shape: shape, threads: threads,
                                        overhead: wrapper.median / baseline.median - 1,
                                        paired: pairedOverhead(wrapper, over: baseline)))
                print(tableLine(shape, threads: threads, baseline: shape.baseline, direct: baseline, wrapper: wrapper))
                if shape.m == 1 {
                    print(tableLine(shape, threads: threads, baseline: .cblasSgemm, direct: stats[.cblasSgemm]!, wrapper: wrapper))
                }
            }
        }

        try CSV.writeAtomically(CSV.render(header: header, rows: rows), to: out)
        print("")
        print("wrote \(rows.count) rows to \(out)")
        print("")
        printTargetReport(outcomes)
    }

    /// Fails unless `got` matches `reference` within `relativeTolerance` of the
    /// reference's largest magnitude (and holds no NaN).
    static func check<G: Collection, R: Collection>(_ what: String, got: G, reference: R) throws
    where G.Element == Float, R.Element == Float {
        precondition(got.count == reference.count, "\(what): \(got.count) vs \(reference.count) elements")
        var maxDiff: Float = 0, scale: Float = 0, sawNaN = false
        var firstDifference: (index: Int, got: Float, reference: Float)? = nil
        for (i, (g, r)) in zip(got, reference).enumerated() {
            if g.isNaN || r.isNaN { sawNaN = true }
            let d = abs(g - r)
            if d > 0 && firstDifference == nil { firstDifference = (i, g, r) }
            maxDiff = max(maxDiff, d)
            scale = max(scale, abs(r))
        }
        let rel = maxDiff / max(scale, .leastNormalMagnitude)
        guard !sawNaN, rel.isFinite, rel <= relativeTolerance else {
            let example = firstDifference.map { "first difference at \($0.index): \($0.got) vs \($0.reference)" } ?? ""
            throw BenchError.mismatch("\(what): results differ\(sawNaN ? " (NaN present)" : ""), max |diff| \(maxDiff) = "
                                      + "\(rel) relative (tolerance \(relativeTolerance)); \(example)")
        }
    }

    // MARK: - Human-readable output

    static func tableHeader() -> String {
        pad("shape", 26) + lpad("thr", 4) + "  " + pad("direct call", 12)
            + lpad("direct GF/s", 12) + lpad("tensor GF/s", 12) + lpad("overhead", 10) + lpad("paired", 10)
    }

    static func tableLine(_ shape: MatmulShape, threads: Int, baseline: MatmulImpl,
                          direct: SeriesStats, wrapper: SeriesStats) -> String {
        pad(shape.label, 26) + lpad(String(threads), 4) + "  " + pad(baseline.rawValue, 12)
            + lpad(String(format: "%.1f", shape.flops / direct.median / 1e9), 12)
            + lpad(String(format: "%.1f", shape.flops / wrapper.median / 1e9), 12)
            + lpad(String(format: "%+.1f %%", 100 * (wrapper.median / direct.median - 1)), 10)
            + lpad(String(format: "%+.1f %%", 100 * pairedOverhead(wrapper, over: direct)), 10)
    }

    static func printTargetReport(_ outcomes: [Outcome]) {
        print("target: Tensor.matmul overhead ≤ \(Int(overheadTarget * 100)) % over the direct call (medians) at sizes ≥ 256")
        var checked = 0, missed = 0
        for o in outcomes {
            let verdict: String
            if !o.shape.targetApplies {
                verdict = "n/a (size < 256)"
            } else {
                checked += 1
                let pass = o.overhead <= overheadTarget
                if !pass { missed += 1 }
                verdict = pass ? "PASS" : "MISS"
            }
            print("  " + pad(o.shape.label, 26) + lpad("\(o.threads) thr", 6)
                  + lpad(String(format: "%+.1f %%", 100 * o.overhead), 10)
                  + lpad(String(format: "(paired %+.1f %%)", 100 * o.paired), 20) + "  " + verdict)
        }
        print(missed == 0 ? "overall: PASS (\(checked) of \(checked) shape/thread cases within target)"
                          : "overall: MISS (\(missed) of \(checked) shape/thread cases above target)")
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    static func lpad(_ s: String, _ width: Int) -> String {
        s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s
    }
}
