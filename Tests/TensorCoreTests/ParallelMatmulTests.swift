// The batched matmul's threaded path (products shared out over threads, OpenBLAS on one
// thread inside) against the plain serial loop, outputs and gradients, at odd shapes;
// and the GEMM-folded scale (alpha) against a separate scaling op.

import Foundation
import Testing
import TensorCore
import TestSupport

/// Output and input gradients of Σ matmul(a, b)·R with `workers` threads (nil = automatic).
private func matmulWithGrads(_ a: Tensor, _ b: Tensor, ta: Bool, tb: Bool, alpha: Float, upstream: Tensor,
                             workers: Int?) -> (out: [Float], ga: [Float], gb: [Float]) {
    a.zeroGrad(); b.zeroGrad()
    let out = BLAS.$batchWorkers.withValue(workers) {
        let c = Tensor.matmul(a, b, transposeA: ta, transposeB: tb, alpha: alpha)
        (c * upstream).sum().backward()
        return c
    }
    return (out.data, a.grad!, b.grad!)
}

@Suite("Threaded batched matmul")
struct ParallelMatmulTests {
    // [batch dims] · op(A) [M, K] · op(B) [K, N]; the last is the training score product's shape.
    static let shapes: [(batch: [Int], m: Int, k: Int, n: Int)] = [
        ([3, 5], 63, 33, 70), ([2, 1], 7, 1, 100), ([1], 1, 5, 3), ([2, 2], 256, 32, 256),
    ]

    @Test(arguments: 0..<shapes.count)
    func threadedEqualsSerial(shapeIndex: Int) {
        let s = Self.shapes[shapeIndex]
        var rng = Xoshiro256StarStar(seed: 40 + UInt64(shapeIndex))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor.randn(s.batch + (ta ? [s.k, s.m] : [s.m, s.k]), rng: &rng, requiresGrad: true)
            let b = Tensor.randn(s.batch + (tb ? [s.n, s.k] : [s.k, s.n]), rng: &rng, requiresGrad: true)
            let upstream = Tensor.randn(s.batch + [s.m, s.n], rng: &rng)
            let label = "B\(s.batch)-M\(s.m)-K\(s.k)-N\(s.n) tA=\(ta) tB=\(tb)"
            // The serial loop with OpenBLAS on one thread: what every worker computes.
            let serial = BLAS.singleThreaded {
                matmulWithGrads(a, b, ta: ta, tb: tb, alpha: 0.375, upstream: upstream, workers: 1)
            }
            for workers in [2, 3] {
                let threaded = matmulWithGrads(a, b, ta: ta, tb: tb, alpha: 0.375, upstream: upstream, workers: workers)
                // Each product is computed whole by one thread: bit-identical to that loop.
                let same = threaded.out == serial.out && threaded.ga == serial.ga && threaded.gb == serial.gb
                #expect(same, "\(label) workers \(workers): differs from the single-threaded serial loop")
            }
            // The automatic choice follows the process-wide thread count, which other suites
            // change while this one runs (with one worker, OpenBLAS may thread each product):
            // equal up to float ordering.
            let automatic = matmulWithGrads(a, b, ta: ta, tb: tb, alpha: 0.375, upstream: upstream, workers: nil)
            for r in [compareClose("\(label) automatic out", automatic.out, serial.out),
                      compareClose("\(label) automatic dA", automatic.ga, serial.ga),
                      compareClose("\(label) automatic dB", automatic.gb, serial.gb)] {
                #expect(r.ok, "\(r)")
            }
            // The plain loop with OpenBLAS threading each product: equal up to float ordering.
            let plain = matmulWithGrads(a, b, ta: ta, tb: tb, alpha: 0.375, upstream: upstream, workers: 1)
            for r in [compareClose("\(label) out", plain.out, serial.out), compareClose("\(label) dA", plain.ga, serial.ga),
                      compareClose("\(label) dB", plain.gb, serial.gb)] {
                #expect(r.ok, "\(r)")
            }
        }
    }

    @Test(arguments: 0..<shapes.count)
    func alphaEqualsScaledProduct(shapeIndex: Int) {
        let s = Self.shapes[shapeIndex]
        var rng = Xoshiro256StarStar(seed: 50 + UInt64(shapeIndex))
        let alpha: Float = 1 / Float(33).squareRoot()
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor.randn(s.batch + (ta ? [s.k, s.m] : [s.m, s.k]), rng: &rng, requiresGrad: true)
            let b = Tensor.randn(s.batch + (tb ? [s.n, s.k] : [s.k, s.n]), rng: &rng, requiresGrad: true)
            let upstream = Tensor.randn(s.batch + [s.m, s.n], rng: &rng)
            let label = "B\(s.batch)-M\(s.m)-K\(s.k)-N\(s.n) tA=\(ta) tB=\(tb)"
            let fused = matmulWithGrads(a, b, ta: ta, tb: tb, alpha: alpha, upstream: upstream, workers: nil)
            a.zeroGrad(); b.zeroGrad()
            let plain = Tensor.matmul(a, b, transposeA: ta, transposeB: tb) * alpha
            (plain * upstream).sum().backward()
            for r in [compareClose("\(label) out", plain.data, fused.out),
                      compareClose("\(label) dA", a.grad!, fused.ga),
                      compareClose("\(label) dB", b.grad!, fused.gb)] {
                #expect(r.ok, "\(r)")
            }
        }
    }

    @Test func sharedWeightGradientIsThreadIndependent() {
        // A 2-D b shared by a transposed batch: its gradient sums over the batch in order.
        var rng = Xoshiro256StarStar(seed: 60)
        let a = Tensor.randn([3, 40, 63], rng: &rng, requiresGrad: true)  // [B, K, M]
        let w = Tensor.randn([70, 40], rng: &rng, requiresGrad: true)     // [N, K]
        let upstream = Tensor.randn([3, 63, 70], rng: &rng)
        let serial = matmulWithGrads(a, w, ta: true, tb: true, alpha: 1, upstream: upstream, workers: 1)
        let threaded = matmulWithGrads(a, w, ta: true, tb: true, alpha: 1, upstream: upstream, workers: 2)
        let same = threaded.out == serial.out && threaded.ga == serial.ga && threaded.gb == serial.gb
        #expect(same, "shared-weight gradient depends on the worker count")
    }
}

