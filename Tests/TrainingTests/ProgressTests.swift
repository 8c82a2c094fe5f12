// The progress line and its ETA.

import Testing
import Training

@Suite("Progress")
struct ProgressTests {
    @Test func lineShowsStepLossAccuracyThroughputAndETA() {
        let s = ProgressState(step: 50, totalSteps: 200, loss: 1.23456, accuracy: 0.875,
                              tokensPerSecond: 12_345, elapsedSeconds: 10)
        #expect(s.etaSeconds == 30)
        #expect(s.line == "step 50/200  loss 1.2346  acc 87.5%  12.3k tok/s  ETA 30s")
    }

    @Test func etaIsTheAveragePaceTimesTheStepsLeft() {
        func eta(_ step: Int, _ total: Int, _ elapsed: Double) -> Double {
            ProgressState(step: step, totalSteps: total, loss: 0, accuracy: nil, tokensPerSecond: 0, elapsedSeconds: elapsed).etaSeconds
        }
        #expect(eta(1, 4, 2) == 6)
        #expect(eta(3, 4, 1.5) == 0.5)
        #expect(eta(4, 4, 9) == 0)
        #expect(eta(5, 4, 9) == 0, "past the budget (a resumed run): nothing left, never negative")
        #expect(eta(0, 4, 0).isNaN, "no pace before the first step")
    }

    @Test func aTimeBudgetBoundsTheETAAndAnUnboundedRunShowsNoTotal() {
        let budgeted = ProgressState(step: 10, totalSteps: 1000, loss: 0, tokensPerSecond: 0, elapsedSeconds: 10, budgetSeconds: 60)
        #expect(budgeted.etaSeconds == 50, "990 s by steps, but the budget ends it in 50 s")
        let early = ProgressState(step: 990, totalSteps: 1000, loss: 0, tokensPerSecond: 0, elapsedSeconds: 10, budgetSeconds: 60)
        #expect(abs(early.etaSeconds - 10.0 / 99) < 1e-12, "the steps end it before the budget")
        let unbounded = ProgressState(step: 7, totalSteps: TrainConfig.unboundedSteps, loss: 0, tokensPerSecond: 0,
                                      elapsedSeconds: 5, budgetSeconds: 65)
        #expect(unbounded.etaSeconds == 60)
        #expect(unbounded.line.hasPrefix("step 7  loss"), "\(unbounded.line)")
    }

    @Test(arguments: [
        // (step, total, elapsed s, tokens/s) → expected tail of the line
        (0, 10, 0.0, 0.0, "acc –  0 tok/s  ETA –"),
        (1, 2, 3725.0, 999.0, "acc –  999 tok/s  ETA 1h02m"),
        (1, 2, 125.0, 2_500_000.0, "acc –  2.50M tok/s  ETA 2m05s"),
        (2, 2, 7.0, 1_000.0, "acc –  1.0k tok/s  ETA 0s"),
        (1, 3, 29.6, 12.4, "acc –  12 tok/s  ETA 59s"),
    ])
    func lineFormatsUnitsAndMissingValues(_ step: Int, _ total: Int, _ elapsed: Double, _ rate: Double, _ tail: String) {
        let s = ProgressState(step: step, totalSteps: total, loss: 0.5, accuracy: nil, tokensPerSecond: rate, elapsedSeconds: elapsed)
        #expect(s.line == "step \(step)/\(total)  loss 0.5000  \(tail)")
    }

    @Test func accuracyIsAPercentageWithOneDecimal() {
        for (acc, text) in [(0.0, "0.0%"), (1.0, "100.0%"), (0.12345, "12.3%")] {
            let s = ProgressState(step: 1, totalSteps: 1, loss: 0, accuracy: acc, tokensPerSecond: 0, elapsedSeconds: 1)
            #expect(s.line.contains("acc \(text) "), "\(s.line as String)")
        }
    }
}
