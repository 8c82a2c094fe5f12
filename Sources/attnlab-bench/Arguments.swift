// A tiny command-line parser for the benchmark subcommands: `--name value`,
// `--name=value` and bare flags, with typed errors that name the bad value.

import Foundation

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case io(String)
    case mismatch(String)

    var description: String {
        switch self {
        case .usage(let message), .io(let message), .mismatch(let message): return message
        }
    }
}

/// The options after a subcommand name. Each `take*` call consumes one option;
/// `finish()` rejects whatever was not consumed.
struct Arguments {
    private var remaining: [String]
    private let command: String
    private var known: [String] = []

    init(command: String, _ arguments: [String]) {
        self.command = command
        self.remaining = arguments
    }

    /// True when `--name` is present (as a bare flag).
    mutating func flag(_ name: String) -> Bool {
        known.append(name)
        guard let i = remaining.firstIndex(of: name) else { return false }
        remaining.remove(at: i)
        return true
    }

    /// The value of `--name value` or `--name=value`, or nil when absent.
    mutating func value(_ name: String) throws -> String? {
        known.append(name)
        if let i = remaining.firstIndex(of: name) {
            guard i + 1 < remaining.count else { throw BenchError.usage("\(command): \(name) needs a value") }
            let v = remaining[i + 1]
            remaining.removeSubrange(i...(i + 1))
            return v
        }
        if let i = remaining.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            let v = String(remaining[i].dropFirst(name.count + 1))
            remaining.remove(at: i)
            return v
        }
        return nil
    }

    mutating func int(_ name: String, atLeast minimum: Int) throws -> Int? {
        guard let text = try value(name) else { return nil }
        guard let v = Int(text), v >= minimum else {
            throw BenchError.usage("\(command): \(name) \(text) is invalid: use a whole number of at least \(minimum)")
        }
        return v
    }

    mutating func double(_ name: String, above minimum: Double) throws -> Double? {
        guard let text = try value(name) else { return nil }
        guard let v = Double(text), v > minimum, v.isFinite else {
            throw BenchError.usage("\(command): \(name) \(text) is invalid: use a number greater than \(minimum)")
        }
        return v
    }

    /// A comma-separated list of whole numbers, each at least `minimum` (e.g. `--threads 1,2`).
    mutating func intList(_ name: String, atLeast minimum: Int) throws -> [Int]? {
        guard let text = try value(name) else { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 >= minimum }) else {
            throw BenchError.usage("\(command): \(name) \(text) is invalid: use whole numbers of at least \(minimum), separated by commas")
        }
        return values
    }

    /// A comma-separated list of numbers strictly between `lower` and `upper` (e.g. `--ratios 0.5,0.875`).
    mutating func fractionList(_ name: String, between lower: Double, and upper: Double) throws -> [Double]? {
        guard let text = try value(name) else { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 > lower && $0 < upper }) else {
            throw BenchError.usage("\(command): \(name) \(text) is invalid: use numbers in (\(lower), \(upper)), separated by commas")
        }
        return values
    }

    /// Throws if any argument was not consumed.
    func finish() throws {
        guard let first = remaining.first else { return }
        throw BenchError.usage("\(command): unknown argument '\(first)'; valid options: \(known.joined(separator: ", "))")
    }
}
