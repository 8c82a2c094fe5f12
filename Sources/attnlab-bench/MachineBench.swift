// `attnlab-bench machine`: the machine's ceilings, measured in the same run as the rest,
// for the roofline: peak sgemm GFLOP/s through OpenBLAS (the core it selects) at 1 and
// 2 threads, and memory bandwidth by a STREAM-style triad.
//
//   sgemm   C = A·B, square n (default 2048 and 4096), median and best of repeats after
//           one warm-up call; 2n³ FLOPs per call. The peak row is the best call over sizes:
//           on a shared host, other tenants only ever lower a rate, so the best is the
//           estimate of what the machine can do (a median-based ceiling measured 133
//           GFLOP/s here once, below what the attention kernel then reached).
//   triad   a[i] = b[i] + s·c[i] over three arrays of `--triad-mib` MiB each (default 512,
//           far beyond any cache), counted as 3 × 4 bytes per element (STREAM's
//           convention: the write-allocate read of a is not counted). 1 thread, and
//           2 threads each taking one contiguous half (DispatchQueue.concurrentPerform).
//           Median and best of the repeats; the best is the ceiling (as STREAM reports it).

import CBLAS
import Dispatch
import Foundation
import Harness
import TensorCore

enum MachineBench {
    static let usage = """
    usage: attnlab-bench machine [--out results/bench/machine.csv] [--threads 1,2] [--sizes 2048,4096]
                                 [--repeats K] [--triad-mib M] [--quick]
    Peak OpenBLAS sgemm GFLOP/s (square sizes, best of K repeats, per thread count) and
    STREAM-style triad bandwidth a = b + s·c (3 arrays of M MiB; 12 bytes per element).
    metrics: sgemm median_gflops per size, sgemm_peak_gflops; triad median_gbps, best_gbps;
    system load_average_1m_before/after (the ceilings hold only on an idle machine).
    --quick: size 512, 64 MiB arrays, 3 repeats (a smoke run, not a measurement).
    """

