// Recall against the state kept (recall-vs-cache): rvc-points.csv (with the Pareto
// frontier) and the numbers the prose cites; no claims.

import Attention
import Foundation

extension ReportGenerator {
    mutating func recallVsCache(_ f: ResultsFile) throws {
        // Each point at its reported runs (chosen learning rate), against the state it keeps
        // at the cell's length in fp32 bytes over all layers (zoology's and Based's axis).
        let knobColumns = ["d_model", "heads", "kv_heads", "window", "latent", "feature_dim"]
        struct Entry { var variant: String; var knob: String; var bytes: Double; var acc: [Double] }
        var entries: [Entry] = []
        for p in f.recallPoints() {
            let bytes = mean(p.runFilters.compactMap { filter in
                f.rows("state_bytes_at_seq_len", filter).first?.value ?? f.rows("kv_elements_at_seq_len", filter).first.map { $0.value * 4 }
            })
            let knob = knobColumns.compactMap { c in p[c].isEmpty ? nil : "\(c)=\(p[c])" }.joined(separator: " ")
            entries.append(Entry(variant: p.variant, knob: knob, bytes: bytes, acc: p.accuracies))
        }
        // The Pareto frontier: no other point keeps at most as many bytes and recalls at least as well, one strictly.
        func dominated(_ e: Entry) -> Bool {
            entries.contains { o in o.bytes <= e.bytes && mean(o.acc) >= mean(e.acc) && (o.bytes < e.bytes || mean(o.acc) > mean(e.acc)) }
        }
        var csv = "variant,knob,state_bytes,mean,min,max,n,frontier\n"
        for e in entries.sorted(by: { ($0.variant, $0.bytes) < ($1.variant, $1.bytes) }) {
            csv += "\(e.variant),\(e.knob),\(e.bytes),\(mean(e.acc)),\(e.acc.min() ?? .nan),\(e.acc.max() ?? .nan),\(e.acc.count),\(dominated(e) ? 0 : 1)\n"
        }
        files["rvc-points.csv"] = csv
        var bestPerVariant: [String: Entry] = [:]
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
