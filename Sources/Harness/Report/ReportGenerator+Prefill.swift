// Prefill time against prompt length (prefill-scaling): prefill-slopes.csv (fitted
// log-log slopes) and the numbers the prose cites; claim prefill-slopes.

import Attention
import Foundation

extension ReportGenerator {
    mutating func prefill(_ f: ResultsFile) throws {
        let tokens = f.distinct("tokens").compactMap(Int.init).sorted()
        guard let maxT = tokens.last else { throw HarnessError.failed("report: prefill-scaling has no lengths") }
        // The slope is fitted over the longer half of the lengths, where attention dominates the projections.
        let fitFrom = tokens[tokens.count / 2]
        numbers.add("PrefillMaxTokens", Double(maxT), decimals: 0, "longest prompt")
        numbers.add("PrefillFitFrom", Double(fitFrom), decimals: 0, "slopes fitted from this length")
        var csv = "series,slope,fit_from_tokens\n"
        var slopes: [String: Double] = [:]
        for s in seriesOrder(f.distinct("variant")) {
            let points = f.rows("median_seconds", ["variant": s]).compactMap { r -> (x: Double, y: Double)? in
                guard let t = r.int("tokens"), t >= fitFrom else { return nil }
                return (Double(t), r.value)
            }
            let slope = logLogSlope(points)
            slopes[s] = slope
            csv += "\(s),\(String(format: "%.3f", slope)),\(fitFrom)\n"
            numbers.add("PrefillSlope" + macroWord(s), slope, decimals: 2, "\(s) log-log slope")
            numbers.add("PrefillMaxSeconds" + macroWord(s), try f.value("median_seconds", ["variant": s, "tokens": String(maxT)]), decimals: 2, "\(s) seconds at the longest prompt")
        }
        files["prefill-slopes.csv"] = csv
        let baseline = Variant.baseline
        let baseGF = try f.value("achieved_gflops", ["variant": baseline.rawValue, "tokens": String(maxT)])
        numbers.add("PrefillMHAGflops", baseGF, decimals: 1, "\(baseline.rawValue) (baseline) GFLOP/s at the longest prompt")
        // Mechanisms whose state is bounded (a window or a fixed state) against the full-attention baseline.
        let full = slopes[baseline.rawValue] ?? .nan
        let bounded = (Variant.with(.window) + Variant.with(.fixed)).map { ($0, slopes[$0.rawValue] ?? .nan) }
        let fixed = bounded.filter { $0.0.cacheGrowth == .fixed }
        claim(.prefillSlopes, !bounded.isEmpty && bounded.allSatisfy { full > $0.1 + 0.3 } && fixed.allSatisfy { $0.1 < 1.3 },
              "slopes \(baseline.rawValue) \(full); " + bounded.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", "))
    }
}
