// What a program does when it is asked to stop (SIGTERM, SIGINT, SIGHUP): instead of dying
// wherever it is, it removes the temporary files of the atomic writes in progress (AtomicFile
// registers them here), waits for a commit in progress (`Interruption.deferring`, e.g. the
// renames that publish a set of files together) to end, prints one line saying what happened
// and that outputs are whole, then dies of the same signal (exit status 128 + n, as callers
// and make expect). SIGKILL cannot be handled: the files it can leave are AtomicFile's dot-named
// temporary files, which readers never open and the next writer of the directory removes.
//
// The signal handler only writes the signal number to a pipe (async-signal-safe); a thread of
// its own reads it and does the rest, holding the lock that registrations and commits take.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Interruption {
    /// Temporary files being written, and the lock commits hold.
    private final class State: @unchecked Sendable {
        let lock = NSRecursiveLock()
        var temporaries: Set<String> = []
        var hint = ""
        var program = "program"
        var pipe: [Int32] = [-1, -1]
    }
    private static let state = State()

    /// Installs the handlers for SIGTERM, SIGINT and SIGHUP (once, at start-up, before any thread
    /// that writes files starts). `program` prefixes the message.
    public static func install(program: String) {
        state.lock.lock()
        defer { state.lock.unlock() }
        state.program = program
        guard state.pipe[0] < 0 else { return }
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        state.pipe = fds
        signalPipe = fds[1]
        let reader = fds[0]
        let thread = Thread {
            var signal: Int32 = 0
            while true {
                let n = withUnsafeMutableBytes(of: &signal) { read(reader, $0.baseAddress, 4) }
                if n == 4 { stop(signal) }
                if n < 0 && errno != EINTR { return }
            }
        }
        thread.name = "interruption"
        thread.start()
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            Glibc.signal(signal) { number in
                var n = number
                let saved = errno
                _ = withUnsafeBytes(of: &n) { write(signalPipe, $0.baseAddress, 4) }
                errno = saved
            }
        }
    }

    /// A sentence the message adds for the command running (e.g. how to resume).
    public static func setHint(_ text: String) {
        state.lock.lock(); state.hint = text; state.lock.unlock()
    }

    /// Runs `body` (short: renames) with a signal's handling held back until it returns, so a
    /// set of files published together is published whole or not at all (SIGKILL aside).
    public static func deferring<T>(_ body: () throws -> T) rethrows -> T {
        state.lock.lock()
        defer { state.lock.unlock() }
        return try body()
    }

    static func register(_ temporary: String) {
        state.lock.lock(); state.temporaries.insert(temporary); state.lock.unlock()
    }

    static func unregister(_ temporary: String) {
        state.lock.lock(); state.temporaries.remove(temporary); state.lock.unlock()
    }

    /// Never returns: takes the lock (waiting for a commit to end) and keeps it, so no other
    /// thread starts a write or a commit, removes the temporary files, says so and dies of `signal`.
    private static func stop(_ signal: Int32) {
        state.lock.lock()
        var removed = 0
        for path in state.temporaries where unlink(path) == 0 { removed += 1 }
        let name = signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : signal == SIGHUP ? "SIGHUP" : "signal \(signal)"
        var message = "\(state.program): stopped by \(name); every file it wrote is whole, the others keep their previous content"
        if removed > 0 { message += " (removed \(removed) unfinished temporary file\(removed == 1 ? "" : "s"))" }
        message += "."
        if !state.hint.isEmpty { message += " " + state.hint }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Glibc.signal(signal, SIG_DFL)
        kill(getpid(), signal)
        // The default action ends the process; nothing below runs.
        while true { pause() }
    }
}

/// The write end of the signal pipe (read by the signal handler, so a plain global).
private nonisolated(unsafe) var signalPipe: Int32 = -1