    static func run(_ argv: [String]) throws {
        var args = Arguments(command: "machine", argv)
        let out = try args.value("--out") ?? "results/bench/machine.csv"
        let quick = args.flag("--quick")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadCounts = try args.intList("--threads", atLeast: 1) ?? Array(Set([1, min(2, cores)])).sorted()
        let sizes = try args.intList("--sizes", atLeast: 16) ?? (quick ? [512] : [2048, 4096])
        let repeats = try args.int("--repeats", atLeast: 1) ?? (quick ? 3 : 5)
        let triadMiB = try args.int("--triad-mib", atLeast: 1) ?? (quick ? 64 : 512)
        try args.finish()

        let provenance = Provenance.current()
        let savedThreads = BLAS.threads
        print("attnlab-bench machine (\(provenance.build) build), \(provenance.machine.cpuModel), \(cores) logical cores, OpenBLAS \(provenance.machine.blasCore)")
        let header = ["benchmark", "threads", "size", "metric", "value", "unit"] + Provenance.header
        var rows: [[String]] = []
        func add(_ bench: String, _ threads: Int, _ size: String, _ metric: String, _ value: Double, _ unit: String, blasThreads: Int) {
            rows.append([bench, String(threads), size, metric, String(value), unit] + provenance.columns(blasThreads: blasThreads))
        }

        // The 1-minute load average before and after: these ceilings are only as good as
        // the machine is idle (another process's load halves them), so the CSV says.
        add("system", cores, "", "load_average_1m_before", loadAverage(), "load", blasThreads: savedThreads)

        // sgemm
        var rng = Xoshiro256StarStar(seed: 0x6D61_6368)  // "mach"
        for threads in threadCounts {
            BLAS.setThreads(threads)
            var peak = 0.0
            for n in sizes {
                let a = (0..<(n * n)).map { _ in rng.nextNormal() }
                let b = (0..<(n * n)).map { _ in rng.nextNormal() }
                var c = [Float](repeating: 0, count: n * n)
                let flops = 2 * Double(n) * Double(n) * Double(n)
                var times: [Double] = []
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            for i in 0...repeats {
                                let t0 = monotonicNanoseconds()
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                                            pa.baseAddress!, Int32(n), pb.baseAddress!, Int32(n), 0, pc.baseAddress!, Int32(n))
                                let s = Double(monotonicNanoseconds() - t0) * 1e-9
                                if i > 0 { times.append(s) }  // the first call is a warm-up
                            }
                        }
                    }
                }
                let med = AttentionBench.median(times)
                let gflops = flops / med / 1e9, best = flops / times.min()! / 1e9
                peak = max(peak, best)
                add("sgemm", threads, String(n), "median_seconds", med, "s", blasThreads: BLAS.threads)
                add("sgemm", threads, String(n), "median_gflops", gflops, "GFLOP/s", blasThreads: BLAS.threads)
                add("sgemm", threads, String(n), "best_gflops", best, "GFLOP/s", blasThreads: BLAS.threads)
                print(String(format: "  sgemm  %d thr  n %5d  %8.4f s  %7.1f GFLOP/s (median of %d)", threads, n, med, gflops, repeats))
            }
            add("sgemm", threads, "", "sgemm_peak_gflops", peak, "GFLOP/s", blasThreads: BLAS.threads)
        }
        BLAS.setThreads(savedThreads)

        // STREAM triad
        let count = triadMiB * 1024 * 1024 / MemoryLayout<Float>.stride
        let bytesPerPass = 3.0 * 4.0 * Double(count)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        // First touch (page faults) outside the timing, split like the timed passes.
        for threads in threadCounts {
            parallelHalves(count: count, threads: threads) { lo, hi in
                for i in lo..<hi { a[i] = 0; b[i] = 1; c[i] = 2 }
            }
        }
        let scalar: Float = 3
        for threads in threadCounts {
            var times: [Double] = []
            for i in 0...repeats {
                let t0 = monotonicNanoseconds()
                parallelHalves(count: count, threads: threads) { lo, hi in triad(a, b, c, scalar, lo, hi) }
                let s = Double(monotonicNanoseconds() - t0) * 1e-9
                if i > 0 { times.append(s) }
            }
            // Every element is now 1 + 3·2 = 7: a cheap check that the loop really ran.
            guard a[0] == 7, a[count - 1] == 7, a[count / 2] == 7 else {
                throw BenchError.mismatch("machine: triad wrote \(a[0]), \(a[count / 2]), \(a[count - 1]), expected 7")
            }
            let med = AttentionBench.median(times)
            add("triad", threads, String(count), "median_seconds", med, "s", blasThreads: savedThreads)
            add("triad", threads, String(count), "median_gbps", bytesPerPass / med / 1e9, "GB/s", blasThreads: savedThreads)
            add("triad", threads, String(count), "best_gbps", bytesPerPass / times.min()! / 1e9, "GB/s", blasThreads: savedThreads)
            print(String(format: "  triad  %d thr  %d MiB × 3  %8.4f s  %6.2f GB/s median, %6.2f best", threads, triadMiB, med,
                         bytesPerPass / med / 1e9, bytesPerPass / times.min()! / 1e9))
        }

        add("system", cores, "", "load_average_1m_after", loadAverage(), "load", blasThreads: savedThreads)
        print(String(format: "  load average (1 min) %.2f before, %.2f after, on %d logical cores", Double(rows[0][4]) ?? .nan,
                     Double(rows[rows.count - 1][4]) ?? .nan, cores))
        try CSV.writeAtomically(CSV.render(header: header, rows: rows), to: out)
        print("wrote \(rows.count) rows to \(out)")
    }

    /// The 1-minute load average from /proc/loadavg (NaN where there is none).
    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first, let v = Double(first) else { return .nan }
        return v
    }

    /// Runs body(lo, hi) over `threads` contiguous slices of 0..<count, concurrently.
    static func parallelHalves(count: Int, threads: Int, _ body: (Int, Int) -> Void) {
        if threads == 1 { body(0, count); return }
        // Slices start on multiples of 64 elements (256 bytes) so no cache line is shared.
        let per = (count / threads + 63) / 64 * 64
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            let lo = min(count, w * per), hi = min(count, lo + per)
            if lo < hi { body(lo, hi) }
        }
    }

    /// a[i] = b[i] + s·c[i] for i in lo..<hi, eight lanes at a time.
    @inline(never)
    static func triad(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                      _ s: Float, _ lo: Int, _ hi: Int) {
        var i = lo
        let sv = SIMD8<Float>(repeating: s)
        while i &+ 8 <= hi {
            let bv = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            let cv = UnsafeRawPointer(c + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(a + i).storeBytes(of: bv + sv * cv, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < hi { a[i] = b[i] + s * c[i]; i &+= 1 }
    }
}
