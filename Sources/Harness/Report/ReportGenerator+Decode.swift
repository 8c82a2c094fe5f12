// Decode time per token against context (decode-scaling): numbers only (no files); claims
// decode-fixed-state-flat, decode-window-flat and deployed-path-faster.

import Attention
import Foundation

extension ReportGenerator {
    mutating func decode(_ f: ResultsFile) throws {
        let contexts = f.distinct("context").compactMap(Int.init).sorted()
        guard let maxC = contexts.last, let minC = contexts.first else { throw HarnessError.failed("report: decode-scaling has no contexts") }
        numbers.add("DecodeMaxContext", Double(maxC), decimals: 0, "longest context")
        numbers.add("DecodeMinContext", Double(minC), decimals: 0, "shortest context")
        func ms(_ series: String, _ c: Int) throws -> Double {
            let rows = f.rows("median_seconds", ["context": String(c)]).filter { $0.series == series }
            guard rows.count == 1 else { throw HarnessError.failed("report: decode-scaling: \(rows.count) rows for \(series) at \(c)") }
            return rows[0].value * 1e3
        }
        let series = seriesOrder(f.rows("median_seconds").map(\.series))
        for s in series {
            numbers.add("DecodeMaxMs" + macroWord(s), try ms(s, maxC), decimals: 2, "\(s) ms per token at the longest context")
            numbers.add("DecodeGrowth" + macroWord(s), try ms(s, maxC) / ms(s, minC), decimals: 1, "\(s) time growth from shortest to longest context")
        }
        let baseline = Variant.baseline.rawValue
        let gbps = f.rows("achieved_gbps", ["context": String(maxC)]).first { $0.series == baseline }?.value ?? .nan
        numbers.add("DecodeMHAGBps", gbps, decimals: 1, "\(baseline) (baseline) GB/s of cache read at the longest context")
        let window = Variant.reference.slidingWindow ?? 0
        numbers.add("RefWindow", Double(window), decimals: 0, "reference sliding window")
        let growthBaseline = try ms(baseline, maxC) / ms(baseline, minC)
        let fixedGrowth = try Variant.with(.fixed).map { ($0.rawValue, try ms($0.rawValue, maxC) / ms($0.rawValue, minC)) }
        let contextGrowth = Double(maxC) / Double(minC)
        claim(.decodeFixedStateFlat, fixedGrowth.allSatisfy { $0.1 < 1.5 } && (contextGrowth < 16 || growthBaseline > 4),
              fixedGrowth.map { "\($0.0) ×\($0.1)" }.joined(separator: ", ") + ", \(baseline) ×\(growthBaseline) over a context ×\(contextGrowth)")
        let beyond = contexts.filter { $0 >= 2 * window }
        if let first = beyond.first, first < maxC {
            let growth = try Variant.with(.window).map { ($0.rawValue, try ms($0.rawValue, maxC) / ms($0.rawValue, first)) }
            claim(.decodeWindowFlat, growth.allSatisfy { $0.1 < 1.5 }, growth.map { "\($0.0) ×\($0.1)" }.joined(separator: ", ") + " from \(first) to \(maxC)")
        }
        // A mechanism with several inference paths (MLA naive and absorbed): the deployed one is the faster.
        var pathTimes: [(deployed: String, other: String, ratio: Double)] = []
        for v in Variant.allCases {
            let deployed = Series.deployed(v)
            for p in v.descriptor.inferencePaths where !p.deployed {
                let other = "\(v.rawValue)-\(p.name)"
                pathTimes.append((deployed, other, try ms(other, maxC) / ms(deployed, maxC)))
            }
        }
        if let first = pathTimes.first {
            numbers.add("DecodeMLAAbsorbedSpeedup", first.ratio, decimals: 1, "\(first.other) / \(first.deployed) decode time at the longest context")
        }
        claim(.deployedPathFaster, pathTimes.allSatisfy { $0.ratio > 1 }, pathTimes.map { "\($0.other) / \($0.deployed) = \($0.ratio)" }.joined(separator: ", "))
    }
}
