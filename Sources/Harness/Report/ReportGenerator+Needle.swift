// The multi-key needle section (RULER's niah_multikey): test accuracy against the number
// of needles K, and accuracy against the distance of the asked needle at the largest K,
// from the reported runs (the learning rate chosen on the validation set). Writes
// needle-points.csv and needle-distance.csv for the figure, and the numbers the prose cites.

import Attention
import Foundation

extension ReportGenerator {
    mutating func multikeyNeedle(_ f: ResultsFile) throws {
        let points = f.recallPoints()
        guard !points.isEmpty else { throw HarnessError.failed("report: multikey-needle has no accuracy rows") }
        let ks = Array(Set(points.compactMap { $0.int("needles") })).sorted()
        let maxK = ks.last!
        var pointsCSV = "variant,needles,seed,lr,accuracy\n"
        var distanceCSV = "variant,needles,seed,distance,accuracy\n"
        var table = ReportTable(columns: [("mechanism", "l")] + ks.map { ("K \($0)", "r") }, rows: [])
        for v in seriesOrder(Array(Set(points.map(\.variant)))) {
            var row = [Self.label(v)]
            for k in ks {
                guard let p = points.first(where: { $0.variant == v && $0.int("needles") == k }) else { row.append("—"); continue }
                let h = p.accuracyHalfWidth95 * 100
                row.append(formatNumber(p.meanAccuracy * 100, decimals: 1) + (h.isNaN ? "" : " ± " + formatNumber(h, decimals: 1)))
                for i in p.seeds.indices {
                    pointsCSV += "\(v),\(k),\(p.seeds[i]),\(p.learningRates[i]),\(p.accuracies[i])\n"
                    for r in f.rows("accuracy_at_distance", p.runFilters[i]) {
                        distanceCSV += "\(v),\(k),\(p.seeds[i]),\(r["distance"]),\(r.value)\n"
                    }
                }
            }
            table.rows.append(row)
        }
        files["needle.tex"] = table.latex
        files["needle-points.csv"] = pointsCSV
        files["needle-distance.csv"] = distanceCSV
        numbers.add("NeedleKs", ks.map(String.init).joined(separator: ", "), "needle counts K")
        numbers.add("NeedleMaxK", String(maxK), "largest K")
        numbers.add("NeedleMinK", String(ks.first!), "smallest K")
        numbers.add("NeedleLength", f.rows("accuracy").first?["seq_len"] ?? "", "needle sequence length")
        numbers.add("NeedleSeeds", String(points.map(\.seeds.count).max() ?? 0), "seeds per needle point")
        let window = Variant.with(.window).lazy.compactMap { f.rows("accuracy", ["variant": $0.rawValue]).first?["window"] }.first
        numbers.add("NeedleWindow", window ?? "n/a", "sliding window in the needle experiment")
        for v in Self.variants {
            let p = points.first { $0.variant == v && $0.int("needles") == maxK }
            numbers.add("NeedleMaxK" + macroWord(v), (p?.meanAccuracy ?? .nan) * 100, decimals: 1, "\(v) mean test accuracy % at the largest K")
            let one = points.first { $0.variant == v && $0.int("needles") == ks.first! }
            numbers.add("NeedleMinK" + macroWord(v), (one?.meanAccuracy ?? .nan) * 100, decimals: 1, "\(v) mean test accuracy % at the smallest K")
        }
    }
}
