// Recall against the state kept (recall-vs-cache): rvc-points.csv (with the Pareto
// frontier) and the numbers the prose cites; no claims.

import Attention
import Foundation

extension ReportGenerator {
    /// One configuration of recall-vs-cache at its reported runs (chosen learning rate):
    /// the state it keeps at the cell's length in fp32 bytes over all layers (zoology's and
    /// Based's axis), and its test accuracies over seeds.
    struct RecallCacheEntry {
        var variant: String; var knob: String; var bytes: Double; var acc: [Double]
        var meanAccuracy: Double { mean(acc) }
    }

    static func recallCacheEntries(_ f: ResultsFile) -> [RecallCacheEntry] {
        let knobColumns = ["d_model", "heads", "kv_heads", "window", "latent", "feature_dim"]
        return f.recallPoints().map { p in
            let bytes = mean(p.runFilters.compactMap { filter in
                f.rows("state_bytes_at_seq_len", filter).first?.value ?? f.rows("kv_elements_at_seq_len", filter).first.map { $0.value * 4 }
            })
            let knob = knobColumns.compactMap { c in p[c].isEmpty ? nil : "\(c)=\(p[c])" }.joined(separator: " ")
            return RecallCacheEntry(variant: p.variant, knob: knob, bytes: bytes, acc: p.accuracies)
        }
    }

    /// Whether another entry keeps at most as many bytes and recalls at least as well, one
    /// strictly: off the Pareto frontier.
    static func dominated(_ e: RecallCacheEntry, in entries: [RecallCacheEntry]) -> Bool {
        entries.contains { o in
            o.bytes <= e.bytes && o.meanAccuracy >= e.meanAccuracy && (o.bytes < e.bytes || o.meanAccuracy > e.meanAccuracy)
        }
    }

    mutating func recallVsCache(_ f: ResultsFile) throws {
        let entries = Self.recallCacheEntries(f)
        func dominated(_ e: RecallCacheEntry) -> Bool { Self.dominated(e, in: entries) }
        var csv = "variant,knob,state_bytes,mean,min,max,n,frontier\n"
        for e in entries.sorted(by: { ($0.variant, $0.bytes) < ($1.variant, $1.bytes) }) {
            csv += "\(e.variant),\(e.knob),\(e.bytes),\(mean(e.acc)),\(e.acc.min() ?? .nan),\(e.acc.max() ?? .nan),\(e.acc.count),\(dominated(e) ? 0 : 1)\n"
        }
        files["rvc-points.csv"] = csv
        var bestPerVariant: [String: RecallCacheEntry] = [:]
        for e in entries where mean(e.acc) > mean(bestPerVariant[e.variant]?.acc ?? [-1]) { bestPerVariant[e.variant] = e }
        let seq = Double(f.rows("accuracy").first?["seq_len"] ?? "") ?? .nan
        numbers.add("RVCPoints", String(entries.count), "configurations in recall-vs-cache")
        numbers.add("RVCSeeds", String(entries.map(\.acc.count).max() ?? 0), "seeds per configuration")
        numbers.add("RVCLength", f.rows("accuracy").first?["seq_len"] ?? "", "recall-vs-cache sequence length")
        numbers.add("RVCPairs", f.rows("accuracy").first?["kv_pairs"] ?? "", "recall-vs-cache pairs")
        numbers.add("RVCVocab", f.rows("accuracy").first?["vocab"] ?? "", "recall-vs-cache vocabulary")
        numbers.add("RVCFrontier", entries.filter { !dominated($0) }.map { "\(Self.label($0.variant)) (\($0.knob))" }.joined(separator: ", "),
                    "configurations on the Pareto frontier")
        for v in seriesOrder(Array(bestPerVariant.keys)) {
            let b = bestPerVariant[v]!
            numbers.add("RVCBest" + macroWord(v), mean(b.acc) * 100, decimals: 1, "\(v) best mean accuracy %")
            numbers.add("RVCBestCache" + macroWord(v), b.bytes / 4 / seq, decimals: 1, "\(v) state elements per token at its best")
        }
    }
}
