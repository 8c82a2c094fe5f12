// Thin wrappers over OpenBLAS: the only place TensorCore calls CBLAS directly.
// Every matrix product in a hot path goes through `BLAS.gemm`, which routes single-row
// products to sgemv (this OpenBLAS does not do that itself for M = 1 GEMMs).

import CBLAS
import Foundation

public enum BLAS {
    /// Counts the FLOPs (2 per multiply-add) of every product issued through `gemm` and
    /// `gemv` inside `BLAS.$flopCounter.withValue(counter) { ... }`: how the analytic
    /// FLOP formulas of the mechanisms are checked against what the code really does.
    public final class FLOPCounter: @unchecked Sendable {
        public var flops: Double = 0
        public init() {}
    }

    @TaskLocal public static var flopCounter: FLOPCounter?

    /// Sets the number of OpenBLAS threads (like OPENBLAS_NUM_THREADS, but at run time).
    /// OpenBLAS's count is process-wide: while a `singleThreaded` region runs (on any
    /// thread) the new count is recorded and applied when the last region exits, so a
    /// caller cannot switch threading on under code that calls BLAS from its own threads.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "OpenBLAS thread count \(n) must be at least 1")
        singleThreadedLock.lock()
        defer { singleThreadedLock.unlock() }
        if singleThreadedDepth > 0 { threadsOutside = n } else { openblas_set_num_threads(Int32(n)) }
    }

    /// The count `setThreads` last asked for: what OpenBLAS uses outside `singleThreaded`
    /// regions (inside one it runs on 1).
    public static var requestedThreads: Int {
        singleThreadedLock.lock()
        defer { singleThreadedLock.unlock() }
        return singleThreadedDepth > 0 ? threadsOutside : threads
    }

    private static let singleThreadedLock = NSLock()
    nonisolated(unsafe) private static var singleThreadedDepth = 0
    nonisolated(unsafe) private static var threadsOutside = 1

    /// True inside a `singleThreaded` region and on `onWorkers`' worker threads: work
    /// started there stays on its thread.
    @TaskLocal static var inRegion = false

    /// Threads code may share its own work over: 1 inside a region (nested work stays
    /// serial), else the count `setThreads` asked for. Not OpenBLAS's momentary count,
    /// which another thread's region may have lowered for a while: a choice made from it
    /// would make the numbers depend on what else the process is doing.
    public static var availableThreads: Int { inRegion ? 1 : requestedThreads }

    /// Runs `body` with OpenBLAS on one thread, for code that calls BLAS from several
    /// threads of its own (threads over heads); restores the thread count after. Nested
    /// and concurrent uses share one region: the first entry sets 1, the last exit restores.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        singleThreadedLock.lock()
        if singleThreadedDepth == 0 { threadsOutside = threads; openblas_set_num_threads(1) }
        singleThreadedDepth += 1
        singleThreadedLock.unlock()
        defer {
            singleThreadedLock.lock()
            singleThreadedDepth -= 1
            if singleThreadedDepth == 0 { openblas_set_num_threads(Int32(threadsOutside)) }
            singleThreadedLock.unlock()
        }
        return try $inRegion.withValue(true) { try body() }
    }

    /// The number of threads OpenBLAS uses now.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel core OpenBLAS selected (e.g. "Haswell", "Zen", "SkylakeX"); it
    /// follows OPENBLAS_CORETYPE when that is set.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The build configuration string of the OpenBLAS library.
    public static var config: String { String(cString: openblas_get_config()) }

    /// C = alpha · op(A) · op(B) + beta · C, row-major, with op(X) = X or Xᵀ.
    /// op(A) is [m, k], op(B) is [k, n], C is [m, n]; lda/ldb/ldc are the row strides
    /// of A, B and C as stored. With m == 1 the product runs as sgemv.
    @inlinable
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        flopCounter?.flops += 2 * Double(m) * Double(n) * Double(k)
        if k == 0 {
            // Empty inner dimension: the product is zero; only the beta term remains.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        if m == 1 {
            // y[n] = alpha · op(B)ᵀ-as-matrix · x + beta · y, x = the single row of op(A).
            let incX = transA ? lda : 1
            if transB {
                // B is stored [n, k]: y = B · x.
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb),
                            a, Int32(incX), beta, c, 1)
            } else {
                // B is stored [k, n]: y = Bᵀ · x.
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb),
                            a, Int32(incX), beta, c, 1)
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha · op(A) · x + beta · y for a row-major A of `rows` × `cols`.
    @inlinable
    public static func gemv(
        trans: Bool, rows: Int, cols: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        flopCounter?.flops += 2 * Double(rows) * Double(cols)
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols),
                    alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
}
