// A small timer for benchmarks: monotonic clock, interleaved series, warm-up, medians.
//
// Several implementations of the same operation are timed in rounds (A B C A B C ...)
// so that slow drift of the machine (frequency, other load) hits all of them alike.
// One sample is a batch of back-to-back calls lasting about `sampleSeconds`, so the
// clock's own cost and resolution do not matter even for microsecond-sized calls.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Nanoseconds on the monotonic clock (CLOCK_MONOTONIC).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Page faults (minor + major) of the whole process so far, OpenBLAS threads included.
func processPageFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt + usage.ru_majflt
}

struct TimingPlan: Sendable {
    /// Measured time each series must reach (warm-up excluded).
    var minSeconds: Double = 0.3
    /// Samples each series must reach, however long one call takes.
    var minSamples: Int = 10
    /// Warm-up time per implementation before measuring (at least two calls each).
    var warmupSeconds: Double = 0.05
    /// Target duration of one sample: a batch of back-to-back calls.
    var sampleSeconds: Double = 0.002
    /// Safety cap on the samples of a series.
    var maxSamples: Int = 100_000
}

/// The measurements of one implementation, in seconds per call.
struct SeriesStats: Sendable {
    /// Seconds per call, one entry per sample, in the order measured.
    var samples: [Double]
    /// Calls in each sample.
    var callsPerSample: Int
    /// Measured seconds, all samples together.
    var totalSeconds: Double
    /// Page faults during the measured calls, all samples together.
    var pageFaults: Int = 0

    var calls: Int { samples.count * callsPerSample }

    var median: Double {
        let s = samples.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : 0.5 * (s[mid - 1] + s[mid])
    }

    var min: Double { samples.min() ?? .nan }
}

/// Times `bodies` interleaved: warm-up, then rounds of one sample of each body in turn,
/// until every series has `plan.minSamples` samples and `plan.minSeconds` measured time.
/// Returns one `SeriesStats` per body, in order.
func timeInterleaved(_ bodies: [() -> Void], plan: TimingPlan) -> [SeriesStats] {
    precondition(!bodies.isEmpty, "timeInterleaved needs at least one body")
    precondition(plan.minSamples >= 1, "minSamples \(plan.minSamples) must be at least 1")
    let count = bodies.count

    // Warm-up: the first call of each pays for page faults and thread start-up and is
    // not used; the calls after it estimate the cost of one call.
    for body in bodies { body() }
    var warmNanos = [UInt64](repeating: 0, count: count)
    var warmCalls = [Int](repeating: 0, count: count)
    let warmTarget = UInt64(plan.warmupSeconds * 1e9)
    repeat {
        for i in 0..<count {
            let body = bodies[i]
            let t0 = monotonicNanoseconds()
            body()
            warmNanos[i] += monotonicNanoseconds() - t0
            warmCalls[i] += 1
        }
    } while warmCalls[0] < 2 || warmNanos.min()! < warmTarget

    // Calls per sample, per body, so that each sample lasts about plan.sampleSeconds.
    let calls: [Int] = (0..<count).map { i in
        let perCall = max(1.0, Double(warmNanos[i]) / Double(warmCalls[i]))
        return max(1, Int(plan.sampleSeconds * 1e9 / perCall))
    }

    var samples = [[Double]](repeating: [], count: count)
    var totals = [Double](repeating: 0, count: count)
    var faults = [Int](repeating: 0, count: count)
    while true {
        for i in 0..<count {
            let body = bodies[i]
            let n = calls[i]
            let faults0 = processPageFaults()
            let t0 = monotonicNanoseconds()
            for _ in 0..<n { body() }
            let seconds = Double(monotonicNanoseconds() - t0) * 1e-9
            faults[i] += processPageFaults() - faults0
            samples[i].append(seconds / Double(n))
            totals[i] += seconds
        }
        let enough = (0..<count).allSatisfy { samples[$0].count >= plan.minSamples && totals[$0] >= plan.minSeconds }
        if enough || samples[0].count >= plan.maxSamples { break }
    }
    return (0..<count).map {
        SeriesStats(samples: samples[$0], callsPerSample: calls[$0], totalSeconds: totals[$0], pageFaults: faults[$0])
    }
}
