// AtomicFile: a set of files published together (writeAll) and the removal of stale
// temporary files. What signals do to a writer is tested on the real binary by
// scripts/check-faults.sh (docs/reliability.md).

import Foundation
import Testing
import TensorCore

private func scratch(_ label: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-atomic-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

@Suite("Atomic files")
struct AtomicFileTests {
    @Test func writeAllReplacesEveryFileAndLeavesNoTemporary() throws {
        let dir = try scratch("all")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("old a", to: "\(dir)/a.txt")
        try AtomicFile.writeAll([(path: "\(dir)/a.txt", data: Data("new a".utf8)),
                                 (path: "\(dir)/sub/b.txt", data: Data("new b".utf8))])
        #expect(contents("\(dir)/a.txt") == "new a")
        #expect(contents("\(dir)/sub/b.txt") == "new b")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["a.txt", "sub"])
    }

    @Test func aWriteAllThatFailsChangesNoFile() throws {
        let dir = try scratch("fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("old a", to: "\(dir)/a.txt")
        // The second file cannot be written (its directory is a file): the first stays old.
        try AtomicFile.write("x", to: "\(dir)/blocker")
        #expect(throws: AtomicFileError.self) {
            try AtomicFile.writeAll([(path: "\(dir)/a.txt", data: Data("new a".utf8)),
                                     (path: "\(dir)/blocker/b.txt", data: Data("new b".utf8))])
        }
        #expect(contents("\(dir)/a.txt") == "old a")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["a.txt", "blocker"], "left: \(names)")
    }

    @Test func staleTemporariesAreRemovedAndOthersKept() throws {
        let dir = try scratch("stale")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stale = "\(dir)/.numbers.tex.tmp-999999-\(UUID().uuidString)"
        let fresh = "\(dir)/.numbers.tex.tmp-999998-\(UUID().uuidString)"
        let output = "\(dir)/numbers.tex", hidden = "\(dir)/.notes"
        for path in [stale, fresh, output, hidden] { try "half".write(toFile: path, atomically: false, encoding: .utf8) }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: stale)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: output)
        #expect(AtomicFile.removeStaleTemporaries(in: dir) == [stale])
        #expect(FileManager.default.fileExists(atPath: fresh))   // possibly a write in progress
        #expect(FileManager.default.fileExists(atPath: output) && FileManager.default.fileExists(atPath: hidden))
        #expect(AtomicFile.isTemporary(".a.csv.tmp-1-X") && !AtomicFile.isTemporary("a.csv") && !AtomicFile.isTemporary(".claim"))
        #expect(AtomicFile.removeStaleTemporaries(in: "\(dir)/missing").isEmpty)
    }
}
