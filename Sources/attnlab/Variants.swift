import ArgumentParser
import Attention
import TensorCore

/// `attnlab variants`: the registered mechanisms and what each caches.
struct Variants: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the registered attention mechanisms and their KV-cache formulas."
    )

    func run() throws {
        let ref = Variant.reference
        print("Cached elements per token per layer at the reference configuration: d_model \(ref.hiddenSize), "
              + "n_h \(ref.numHeads), d_h \(ref.headDim), n_kv \(ref.numKVHeads) (gqa, swa), w \(ref.slidingWindow ?? 0) (swa), "
              + "d_c \(ref.kvLoraRank) and d_h^R \(ref.qkRopeHeadDim) (mla).\n")
        let rows = try Variant.allCases.map { v -> [String] in
            var rng = Xoshiro256StarStar(seed: 0)
            let m = try v.make(config: ref, rng: &rng)
            let value = v.cacheGrowth == .fixed ? "0 (state \(m.cacheElements(context: 0)))" : "\(m.kvElementsPerToken)"
            return [v.rawValue, v.kvFormula, value, v.summary]
        }
        printTable(header: ["id", "cached per token", "value", "mechanism"], rows: rows)
    }
}

/// Left-aligned columns separated by two spaces.
func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
    for (i, row) in all.enumerated() {
        let cells = row.enumerated().map { c, s in c == row.count - 1 ? s : s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
        print(cells.joined(separator: "  "))
        if i == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
    }
}
