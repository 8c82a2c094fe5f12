// Keeps freed memory in the process instead of returning it to the kernel.
//
// glibc serves allocations above its mmap threshold (at most 32 MiB) with fresh
// mmap'd pages and unmaps them on free, so every large tensor — a 4096×4096 score
// matrix is 64 MiB — pays one page fault per 4 KiB each time it is allocated:
// measured as a 2× slowdown of Tensor.matmul against a direct sgemm on reused
// buffers (results/bench/matmul.csv, page_faults_per_call). Serving everything from
// the heap and never trimming it lets freed buffers be reused; the cost is that the
// process keeps its peak memory until it exits. The executables call this at start.

#if canImport(Glibc)
import CMalloc
#endif

public enum MemoryTuning {
    /// Serve large allocations from the heap and never trim it. Returns whether applied.
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        #if canImport(Glibc)
        return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, Int32.max) == 1
        #else
        return false
        #endif
    }
}
