// The per-mechanism summary across experiments: summary.tex/.md (reads the kv-cache-scaling,
// prefill, decode, MQAR, passkey and throughput results); no claims.

import Attention
import Foundation

extension ReportGenerator {
    mutating func summary(_ loaded: [String: ResultsFile]) throws {
        let kv = loaded["kv-cache-scaling"]!, pre = loaded["prefill-scaling"]!, dec = loaded["decode-scaling"]!
        let mq = loaded["mqar-recall"]!, pk = loaded["passkey-distance"]!, tp = loaded["throughput"]!
        let maxT = pre.distinct("tokens").compactMap(Int.init).max() ?? 0
        let maxC = dec.distinct("context").compactMap(Int.init).max() ?? 0
        let mqPoints = mq.recallPoints()
        func mqCell(_ p: RecallPoint) -> [Int] { [p.int("seq_len") ?? 0, p.int("kv_pairs") ?? 0, p.int("d_model") ?? 0] }
        let hardest = mqPoints.map(mqCell).max { $0.lexicographicallyPrecedes($1) } ?? [0, 0, 0]
        // Beyond the receptive field L·(w − 1) of the first windowed mechanism (as the passkey section).
        let windowRow = Variant.with(.window).lazy.compactMap { pk.rows("accuracy_at_distance", ["variant": $0.rawValue]).first }.first
        let reach = (Double(windowRow?["layers"] ?? "") ?? 0) * ((Double(windowRow?["window"] ?? "") ?? 0) - 1)
        var table = ReportTable(columns: [
            ("mechanism", "l"), ("cache/token/layer", "r"), ("prefill \(tokenCount(maxT)) (s)", "r"), ("decode \(tokenCount(maxC)) (ms)", "r"),
            ("MQAR \(hardest[0])/\(hardest[1]) C\(hardest[2]) (%)", "r"), ("passkey beyond reach (%)", "r"), ("parameters", "r"), ("train tok/s", "r"),
        ], rows: [])
        for v in Self.variants {
            let cache = (try? kv.value("analytic_elements_per_token_per_layer", ["variant": v, "context": kv.distinct("context").first ?? ""])) ?? .nan
            let mechanism = try Variant.parse(v)
            let cacheText = mechanism.cacheGrowth == .fixed ? "0 (fixed state)" : formatNumber(cache, decimals: 0)
            let prefill = (try? pre.value("median_seconds", ["variant": v, "tokens": String(maxT)])) ?? .nan
            let decodeSeries = Series.deployed(mechanism)
            let decode = (dec.rows("median_seconds", ["context": String(maxC)]).first { $0.series == decodeSeries }?.value ?? .nan) * 1e3
            let hardPoint = mqPoints.first { $0.variant == v && mqCell($0) == hardest }
            let acc = (hardPoint?.meanAccuracy ?? .nan) * 100
            let beyond = mean(pk.rows("accuracy_at_distance", ["variant": v]).filter { ($0.double("distance") ?? 0) > reach }.map(\.value)) * 100
            let params = hardPoint.flatMap { p in mq.rows("parameters", p.runFilters[0]).first?.value } ?? .nan
            let train = (try? tp.value("tokens_per_second", ["variant": v, "phase": "train"])) ?? .nan
            table.rows.append([Self.label(decodeSeries), cacheText, formatNumber(prefill, decimals: 2), formatNumber(decode, decimals: 2),
                               formatNumber(acc, decimals: 1), formatNumber(beyond, decimals: 1), formatNumber(params, decimals: 0), formatNumber(train, decimals: 0)])
        }
        files["summary.tex"] = table.latex
        files["summary.md"] = table.markdown
    }
}
