// The report's choice of reported runs: per point the grid run LearningRateChoice picks on
// validation plus the other seeds' chosen-rate runs (every seed without a grid), test
// accuracies from those runs only, and the 95 % Student-t interval.

import Foundation
import Testing
@testable import Harness

@Suite("Recall points")
struct RecallPointsTests {
    /// A merged train CSV with the columns RecallPoints reads: one run per (variant, d_model, lr, seed).
    private func file(_ runs: [(variant: String, width: Int, lr: String, seed: Int, test: Double, val: Double, steps: Int?)]) throws -> ResultsFile {
        var csv = "experiment,spec_version,profile,variant,seq_len,d_model,lr,lr_grid,lr_grid_seed,seed,step,metric,value,unit\n"
        for r in runs {
            let grid = r.lr == "best" ? "0.001 0.0022" : "", gridSeed = r.lr == "best" ? "0" : ""
            let prefix = "mqar-recall,2,paper,\(r.variant),64,\(r.width),\(r.lr),\(grid),\(gridSeed),\(r.seed)"
            csv += "\(prefix),,accuracy,\(r.test),fraction\n\(prefix),,val_accuracy,\(r.val),fraction\n"
            if let s = r.steps { csv += "\(prefix),,steps_to_target,\(s),steps\n\(prefix),,steps_to_99,\(s),steps\n" }
            csv += "\(prefix),100,eval_accuracy,\(r.val),fraction\n"
        }
        let dir = try TempDir("recall-points")
        try dir.write("mqar-recall.csv", csv)
        return try ResultsFile.load(results: dir.path, experiment: "mqar-recall")
    }

    @Test func aGridReportsTheRunChosenOnValidationAndTheChosenRateSeeds() throws {
        let f = try file([
            ("mha", 64, "0.001", 0, 0.60, 0.61, nil),
            ("mha", 64, "0.0022", 0, 0.995, 0.996, 2000),   // reached the target: chosen
            ("mha", 64, "best", 1, 0.99, 0.995, 2200),
            ("mha", 64, "best", 2, 0.98, 0.97, nil),
            ("gqa", 64, "0.001", 0, 0.30, 0.70, nil),       // highest validation, not test: chosen
            ("gqa", 64, "0.0022", 0, 0.90, 0.50, nil),
        ])
        let points = f.recallPoints()
        #expect(points.count == 2)
        let mha = try #require(points.first { $0.variant == "mha" })
        #expect(mha.chosenFromGrid && mha.seeds == ["0", "1", "2"] && mha.accuracies == [0.995, 0.99, 0.98])
        #expect(mha.stepsTo99 == [2000, 2200, nil])
        #expect(abs(mha.meanAccuracy - 0.988333) < 1e-5)
        let gqa = try #require(points.first { $0.variant == "gqa" })
        #expect(gqa.accuracies == [0.30], "chosen on validation (0.70), reported on test")
        #expect(gqa.learningRates == [0.001])
        // The chosen run's curve is the one its filter reads.
        #expect(f.rows("eval_accuracy", mha.runFilters[0]).map(\.value) == [0.996])
    }

    @Test func withoutAGridEverySeedIsReported() throws {
        let f = try file([("mha", 64, "0.003", 0, 0.9, 0.9, nil), ("mha", 64, "0.003", 1, 0.8, 0.8, nil),
                          ("mha", 128, "0.003", 0, 1.0, 1.0, 900)])
        let points = f.recallPoints()
        #expect(points.count == 2 && points.allSatisfy { !$0.chosenFromGrid })
        #expect(points.first { $0["d_model"] == "64" }?.accuracies == [0.9, 0.8])
    }

    @Test func tIntervalUsesStudentQuantiles() {
        #expect(tHalfWidth95([0.5]).isNaN)
        // n = 2: t(0.975, 1) = 12.706; sd of {0, 1} = 0.7071; half-width = 12.706 · 0.7071 / √2 = 6.353.
        #expect(abs(tHalfWidth95([0, 1]) - 6.353) < 1e-3)
        // n = 3: t(0.975, 2) = 4.303; sd of {1, 2, 3} = 1; half-width = 4.303 / √3.
        #expect(abs(tHalfWidth95([1, 2, 3]) - 4.303 / 3.0.squareRoot()) < 1e-9)
        #expect(tHalfWidth95([2, 2, 2]) == 0)
    }
}
