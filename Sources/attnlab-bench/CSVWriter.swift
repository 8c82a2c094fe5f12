// CSV output for benchmarks: RFC 4180 quoting, written atomically (temp file in the
// destination directory, then rename), creating the directory when it is missing.

import Foundation

enum CSV {
    /// A field as CSV: quoted when it holds a comma, a quote or a line break, with
    /// inner quotes doubled (CPU model names can contain commas).
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The whole table as text: a header line, then one line per row, each ending in "\n".
    static func render(header: [String], rows: [[String]]) -> String {
        var text = header.map(field).joined(separator: ",") + "\n"
        for (index, row) in rows.enumerated() {
            precondition(row.count == header.count,
                         "CSV row \(index) has \(row.count) fields, the header has \(header.count)")
            text += row.map(field).joined(separator: ",") + "\n"
        }
        return text
    }

    /// Writes `text` to `path` atomically: readers see the old file or the new one, never
    /// a partial one. Creates the parent directory if needed.
    static func writeAtomically(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw BenchError.io("cannot create directory \(directory.path): \(error.localizedDescription)")
        }
        let temp = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try Data(text.utf8).write(to: temp)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw BenchError.io("cannot write \(temp.path): \(error.localizedDescription)")
        }
        if rename(temp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw BenchError.io("cannot rename \(temp.path) to \(url.path): \(reason)")
        }
    }
}
