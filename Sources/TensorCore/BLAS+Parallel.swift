// Independent BLAS products shared out over threads, each with OpenBLAS on one thread
// inside. For a batch of small products (one per batch index and head, e.g. [256×32]·[32×256]),
// OpenBLAS's own threading of each product costs more than it saves: its workers spend
// the time yielding (measured: a quarter of a training step in sched_yield). Each product
// is computed whole by one thread, so its numbers do not depend on the thread count.

import Dispatch

extension BLAS {
    /// Threads for `forEachParallel`; nil = automatic (`BLAS.availableThreads` when the work
    /// is large enough). Tests set it to compare the threaded and the serial paths.
    @TaskLocal public static var batchWorkers: Int?

    /// Below this many FLOPs in all, a batch runs on the calling thread: starting the
    /// workers costs some microseconds.
    public static let parallelMinimumFLOPs: Double = 2_000_000

    /// Runs `body(i)` for every i in 0..<count, on several threads when `flops` (the whole
    /// batch's work) makes it worthwhile. Worker w takes i = w, w + nw, …; bodies must be
    /// independent (write disjoint memory).
    public static func forEachParallel(_ count: Int, flops: Double, _ body: (Int) -> Void) {
        let automatic = flops >= parallelMinimumFLOPs ? availableThreads : 1
        let nw = max(1, min(batchWorkers ?? automatic, count))
        onWorkers(nw) { w in
            for i in stride(from: w, to: count, by: nw) { body(i) }
        }
    }

    /// Runs `body(w)` for w in 0..<workers, concurrently when workers > 1, with OpenBLAS on
    /// one thread inside; FLOPs counted by `gemm` on the workers' threads are added to the
    /// caller's counter.
    public static func onWorkers(_ workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 {
            body(0)
            return
        }
        let callerCounter = flopCounter
        let counters = (0..<workers).map { _ in callerCounter.map { _ in FLOPCounter() } }
        singleThreaded {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                $inRegion.withValue(true) { $flopCounter.withValue(counters[w]) { body(w) } }
            }
        }
        if let callerCounter { for c in counters { callerCounter.flops += c?.flops ?? 0 } }
    }
}
