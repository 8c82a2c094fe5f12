// The runs a recall result reports. A point is one configuration (variant and every
// parameter but the learning rate and the seed). Where a point was trained over an lr
// grid, it reports the grid run that LearningRateChoice picks on the validation set (the
// same rule the chosen-rate runs used) and the runs of the other seeds at that rate; the
// other grid runs only served the choice. Without a grid, every seed's run is reported.
// Accuracies here are the test set's.

import Foundation

struct RecallPoint {
    var variant: String
    /// The point's parameters (columns), learning rate and seed excluded.
    var parameters: [String: String]
    /// The learning rate the reported runs trained at (per reported run, in seed order).
    var learningRates: [Double]
    /// Whether the rate was chosen from a grid.
    var chosenFromGrid: Bool
    var seeds: [String]
    /// Test accuracy of each reported run. // [seeds]
    var accuracies: [Double]
    /// Steps to the stopping target on the validation set; nil where not reached. // [seeds]
    var stepsToTarget: [Double?]
    /// Steps and tokens to 99 % validation accuracy (zoology's bar); nil where not reached. // [seeds]
    var stepsTo99: [Double?]
    var tokensTo99: [Double?]
    /// The reported runs' filters (every parameter column with lr and seed), to read their other metrics.
    var runFilters: [[String: String]]

    subscript(_ column: String) -> String { parameters[column] ?? "" }
    func int(_ column: String) -> Int? { Int(self[column]) }
    var meanAccuracy: Double { mean(accuracies) }
    /// Half-width of the 95 % Student-t interval of the mean over seeds (nan for one seed).
    var accuracyHalfWidth95: Double { tHalfWidth95(accuracies) }
}

extension ResultsFile {
    /// Columns that are run parameters: between `variant` and `seed` in the header.
    var parameterColumns: [String] {
        guard let index = rows.first?.index, let v = index["variant"], let s = index["seed"] else { return [] }
        return index.filter { $0.value > v && $0.value < s }.sorted { $0.value < $1.value }.map(\.key)
    }

    /// The reported runs of every point, in first-seen order.
    func recallPoints() -> [RecallPoint] {
        let lrColumns: Set = ["lr", LearningRateChoice.gridParameter, LearningRateChoice.gridSeedParameter]
        let pointColumns = parameterColumns.filter { !lrColumns.contains($0) }
        let runColumns = parameterColumns + ["seed"]
        var order: [String] = []
        var groups: [String: [Row]] = [:]
        for r in rows("accuracy") {
            let key = ([r.variant] + pointColumns.map { r[$0] }).joined(separator: "\u{1F}")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        return order.map { key in
            let accuracyRows = groups[key]!
            let first = accuracyRows[0]
            func filter(_ r: Row) -> [String: String] {
                var f = Dictionary(uniqueKeysWithValues: runColumns.map { ($0, r[$0]) })
                f["variant"] = r.variant
                return f
            }
            func metric(_ name: String, _ r: Row) -> Double? { rows(name, filter(r)).first?.value }
            let chosenRuns = accuracyRows.filter { $0["lr"] == LearningRateChoice.selected }
            let gridRuns = accuracyRows.filter { $0["lr"] != LearningRateChoice.selected }
            let gridSeeds = Set(gridRuns.map { $0["seed"] })
            let isGrid = !chosenRuns.isEmpty || gridRuns.count > gridSeeds.count
            var reported = accuracyRows
            if isGrid {
                // The grid's seed: the one chosen runs name, else the one with several rates.
                let seed = chosenRuns.first?[LearningRateChoice.gridSeedParameter]
                    ?? Dictionary(grouping: gridRuns, by: { $0["seed"] }).max { $0.value.count < $1.value.count }!.key
                let grid = gridRuns.filter { $0["seed"] == seed }
                let candidates = grid.map { r in
                    LearningRateChoice.Candidate(learningRate: Double(r["lr"]) ?? .nan,
                                                 validationAccuracy: metric("val_accuracy", r) ?? r.value,
                                                 stepsToTarget: metric("steps_to_target", r))
                }
                reported = (LearningRateChoice.choose(candidates).map { [grid[$0]] } ?? []) + chosenRuns
            }
            reported.sort { (Int($0["seed"]) ?? 0) < (Int($1["seed"]) ?? 0) }
            return RecallPoint(
                variant: first.variant,
                parameters: Dictionary(uniqueKeysWithValues: pointColumns.map { ($0, first[$0]) }),
                learningRates: reported.map { metric("learning_rate", $0) ?? Double($0["lr"]) ?? .nan },
                chosenFromGrid: isGrid, seeds: reported.map { $0["seed"] }, accuracies: reported.map(\.value),
                stepsToTarget: reported.map { metric("steps_to_target", $0) },
                stepsTo99: reported.map { metric("steps_to_99", $0) },
                tokensTo99: reported.map { metric("tokens_to_99", $0) },
                runFilters: reported.map(filter))
        }
    }
}

/// Half-width of the two-sided 95 % Student-t interval of the mean of `xs`; nan below two values.
func tHalfWidth95(_ xs: [Double]) -> Double {
    let n = xs.count
    guard n >= 2 else { return .nan }
    let m = mean(xs)
    let sd = (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot()
    // t quantiles (0.975) for 1…10 degrees of freedom, then the normal's 1.96 as the limit.
    let t: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]
    return (n - 1 <= t.count ? t[n - 2] : 1.96) * sd / Double(n).squareRoot()
}
