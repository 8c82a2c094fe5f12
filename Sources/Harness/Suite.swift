// The experiments of a checkout: every experiments/*.json, loaded and validated.

import Foundation

public struct Suite: Sendable {
    public var specs: [ExperimentSpec]

    public static func load(directory: String) throws -> Suite {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw HarnessError.badInput("cannot list the experiments directory '\(directory)'")
        }
        let specs = try files.filter { $0.hasSuffix(".json") }.sorted().map { try ExperimentSpec.load(path: "\(directory)/\($0)") }
        guard !specs.isEmpty else { throw HarnessError.badInput("no experiment specs (*.json) in '\(directory)'") }
        return Suite(specs: specs)
    }

    public var names: [String] { specs.map(\.name) }

    /// The named experiment, or every one for "all".
    public func select(_ name: String) throws -> [ExperimentSpec] {
        if name == "all" { return specs }
        guard let spec = specs.first(where: { $0.name == name }) else {
            throw HarnessError.badInput("unknown experiment '\(name)'; valid: all, \(names.joined(separator: ", "))")
        }
        return [spec]
    }
}
