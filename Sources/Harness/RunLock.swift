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