@Suite("OpenBLAS thread count", .serialized)
struct BLASThreadCountTests {
    /// A thread count set while another thread is inside a single-threaded region waits
    /// for the region to end instead of switching OpenBLAS threading on under it.
    @Test func setThreadsDuringASingleThreadedRegionAppliesAfterIt() {
        let saved = BLAS.requestedThreads
        defer { BLAS.setThreads(saved) }
        BLAS.setThreads(1)
        let entered = DispatchSemaphore(value: 0), set = DispatchSemaphore(value: 0)
        // Written on the other thread before `done` is signalled, read after waiting for it.
        final class Seen: @unchecked Sendable { var counts: [Int] = [] }
        let inside = Seen()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            BLAS.singleThreaded {
                entered.signal()
                set.wait()
                inside.counts.append(BLAS.threads)          // still 1: the region's promise
                inside.counts.append(BLAS.requestedThreads) // the count asked for, pending
            }
            done.signal()
        }
        entered.wait()
        BLAS.setThreads(2)
        set.signal()
        done.wait()
        #expect(inside.counts == [1, 2])
        // (Other suites may be inside a region of their own right now; the count stands.)
        #expect(BLAS.requestedThreads == 2, "the count asked for during the region applies after it")
    }

    /// How many threads work is shared over depends on this thread's place, not on another
    /// thread's region: a region elsewhere lowers OpenBLAS's count for a while, and a choice
    /// made from that count made threadedEqualsSerial fail now and then.
    @Test func availableThreadsIgnoreOtherThreadsRegions() {
        let saved = BLAS.requestedThreads
        defer { BLAS.setThreads(saved) }
        BLAS.setThreads(2)
        let entered = DispatchSemaphore(value: 0), leave = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            BLAS.singleThreaded {
                entered.signal()
                leave.wait()
            }
            done.signal()
        }
        entered.wait()
        #expect(BLAS.threads == 1, "OpenBLAS runs on one thread while the other thread's region lasts")
        #expect(BLAS.availableThreads == 2, "this thread is in no region: it may use the count asked for")
        #expect(BLAS.singleThreaded { BLAS.availableThreads } == 1, "inside a region work stays on its thread")
        #expect(BLAS.onWorkersSeen() == [1, 1], "on the workers work stays on its thread")
        leave.signal()
        done.wait()
    }
}

extension BLAS {
    /// `availableThreads` as each of two workers sees it.
    static func onWorkersSeen() -> [Int] {
        final class Seen: @unchecked Sendable { let lock = NSLock(); var counts: [Int] = [] }
        let seen = Seen()
        onWorkers(2) { _ in
            let n = availableThreads
            seen.lock.lock(); seen.counts.append(n); seen.lock.unlock()
        }
        return seen.counts
    }
}
