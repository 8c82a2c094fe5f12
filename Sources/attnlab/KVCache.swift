import ArgumentParser
import Foundation
import Harness

/// `attnlab kv-cache`: what a published model's config.json implies for its KV cache.
struct KVCache: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv-cache",
        abstract: "KV-cache size of a published model, from its Hugging Face config.json.",
        discussion: """
        Reads num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim (or hidden_size),
        sliding_window with layer_types, sliding_window_pattern, the Gemma 2 alternation or
        use_sliding_window, and for MLA kv_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim.
        Prints the fields it used, the defaults it applied, what each layer caches, and the cache of
        one sequence at each context (sliding layers hold at most their window).
        """
    )

    @Option(help: "A model's config.json (see configs/models/).")
    var config: String

    @Option(name: .customLong("context"),
            help: "Context length in tokens; repeat or give a comma list (default 4096,32768,131072).")
    var contexts: [String] = []

    @Option(help: "Bytes per cached element (2 = bf16).")
    var bytesPerElement: Int = 2

    func run() throws {
        guard bytesPerElement > 0, bytesPerElement <= 64 else {
            throw KVCacheCommandError("--bytes-per-element \(bytesPerElement) is invalid: use 1 … 64 (2 for bf16, 1 for fp8, 4 for fp32)")
        }
        let lengths = try Self.parseContexts(contexts)
        let model = try PublishedModel.load(path: config)
        print(Self.report(model, contexts: lengths, bytesPerElement: bytesPerElement), terminator: "")
    }

    /// "4096,32768" and repeated options to positive integers.
    static func parseContexts(_ raw: [String]) throws -> [Int] {
        if raw.isEmpty { return [4096, 32768, 131072] }
        var out: [Int] = []
        for item in raw.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let n = Int(text), n > 0, n <= 1 << 30 else {
                throw KVCacheCommandError("--context '\(text)' is invalid: use positive integers up to \(1 << 30), repeated or comma-separated (e.g. --context 4096,32768)")
            }
            out.append(n)
        }
        return out
    }

    static func report(_ m: PublishedModel, contexts: [Int], bytesPerElement: Int) -> String {
        var s = ""
        func line(_ t: String = "") { s += t + "\n" }
        let kind = [m.modelType, m.architectures.isEmpty ? nil : m.architectures.joined(separator: ", ")]
            .compactMap { $0 }.joined(separator: ", ")
        line("model: \(m.name)\(kind.isEmpty ? "" : " (\(kind))")")
        line("file: \(m.file)")
        if let source = m.source { line("source: \(source)") }
        line()
        line("fields used:")
        for f in m.fieldsUsed { line("  \(f.name) = \(f.value)") }
        line("defaults applied:\(m.defaultsApplied.isEmpty ? " none" : "")")
        for d in m.defaultsApplied { line("  \(d.field) = \(d.value)  (\(d.rule))") }
        for n in m.notes { line("note: \(n)") }
        line()
        line("layers: \(m.layerSummary)")
        for g in m.layerGroups {
            let place = g.layer.window.map { "sliding, w \($0)" } ?? "global"
            line("  \(g.indices.count) × [\(place)] \(g.layer.cacheDescription): \(g.layer.elementsPerToken) elements per token per layer; layers \(g.indexDescription)")
        }
        if let perLayer = m.uniformElementsPerTokenPerLayer {
            line("elements per token per layer: \(perLayer)")
        }
        let perToken = m.elementsPerToken
        line("elements per token (all layers): \(perToken) = \(perToken * bytesPerElement) bytes at \(bytesPerElement) bytes per element")
        if let mla = m.mla, let eq = m.mhaEquivalentElementsPerTokenPerLayer, let ratio = m.mlaReduction,
           let eqAll = m.mhaEquivalentElementsPerToken {
            line("MHA equivalent: n_h·d_nope + n_h·d_v = \(m.numHeads)·\(mla.qkNopeHeadDim) + \(m.numHeads)·\(mla.vHeadDim) = \(eq) elements per token per layer (\(eqAll) per token) against MLA's d_c + d_h^R = \(mla.kvLoraRank) + \(mla.qkRopeHeadDim) = \(mla.kvLoraRank + mla.qkRopeHeadDim): \(String(format: "%.1f", ratio))× less")
        }
        line()
        let header = ["context", "elements", "bytes", "exact bytes"]
        var rows: [[String]] = []
        for c in contexts {
            let elements = m.cachedElements(context: c)
            let bytes = elements * bytesPerElement
            rows.append(["\(c)", "\(elements)", humanReadableBytes(bytes), "\(bytes)"])
        }
        if m.mla != nil, let eqAll = m.mhaEquivalentElementsPerToken {
            line("cache of one sequence (MHA equivalent in the last column):")
            let withEq = zip(rows, contexts).map { row, c -> [String] in
                row + [humanReadableBytes(eqAll * c * bytesPerElement)]
            }
            s += formatTable(header: header + ["MHA equivalent"], rows: withEq)
        } else {
            line("cache of one sequence:")
            s += formatTable(header: header, rows: rows)
        }
        return s
    }
}

/// Left-aligned columns separated by two spaces, as text.
func formatTable(header: [String], rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
    var out = ""
    for (i, row) in all.enumerated() {
        let cells = row.enumerated().map { c, s in c == row.count - 1 ? s : s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
        out += cells.joined(separator: "  ") + "\n"
        if i == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
    }
    return out
}

struct KVCacheCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
