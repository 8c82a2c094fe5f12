// Copying and selective copying: copying.tex/.md, copying-points.csv, selective-copying.tex/.md
// and selective-copying-points.csv; claims copying-fixed-state-falls and copying-window-reach.

import Attention
import Foundation

extension ReportGenerator {
    mutating func copying(_ copy: ResultsFile, _ selective: ResultsFile) throws {
        for (f, name, prefix) in [(copy, "copying", "Copy"), (selective, "selective-copying", "SelCopy")] {
            // The reported runs: per point the learning rate chosen on validation (every seed without a grid).
            let points = f.recallPoints()
            func point(_ v: String, _ t: Int) -> RecallPoint? { points.first { $0.variant == v && $0.int("seq_len") == t } }
            func acc(_ v: String, _ t: Int) -> Double { point(v, t)?.meanAccuracy ?? .nan }
            let lengths = f.distinct("seq_len", metric: "accuracy").compactMap(Int.init).sorted()
            var table = ReportTable(columns: [("mechanism", "l")] + lengths.map { ("T \($0)", "r") }, rows: [])
            for v in seriesOrder(f.distinct("variant")) {
                var row = [Self.label(v)]
                for t in lengths {
                    let h = (point(v, t)?.accuracyHalfWidth95 ?? .nan) * 100
                    row.append(formatNumber(acc(v, t) * 100, decimals: 1) + (h.isNaN ? "" : " ± " + formatNumber(h, decimals: 1)))
                }
                table.rows.append(row)
            }
            files["\(name).tex"] = table.latex
            files["\(name).md"] = table.markdown
            // The figure's data: the reported runs only (a grid's other rates served the choice).
            files["\(name)-points.csv"] = "variant,seq_len,seed,accuracy\n" + points.flatMap { p in
                p.seeds.indices.map { "\(p.variant),\(p["seq_len"]),\(p.seeds[$0]),\(p.accuracies[$0])\n" }
            }.joined()
            if name == "copying", lengths.count >= 2 {
                let baseline = Variant.baseline.rawValue
                let full = lengths.map { t in acc(baseline, t) }
                let fixed = Variant.with(.fixed).map { v in (v.rawValue, lengths.map { t in acc(v.rawValue, t) }) }
                claim(.copyingFixedStateFalls, full.allSatisfy { $0 >= 0.99 } && !fixed.isEmpty && fixed.allSatisfy { zip($0.1, $0.1.dropFirst()).allSatisfy { $0.0 > $0.1 } },
                      "\(baseline) \(full), " + fixed.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + " at lengths \(lengths)")
                // A token is copied from L + 1 positions back (string length L = (T − 1)/2);
                // through its layers the window reaches layers·(w − 1).
                var evidence: [String] = [], holds = true
                for v in Variant.with(.window) {
                    guard let row = f.rows("accuracy", ["variant": v.rawValue]).first, let w = row.int("window"), let layers = row.int("layers") else { continue }
                    let reach = layers * (w - 1)
                    let accuracies = lengths.map { t in (t, acc(v.rawValue, t)) }
                    holds = holds && accuracies.allSatisfy { (t, acc) in (t - 1) / 2 + 1 <= reach ? acc >= 0.99 : acc < 0.1 }
                    if !numbers.has("CopyReach") { numbers.add("CopyReach", Double(reach), decimals: 0, "\(v.rawValue) reach in the copying experiment") }
                    evidence.append("\(v.rawValue) reach \(reach): " + accuracies.map { "T \($0.0): \($0.1)" }.joined(separator: ", "))
                }
                if !evidence.isEmpty {
                    claim(.copyingWindowReach, holds, evidence.joined(separator: "; "))
                }
            }
            if name == "copying" && !numbers.has("CopyReach") { numbers.add("CopyReach", "n/a", "needs two lengths and a sliding-window run") }
            if let longest = lengths.last {
                numbers.add(prefix + "MaxLen", Double(longest), decimals: 0, "\(name) longest sequence")
                let window = Variant.with(.window).lazy.compactMap { f.rows("accuracy", ["variant": $0.rawValue]).first?["window"] }.first ?? ""
                numbers.add(prefix + "Window", window, "\(name) sliding window")
                for v in Self.variants {
                    numbers.add(prefix + "Longest" + macroWord(v), acc(v, longest) * 100,
                                decimals: 1, "\(v) accuracy % at the longest \(name) sequence")
                }
            }
        }
    }
}
