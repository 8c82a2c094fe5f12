// Helpers shared by several sections: series in registry order, token counts as "16k",
// the ± spread over seeds.

extension ReportGenerator {
    /// Series in registry order (a mechanism's inference paths after it), unknown ones last.
    func seriesOrder(_ names: [String]) -> [String] {
        let order = Series.all.map(\.id)
        return Array(Set(names)).sorted { (order.firstIndex(of: $0) ?? Int.max, $0) < (order.firstIndex(of: $1) ?? Int.max, $1) }
    }
}

/// 16384 → "16k", 128 → "128".
func tokenCount(_ n: Int) -> String { n >= 1024 && n % 1024 == 0 ? "\(n / 1024)k" : String(n) }

/// Half the min–max range, the ± shown next to a mean over seeds.
func spread(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : (xs.max()! - xs.min()!) / 2 }
