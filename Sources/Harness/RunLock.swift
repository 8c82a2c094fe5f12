// Timed runs never share the machine with another run: every run holds a lock on
// <results>/shards/.machine.lock while it executes, exclusive for timed kinds and shared
// for untimed ones. Untimed training shards may run side by side (make -j2, several
// `attnlab run` processes); a timed run waits until none is running, and they wait for it.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class RunLock {
    private let fd: Int32

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/.machine.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError.failed("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Runs `body` holding the lock; `waiting` is called once if another run holds it.
    func withLock<T>(exclusive: Bool, waiting: () -> Void, _ body: () throws -> T) throws -> T {
        let mode = exclusive ? LOCK_EX : LOCK_SH
        if flock(fd, mode | LOCK_NB) != 0 {
            waiting()
            while flock(fd, mode) != 0 {
                guard errno == EINTR else { throw HarnessError.failed("flock failed: \(String(cString: strerror(errno)))") }
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

/// A claim on one run, so that several `attnlab run` processes on one results directory
/// (two `make experiments`, or two sweeps started by hand) share the work without running
/// anything twice: a run is executed only by the process holding `.<key>.claim` next to its
/// shard (an flock, released by the kernel if the process dies, so a killed sweep leaves no
/// stale claim). The file is removed once the shard is written.
final class RunClaim {
    private let fd: Int32
    private let path: String

    /// The claim, or nil when another live process holds it.
    static func acquire(_ path: String) throws -> RunClaim? {
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError.failed("cannot open claim file \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return RunClaim(fd: fd, path: path)
    }

    private init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    /// Whether a live process holds the claim at `path` now (a missing file is no claim; the
    /// file is never created here).
    static func isHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    /// Gives the claim up; with `removing`, deletes the file first (the run is finished).
    func release(removing: Bool) {
        if removing { unlink(path) }
        flock(fd, LOCK_UN)
        close(fd)
    }
}
