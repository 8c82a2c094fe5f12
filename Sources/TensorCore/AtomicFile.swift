// Atomic file writes for everything AttnLab produces (checkpoints, safetensors, CSV):
// the data goes to a temporary file next to the destination, is flushed, then renamed
// over it, so a reader or an interrupted run sees the old file or the new one, never a
// part. The temporary file is removed on failure and on SIGTERM/SIGINT (Interruption); one
// that SIGKILL leaves is a dot-file named `.<name>.tmp-<pid>-<uuid>`, which readers never
// open and writers of its directory remove once it is stale (removeStaleTemporaries).
// writeAll publishes a set of files together.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating missing parent directories if asked.
    public static func write(_ data: Data, to path: String, createDirectories: Bool = true) throws {
        let temp = try stage(data, for: path, createDirectories: createDirectories)
        defer { Interruption.unregister(temp) }
        do { try publish(temp, as: path) } catch { unlink(temp); throw error }
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to path: String, createDirectories: Bool = true) throws {
        try write(Data(text.utf8), to: path, createDirectories: createDirectories)
    }

    /// Writes a set of files that belong together (say, every output of one report): each is
    /// written whole to its temporary file first, and only when all are written are they renamed
    /// into place, one after another, with a SIGTERM or SIGINT held back until the last rename
    /// (`Interruption.deferring`). A failure while writing (a full disk) changes none of the files;
    /// a signal leaves all the old ones or all the new ones; only SIGKILL (or a crash of the
    /// machine) during the renames, a window of microseconds, can leave some old and some new,
    /// each of them whole.
    public static func writeAll(_ files: [(path: String, data: Data)], createDirectories: Bool = true) throws {
        var staged: [(temp: String, path: String)] = []
        defer { for s in staged { Interruption.unregister(s.temp) } }
        do {
            for file in files { staged.append((try stage(file.data, for: file.path, createDirectories: createDirectories), file.path)) }
            try Interruption.deferring {
                for (i, s) in staged.enumerated() {
                    do { try publish(s.temp, as: s.path) } catch {
                        let message = (error as? AtomicFileError)?.message ?? "\(error)"
                        throw AtomicFileError(path: s.path, message: "\(message); \(i) of the \(staged.count) files were already replaced")
                    }
                }
            }
        } catch {
            for s in staged { unlink(s.temp) }
            throw error
        }
    }

    /// Whether `name` is one of AtomicFile's temporary files: `.<destination name>.tmp-<pid>-<uuid>`.
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".tmp-")
    }

    /// Removes the temporary files a killed writer (SIGKILL, a crash) left in `directory`, those
    /// older than `age` seconds (a younger one may belong to a writer at work, possibly on another
    /// host of a shared file system). They are never read in place of the file they were to become,
    /// so this is tidiness, not correctness. Returns their paths.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String, olderThan age: TimeInterval = 60) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names.sorted() where isTemporary(name) {
            let path = "\(directory)/\(name)"
            guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  Date().timeIntervalSince(modified) > age, unlink(path) == 0 else { continue }
            removed.append(path)
        }
        return removed
    }

    /// Writes `data` to a new temporary file next to `path`, flushed and closed; returns its path,
    /// registered with Interruption (the caller unregisters it once renamed or removed).
    private static func stage(_ data: Data, for path: String, createDirectories: Bool) throws -> String {
        if createDirectories {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw AtomicFileError(path: path, message: "cannot create directory \(directory.path): \(error.localizedDescription)")
            }
        }
        // The temporary file sits next to the destination: rename(2) is atomic only within one file system.
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString)").path
        // Registered before it exists, so a SIGTERM from here on removes it.
        Interruption.register(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let error = AtomicFileError(path: path, message: posixMessage("cannot create temporary file \(temp)"))
            Interruption.unregister(temp)
            throw error
        }
        var closed = false
        do {
            try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                guard let base = src.baseAddress else { return }  // nothing to write
                var done = 0
                while done < src.count {
                    let n = Glibc.write(fd, base + done, src.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw AtomicFileError(path: path, message: posixMessage("write failed"))
                    }
                    done += n
                }
            }
            // Flushed before the rename, so a crash cannot leave the new name on unwritten data.
            guard fsync(fd) == 0 else { throw AtomicFileError(path: path, message: posixMessage("fsync failed")) }
            closed = true
            guard close(fd) == 0 else { throw AtomicFileError(path: path, message: posixMessage("close failed")) }
        } catch {
            if !closed { close(fd) }
            unlink(temp)
            Interruption.unregister(temp)
            throw error
        }
        return temp
    }

    /// Renames a staged file over `path`, then flushes the directory entry so that the new name
    /// itself survives a crash.
    private static func publish(_ temp: String, as path: String) throws {
        guard rename(temp, path) == 0 else {
            throw AtomicFileError(path: path, message: posixMessage("cannot rename \(temp) over it"))
        }
        let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { _ = fsync(directory); close(directory) }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public var description: String { "cannot write '\(path)': \(message)" }
}

private func posixMessage(_ step: String) -> String {
    "\(step): \(String(cString: strerror(errno)))"
}
