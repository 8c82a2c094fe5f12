// Passkey retrieval against distance (passkey-distance): numbers only (no files); claims
// passkey-unwindowed-every-distance and passkey-window-reach.

import Attention
import Foundation

extension ReportGenerator {
    mutating func passkey(_ f: ResultsFile) throws {
        guard let any = f.rows("accuracy_at_distance").first else { throw HarnessError.failed("report: passkey-distance has no accuracy_at_distance rows") }
        // Through L layers a window of w tokens reaches back L·(w − 1) positions.
        func reachOf(_ v: Variant) -> Double {
            let row = f.rows("accuracy_at_distance", ["variant": v.rawValue]).first
            return (Double(row?["layers"] ?? "") ?? .nan) * ((Double(row?["window"] ?? "") ?? .nan) - 1)
        }
        let windowed = Variant.with(.window).filter { !f.rows("accuracy_at_distance", ["variant": $0.rawValue]).isEmpty }
        // The macros the prose cites describe the first windowed mechanism (SWA).
        let window = Double(windowed.first.flatMap { f.rows("accuracy_at_distance", ["variant": $0.rawValue]).first?["window"] } ?? "") ?? .nan
        let layers = Double(any["layers"]) ?? .nan
        let reach = windowed.first.map(reachOf) ?? .nan
        numbers.add("PasskeyWindow", window, decimals: 0, "SWA window in the passkey experiment")
        numbers.add("PasskeyLayers", layers, decimals: 0, "layers")
        numbers.add("PasskeyReach", reach, decimals: 0, "receptive field L(w-1)")
        numbers.add("PasskeyLength", Double(any["seq_len"]) ?? .nan, decimals: 0, "sequence length")
        func meanAcc(_ v: String, _ within: Bool, reach: Double = reach) -> Double {
            mean(f.rows("accuracy_at_distance", ["variant": v]).filter { r in
                let d = r.double("distance") ?? 0
                return within ? d <= reach : d > reach
            }.map(\.value))
        }
        for v in seriesOrder(f.distinct("variant")) {
            numbers.add("PasskeyWithin" + macroWord(v), meanAcc(v, true) * 100, decimals: 1, "\(v) mean accuracy % within reach")
            numbers.add("PasskeyBeyond" + macroWord(v), meanAcc(v, false) * 100, decimals: 1, "\(v) mean accuracy % beyond reach")
        }
        let others = Variant.allCases.filter { $0.cacheGrowth != .window }.map(\.rawValue)
        let worstOther = others.map { v in
            Set(f.rows("accuracy_at_distance", ["variant": v]).map { $0["distance"] }).map { d in
                mean(f.rows("accuracy_at_distance", ["variant": v, "distance": d]).map(\.value))
            }.min() ?? 0
        }.min() ?? 0
        claim(.passkeyUnwindowedEveryDistance, worstOther >= 0.95, "worst mean accuracy at any distance \(worstOther)")
        let baseline = Variant.baseline.rawValue
        let windowStats = windowed.map { v in
            (v.rawValue, within: meanAcc(v.rawValue, true, reach: reachOf(v)), beyond: meanAcc(v.rawValue, false, reach: reachOf(v)),
             baselineBeyond: meanAcc(baseline, false, reach: reachOf(v)))
        }
        claim(.passkeyWindowReach, !windowStats.isEmpty && windowStats.allSatisfy { $0.beyond < 0.5 * $0.within && $0.beyond < $0.baselineBeyond },
              windowStats.map { "\($0.0) within \($0.within), beyond \($0.beyond); \(baseline) beyond \($0.baselineBeyond)" }.joined(separator: "; "))
    }
}
