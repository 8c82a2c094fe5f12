// Multi-query associative recall (mqar-recall): mqar.tex/.md, mqar-steps.tex, mqar-points.csv
// and mqar-curves.csv; claims mqar-fixed-state-not-above-baseline and mqar-baseline-converges.
// Zoology's one-head attention (mqar-one-head) joins both tables as a reference row below
// the mechanisms; it takes no part in the gate or the claims.

import Attention
import Foundation

extension ReportGenerator {
    /// The one-head reference row's label.
    static let oneHeadLabel = "MHA, 1 head (zoology)"

    mutating func mqar(_ f: ResultsFile, oneHead: ResultsFile) throws {
        let points = f.recallPoints()
        let reference = oneHead.recallPoints()
        // A cell is (T, N, width); sorted by length, pairs, then width.
        func cell(_ p: RecallPoint) -> [Int] { [p.int("seq_len") ?? 0, p.int("kv_pairs") ?? 0, p.int("d_model") ?? 0] }
        let cells = Array(Set(points.map(cell))).sorted { $0.lexicographicallyPrecedes($1) }
        guard let hardest = cells.last else { throw HarnessError.failed("report: mqar-recall has no accuracy rows") }
        func point(_ v: String, _ c: [Int]) -> RecallPoint? { points.first { $0.variant == v && cell($0) == c } }
        // The convergence gate: a cell whose full-attention baseline (MHA) did not reach 99 %
        // mean test accuracy compares training budgets, not mechanisms. Its entries are marked
        // and no ranking claim is checked on it.
        let target = 0.99
        let baseline = Variant.baseline.rawValue
        let converged = Set(cells.filter { (point(baseline, $0)?.meanAccuracy ?? 0) >= target })
        func cellTitle(_ c: [Int]) -> String { "T \(c[0]), N \(c[1]), C \(c[2])" }
        var accuracyTable = ReportTable(columns: [("mechanism", "l")] + cells.map { (cellTitle($0) + (converged.contains($0) ? "" : " †"), "r") }, rows: [])
        var stepsTable = ReportTable(columns: [("mechanism", "l")] + cells.map { (cellTitle($0), "r") }, rows: [])
        var csv = "variant,seq_len,kv_pairs,d_model,seed,lr,accuracy,steps_to_99,tokens_to_99,baseline_converged\n"
        let mechanisms = seriesOrder(Array(Set(points.map(\.variant))))
        // (label, id in mqar-points.csv, point in a cell): the mechanisms, then the one-head
        // reference when it ran (tables only: the points file and figure hold the mechanisms).
        var series: [(label: String, id: String?, point: ([Int]) -> RecallPoint?)] = mechanisms.map { v in (Self.label(v), v, { point(v, $0) }) }
        if !reference.isEmpty {
            series.append((Self.oneHeadLabel, nil, { c in reference.first { cell($0) == c } }))
        }
        for (label, id, pointIn) in series {
            var accRow = [label], stepsRow = [label]
            for c in cells {
                guard let p = pointIn(c) else { accRow.append("—"); stepsRow.append("—"); continue }
                let m = p.meanAccuracy * 100, h = p.accuracyHalfWidth95 * 100
                accRow.append(formatNumber(m, decimals: 1) + (h.isNaN ? "" : " ± " + formatNumber(h, decimals: 1)))
                let reached = p.stepsTo99.compactMap { $0 }
                stepsRow.append(reached.isEmpty ? "— (0/\(p.seeds.count))"
                                : formatNumber(mean(reached), decimals: 0) + (reached.count < p.seeds.count ? " (\(reached.count)/\(p.seeds.count))" : ""))
                for i in p.seeds.indices {
                    guard let v = id else { break }
                    csv += [v, String(c[0]), String(c[1]), String(c[2]), p.seeds[i], "\(p.learningRates[i])", "\(p.accuracies[i])",
                            p.stepsTo99[i].map { String(Int($0)) } ?? "", p.tokensTo99[i].map { String(Int($0)) } ?? "",
                            converged.contains(c) ? "1" : "0"].joined(separator: ",") + "\n"
                }
            }
            accuracyTable.rows.append(accRow)
            stepsTable.rows.append(stepsRow)
        }
        if !reference.isEmpty {
            accuracyTable.rulesAfter.insert(mechanisms.count - 1)
            stepsTable.rulesAfter.insert(mechanisms.count - 1)
        }
        files["mqar.tex"] = accuracyTable.latex
        files["mqar.md"] = accuracyTable.markdown
        files["mqar-steps.tex"] = stepsTable.latex
        files["mqar-points.csv"] = csv
        // The reported runs' training curves (validation accuracy against step), for the curves figure.
        var curves = "variant,seq_len,kv_pairs,d_model,seed,step,eval_accuracy\n"
        for p in points {
            for (i, runFilter) in p.runFilters.enumerated() {
                for r in f.rows("eval_accuracy", runFilter) {
                    curves += [p.variant, p["seq_len"], p["kv_pairs"], p["d_model"], p.seeds[i], r["step"], "\(r.value)"].joined(separator: ",") + "\n"
                }
            }
        }
        files["mqar-curves.csv"] = curves

        let seeds = points.map(\.seeds.count).max() ?? 0
        numbers.add("MQARSeeds", String(seeds), "seeds per MQAR point")
        if let r = f.rows("accuracy").first {
            numbers.add("TrainLayers", r["layers"], "layers of the MQAR models")
            numbers.add("TrainHeads", r["heads"], "heads of the MQAR models")
            numbers.add("MQARBatch", r["batch"], "MQAR batch size")
            numbers.add("MQARTestExamples", r["test_examples"].isEmpty ? "n/a" : r["test_examples"], "MQAR test examples")
            numbers.add("MQAREvalExamples", r["eval_examples"], "MQAR validation examples")
        }
        numbers.add("TrainWidth", Set(cells.map { String($0[2]) }).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: " and "), "widths of the MQAR models")
        // The grid as the chosen-rate runs name it, else (no such run yet) the rates the grid runs used.
        let grids = Set(f.rows("accuracy").map { $0[LearningRateChoice.gridParameter] }.filter { !$0.isEmpty })
        let rates = Set(f.rows("accuracy").map { $0["lr"] }.filter { $0 != LearningRateChoice.selected }).sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
        let gridText = !grids.isEmpty ? grids.sorted().joined(separator: "; ").replacingOccurrences(of: " ", with: ", ")
            : points.contains(where: \.chosenFromGrid) ? rates.joined(separator: ", ") : "none (one rate: " + rates.joined(separator: ", ") + ")"
        numbers.add("MQARLRGrid", gridText, "MQAR learning-rate grid")
        numbers.add("MQARVocab", f.rows("accuracy").first?["vocab"] ?? "", "MQAR vocabulary")
        numbers.add("MQARStopTarget", (Double(f.rows("accuracy").first?["target_accuracy"] ?? "") ?? .nan) * 100, decimals: 1, "MQAR early-stop target, % validation accuracy")
        numbers.add("MQARSteps", Set(f.rows("accuracy").map { $0["steps"] }).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: "/"), "MQAR step budgets")
        numbers.add("MQARCells", String(cells.count), "MQAR cells (T, N, width)")
        numbers.add("MQARConvergedCells", String(converged.count), "cells where MHA reached 99 % mean test accuracy")
        let unconverged = cells.filter { !converged.contains($0) }
        numbers.add("MQARUnconvergedList", unconverged.isEmpty ? "none" : unconverged.map { "(\($0[0]), \($0[1]), \($0[2]))" }.joined(separator: ", "),
                    "cells whose MHA baseline did not converge")
        numbers.add("MQARHardLen", Double(hardest[0]), decimals: 0, "hardest cell length")
        numbers.add("MQARHardPairs", Double(hardest[1]), decimals: 0, "hardest cell pairs")
        numbers.add("MQARHardWidth", Double(hardest[2]), decimals: 0, "hardest cell width")
        for v in Self.variants {
            numbers.add("MQARHard" + macroWord(v), (point(v, hardest)?.meanAccuracy ?? .nan) * 100, decimals: 1, "\(v) mean test accuracy % on the hardest cell")
        }
        // The one-head reference: on how many of the cells it ran it reached 99 % mean test accuracy.
        let referenceCells = cells.filter { c in reference.contains { cell($0) == c } }
        let referenceConverged = referenceCells.filter { c in (reference.first { cell($0) == c }?.meanAccuracy ?? 0) >= target }
        numbers.add("MQAROneHeadCells", String(referenceCells.count), "MQAR cells the one-head reference ran")
        numbers.add("MQAROneHeadConvergedCells", String(referenceConverged.count), "cells where one-head MHA reached 99 % mean test accuracy")
        numbers.add("MQAROneHeadProfile", reference.isEmpty ? "n/a" : oneHead.profile, "profile of the one-head reference")
        numbers.add("MQAROneHeadHard", (reference.first { cell($0) == hardest }?.meanAccuracy ?? .nan) * 100, decimals: 1,
                    "one-head MHA mean test accuracy % on the hardest cell")
        // Gated ranking claim: checked only on cells whose baseline converged.
        let fixedState = Variant.with(.fixed).map(\.rawValue)
        let gated = cells.filter(converged.contains).flatMap { c in fixedState.compactMap { v in point(v, c).map { (c, v, $0.meanAccuracy) } } }
        if !gated.isEmpty {
            let holds = gated.allSatisfy { $0.2 <= point(baseline, $0.0)!.meanAccuracy }
            claim(.mqarFixedStateNotAboveBaseline, holds, gated.map { "(\($0.0[0]),\($0.0[1]),\($0.0[2])) \($0.1) \($0.2) \(baseline) \(point(baseline, $0.0)!.meanAccuracy)" }.joined(separator: ", "))
        }
        // The baseline claim the protocol promises: MHA converges on every cell at the widest width.
        let widest = cells.map { $0[2] }.max()!
        let wideCells = cells.filter { $0[2] == widest }
        claim(.mqarBaselineConverges, wideCells.allSatisfy(converged.contains), wideCells.map { "(\($0[0]),\($0[1])) \(point(baseline, $0)?.meanAccuracy ?? .nan)" }.joined(separator: ", "))
    }
}
