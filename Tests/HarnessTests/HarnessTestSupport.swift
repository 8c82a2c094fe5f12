// Shared by the harness tests: temporary directories, tiny specs written to files, and a
// check that a call fails with HarnessError.badInput whose message names given values.

import Foundation
import Testing
@testable import Harness

/// The repository root, three levels above this file (Tests/HarnessTests/<file>).
let harnessRepoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh directory under the system's temporary directory, removed when the value is released.
final class TempDir {
    let path: String

    init(_ label: String = "harness") throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to <dir>/<name> and returns the path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: p).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// Every file under the directory, relative paths, sorted.
    func allFiles() -> [String] {
        let e = FileManager.default.enumerator(atPath: path)
        var out: [String] = []
        while let name = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: file(name), isDirectory: &isDir), !isDir.boolValue { out.append(name) }
        }
        return out.sorted()
    }
}

/// A JSON object as spec text.
func json(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

/// A valid kv-cache-scaling spec (no training; each run still builds a reference layer, ~0.3 s in debug) with the same profile in all three.
func kvScalingSpec(name: String = "tiny", contexts: [Int] = [16, 32], variants: [String] = ["gqa", "mqa", "linear"],
                   seeds: [Int] = [0, 1]) -> [String: Any] {
    let profile: [String: Any] = ["variants": variants, "cells": contexts.map { ["context": $0] }, "seeds": seeds]
    return ["name": name, "version": 1, "kind": "kv-cache-scaling", "description": "test spec",
            "base": ["layers": 1, "max_measured_bytes": 1 << 20],
            "profiles": ["smoke": profile, "quick": profile, "paper": profile]]
}

/// A valid smoke-sized train spec: MQAR at length 16, a few steps per run.
func trainSpec(name: String = "tiny-train", variants: [String] = ["all"], seeds: [Any] = [0],
               knobs: [String: Any]? = nil, set: [String: Any] = [:]) -> [String: Any] {
    var profile: [String: Any] = ["variants": variants, "cells": [["seq_len": 16, "kv_pairs": 2]], "seeds": seeds, "set": set]
    if let knobs { profile["knobs"] = knobs }
    return ["name": name, "version": 1, "kind": "train", "description": "test spec",
            "base": ["task": "mqar", "vocab": 64, "d_model": 16, "layers": 1, "heads": 4, "batch": 4, "lr": 0.003,
                     "warmup": 1, "steps": 2, "eval_every": 2, "eval_examples": 8, "target_accuracy": 1, "threads": 1],
            "variant_base": ["gqa": ["kv_heads": 2], "swa": ["window": 8]], "knob_defaults": ["window": 8],
            "profiles": ["smoke": profile, "quick": profile, "paper": profile]]
}

/// `trainSpec` for MHA and linear attention with an lr grid on the smoke profile (no fixed
/// lr; target 0.99; 8 test examples): grid runs at the first seed, chosen-rate runs after.
func gridTrainSpec(name: String = "tiny-train", seeds: [Int] = [0, 1, 2], grid: [Any] = [0.003, 0.01],
                   set: [String: Any] = [:]) -> [String: Any] {
    var spec = trainSpec(name: name, variants: ["mha", "linear"], seeds: seeds, set: set)
    var profiles = spec["profiles"] as! [String: Any]
    var smoke = profiles["smoke"] as! [String: Any]
    smoke["lr_grid"] = grid
    profiles["smoke"] = smoke
    spec["profiles"] = profiles
    var base = spec["base"] as! [String: Any]
    base["lr"] = nil
    base["target_accuracy"] = 0.99
    base["test_examples"] = 8
    spec["base"] = base
    return spec
}

/// Expects `body` to throw HarnessError.badInput whose message contains every string of `mentions`.
func expectBadInput(_ mentions: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected HarnessError.badInput mentioning \(mentions), but nothing was thrown", sourceLocation: sourceLocation)
    } catch HarnessError.badInput(let message) {
        for m in mentions where !message.contains(m) {
            Issue.record("message does not mention '\(m)': \(message)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected HarnessError.badInput mentioning \(mentions), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// A RunLog that keeps lines, for asserting on what the runner said.
final class CollectingLog: RunLog, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
    func line(_ text: String) { lock.lock(); stored.append(text); lock.unlock() }
}
