// CSV output for benchmarks: TensorCore's CSVTable, written with AtomicFile.

import TensorCore

enum CSV {
    static func render(header: [String], rows: [[String]]) -> String { CSVTable.render(header: header, rows: rows) }

    /// Writes `text` to `path` atomically, creating the parent directory if needed.
    static func writeAtomically(_ text: String, to path: String) throws {
        do { try AtomicFile.write(text, to: path) } catch { throw BenchError.io("\(error)") }
    }
}
