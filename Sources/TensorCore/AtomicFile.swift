// Atomic file writes for everything AttnLab produces (checkpoints, safetensors, CSV):
// the data goes to a temporary file next to the destination, is flushed, then renamed
// over it, so a reader or an interrupted run sees the old file or the new one, never a
// part. The temporary file is removed on failure.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating missing parent directories if asked.
    public static func write(_ data: Data, to path: String, createDirectories: Bool = true) throws {
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
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw AtomicFileError(path: path, message: posixMessage("cannot create temporary file \(temp)"))
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
            guard rename(temp, path) == 0 else {
                throw AtomicFileError(path: path, message: posixMessage("cannot rename \(temp) over it"))
            }
            // And the directory entry, so that the new name itself survives a crash.
            let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 { _ = fsync(directory); close(directory) }
        } catch {
            if !closed { close(fd) }
            unlink(temp)
            throw error
        }
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to path: String, createDirectories: Bool = true) throws {
        try write(Data(text.utf8), to: path, createDirectories: createDirectories)
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
