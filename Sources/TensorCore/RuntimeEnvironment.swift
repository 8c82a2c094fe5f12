// Settings that OpenBLAS and glibc read from the environment when they load — before
// main runs, so setting them from Swift is too late. The executables call
// `RuntimeEnvironment.apply()` first thing: it sets the variables the user has not set and
// re-executes the same binary once (same pid, same arguments), so the libraries see them.
//
//   OPENBLAS_THREAD_TIMEOUT=4   OpenBLAS's idle worker threads sleep after ~2⁴ cycles of
//       polling instead of spinning on sched_yield for ~2²⁸: between its own threaded GEMMs
//       and during our threaded sections they took a third of a training step's CPU samples
//       (measured: training step 10–20 % faster, `attnlab-bench train`).
//   GLIBC_TUNABLES=glibc.malloc.hugetlb=1   malloc asks for transparent huge pages
//       (madvise) on the memory it maps: a KV cache streamed at decode then crosses a page
//       boundary every 2 MiB instead of every 4 KiB, where the hardware prefetcher stops.
//
// A variable the user set is left as it is; ATTNLAB_RUNTIME_ENV (any value) in the
// environment skips all of this (it is also how the re-executed process knows it is done).

#if canImport(Glibc)
import Glibc
#endif

public enum RuntimeEnvironment {
    /// The variables set when absent, in the order they are applied.
    public static let settings: [(name: String, value: String)] = [
        ("OPENBLAS_THREAD_TIMEOUT", "4"),
        ("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1"),
    ]
    public static let marker = "ATTNLAB_RUNTIME_ENV"

    /// Sets the missing settings and re-executes this binary; returns (without re-executing)
    /// when nothing is missing, when the marker is set, or when exec fails.
    public static func apply() {
        #if os(Linux)
        guard getenv(marker) == nil else { return }
        setenv(marker, "applied", 1)
        let missing = settings.filter { getenv($0.name) == nil }
        guard !missing.isEmpty else { return }
        for s in missing { setenv(s.name, s.value, 0) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc?): go on with the libraries' defaults.
        #endif
    }
}
