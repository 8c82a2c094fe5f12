import Foundation

// CSV text as every results writer in AttnLab renders it: RFC 4180 quoting (CPU model
// names can contain commas), a header line, one line per row.

public enum CSVTable {
    /// A field as CSV: quoted when it holds a comma, a quote or a line break, with inner quotes doubled.
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The whole table as text, each line ending in "\n".
    public static func render(header: [String], rows: [[String]]) -> String {
        var text = header.map(field).joined(separator: ",") + "\n"
        for (index, row) in rows.enumerated() {
            precondition(row.count == header.count, "CSV row \(index) has \(row.count) fields, the header has \(header.count)")
            text += row.map(field).joined(separator: ",") + "\n"
        }
        return text
    }
}
