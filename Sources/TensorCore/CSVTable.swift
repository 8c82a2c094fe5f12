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

extension CSVTable {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let message: String
        public var description: String { "CSV line \(line): \(message)" }
    }

    /// Parses text written by `render` (RFC 4180: quoted fields may hold commas, quotes
    /// and line breaks). Every row must have as many fields as the header.
    public static func parse(_ text: String) throws -> (header: [String], rows: [[String]]) {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false, wasQuoted = false
        var line = 1
        var chars = Array(text.unicodeScalars)[...]
        func endField() { record.append(field); field = ""; wasQuoted = false }
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.unicodeScalars.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty, !wasQuoted else { throw ParseError(line: line, message: "a quote inside an unquoted field") }
                quoted = true; wasQuoted = true
            case ",": endField()
            case "\r": continue
            case "\n":
                endField(); records.append(record); record = []; line += 1
            default: field.unicodeScalars.append(c)
            }
        }
        if quoted { throw ParseError(line: line, message: "unterminated quoted field") }
        if !field.isEmpty || !record.isEmpty || wasQuoted { endField(); records.append(record) }
        guard let header = records.first else { throw ParseError(line: 1, message: "no header") }
        for (i, r) in records.dropFirst().enumerated() where r.count != header.count {
            throw ParseError(line: i + 2, message: "\(r.count) fields, the header has \(header.count)")
        }
        return (header, Array(records.dropFirst()))
    }
}
