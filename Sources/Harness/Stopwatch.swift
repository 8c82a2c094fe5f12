// Wall time for timed experiments: the monotonic clock and the median of samples.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Stopwatch {
    /// Seconds on the monotonic clock (CLOCK_MONOTONIC).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Seconds of each of `samples` calls of `body` after `warmup` untimed calls;
    /// `reset` runs before every call, untimed.
    static func time(samples: Int, warmup: Int = 1, reset: () -> Void = {}, _ body: () -> Void) -> [Double] {
        for _ in 0..<warmup { reset(); body() }
        var times: [Double] = []
        times.reserveCapacity(samples)
        for _ in 0..<samples {
            reset()
            let t0 = now()
            body()
            times.append(now() - t0)
        }
        return times
    }

    static func median(_ xs: [Double]) -> Double {
        precondition(!xs.isEmpty, "median of no samples")
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }
}
