// Which family wins at which budget, on MQAR: the architectures and their knobs
// (recall-vs-cache) against a standard model whose cache a policy compresses
// (cache-policies), on the same cell and the same axis, cache bytes per context token.
// At each budget (the largest uncompressed cache of the policies' models, then halved
// four times) the best configuration of each family that fits, and the winner: named only
// where the two 95 % intervals over seeds do not overlap, "tie" otherwise (and "one seed"
// where either side has a single seed, so no interval). Writes families-at-budgets.tex/.md.

import CachePolicies
import Foundation

extension ReportGenerator {
    struct FamilyPoint {
        var label: String; var bytesPerToken: Double; var accuracies: [Double]
        var meanAccuracy: Double { mean(accuracies) }
        var halfWidth: Double { tHalfWidth95(accuracies) }
    }

    /// Budgets and winners; `cell` is the cache-policies MQAR cell, or nil where it did not
    /// run or recall-vs-cache ran another cell (the table then says so).
    mutating func familiesAtBudgets(_ f: ResultsFile, architectures a: ResultsFile, cell: [String: String]?) {
        var table = ReportTable(columns: [("budget (bytes/token)", "r"), ("best architecture", "l"), ("acc. %", "r"),
                                          ("best policy", "l"), ("acc. %", "r"), ("winner", "l")], rows: [])
        func write(_ status: String) {
            numbers.add("FamiliesStatus", status, "whether the families-at-budgets table could be drawn")
            files["families-at-budgets.tex"] = table.latex
            files["families-at-budgets.md"] = table.markdown
        }
        let first = a.rows("accuracy").first
        guard let cell, let seqLen = Double(cell["seq_len"] ?? ""), let first, first["seq_len"] == cell["seq_len"],
              first["kv_pairs"] == cell["kv_pairs"], first["vocab"] == cell["vocab"] else {
            table.rows.append(["—", "not drawn: recall-vs-cache and cache-policies ran different MQAR cells", "", "", "", ""])
            return write("not drawn (the two experiments ran different MQAR cells)")
        }
        let architectures = Self.recallCacheEntries(a).map {
            FamilyPoint(label: "\(Self.label($0.variant)) \($0.knob)", bytesPerToken: $0.bytes / seqLen, accuracies: $0.acc)
        }
        // Each (model, policy, setting) of the cell, over seeds.
        var policies: [FamilyPoint] = [], fullCaches: [Double] = []
        let rows = f.rows("accuracy", cell.filter { !$0.value.isEmpty })
        let settings = Set(rows.map { [$0.variant, $0["policy"], $0["ratio"], $0["bits"]] })
        for s in settings.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let filter = cell.filter { !$0.value.isEmpty }.merging(["variant": s[0], "policy": s[1], "ratio": s[2], "bits": s[3]]) { $1 }
            let acc = f.rows("accuracy", filter).map(\.value), bytes = f.rows("cache_bytes_per_context_token", filter).map(\.value)
            guard !acc.isEmpty, !bytes.isEmpty else { continue }
            let policy = CachePolicy(rawValue: s[1])
            let setting = policy?.kind == .eviction ? " \(formatNumber((Double(s[2]) ?? .nan) * 100, decimals: 1)) % removed"
                : policy?.kind == .quantisation ? " \(s[3]) bits" : ""
            policies.append(FamilyPoint(label: "\(Self.label(s[0])), \(policy?.displayName ?? s[1])\(setting)", bytesPerToken: mean(bytes), accuracies: acc))
            if policy?.kind == CachePolicyKind.none { fullCaches.append(mean(bytes)) }
        }
        guard let largest = fullCaches.max(), !architectures.isEmpty else {
            table.rows.append(["—", "not drawn: no uncompressed model or no architecture points", "", "", "", ""])
            return write("not drawn (no uncompressed model or no architecture points)")
        }
        func best(_ points: [FamilyPoint], within budget: Double) -> FamilyPoint? {
            points.filter { $0.bytesPerToken <= budget * (1 + 1e-9) }.max { ($0.meanAccuracy, -$0.bytesPerToken) < ($1.meanAccuracy, -$1.bytesPerToken) }
        }
        func accuracy(_ p: FamilyPoint?) -> String {
            guard let p else { return "—" }
            let h = p.halfWidth
            return formatNumber(p.meanAccuracy * 100, decimals: 1) + (h.isNaN ? "" : " ± " + formatNumber(h * 100, decimals: 1))
        }
        var decided = 0
        for k in 0..<5 {
            let budget = largest / Double(1 << k)
            let arch = best(architectures, within: budget), policy = best(policies, within: budget)
            let winner: String
            switch (arch, policy) {
            case let (x?, y?):
                let gap = x.meanAccuracy - y.meanAccuracy
                if x.halfWidth.isNaN || y.halfWidth.isNaN {
                    winner = gap == 0 ? "tie (one seed)" : (gap > 0 ? "architectures" : "policies") + " (one seed)"
                } else if abs(gap) > x.halfWidth + y.halfWidth {
                    winner = gap > 0 ? "architectures" : "policies"
                    decided += 1
                } else {
                    winner = "tie (intervals overlap)"
                }
            case (_?, nil): winner = "architectures (no policy fits)"
            case (nil, _?): winner = "policies (no architecture fits)"
            case (nil, nil): winner = "—"
            }
            table.rows.append([formatNumber(budget, decimals: 0), arch?.label ?? "none fits", accuracy(arch), policy?.label ?? "none fits",
                               accuracy(policy), winner])
        }
        numbers.add("FamiliesDecided", String(decided), "budgets where one family's interval lies above the other's")
        numbers.add("FamiliesProfile", "\(a.profile) and \(f.profile)", "profiles of recall-vs-cache and cache-policies")
        write("drawn")
    }
}
