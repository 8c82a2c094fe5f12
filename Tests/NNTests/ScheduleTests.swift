// WarmupCosine against values computed by hand from its definition:
//   step < warmup:  peak · (step + 1) / warmup
//   afterwards:     floor + (peak − floor) · ½ (1 + cos(π · (step − warmup) / (total − warmup)))
//   step ≥ total:   floor

import Foundation
import Testing
import NN

/// |got − expected| within a relative tolerance (Float has ~7 digits).
private func close(_ got: Float, _ expected: Double, rtol: Double = 1e-6) -> Bool {
    abs(Double(got) - expected) <= rtol * abs(expected) + 1e-12
}

/// The definition above, in Double.
private func reference(_ s: WarmupCosine, _ step: Int) -> Double {
    let peak = Double(s.peak), floor = Double(s.floor)
    if step < s.warmupSteps { return peak * Double(step + 1) / Double(s.warmupSteps) }
    if step >= s.totalSteps { return floor }
    let p = Double(step - s.warmupSteps) / Double(s.totalSteps - s.warmupSteps)
    return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * p))
}

// peak 1e-3, floor 1e-5, 10 warm-up steps, 110 in all: the decay spans steps 10..<110.
private let standard = WarmupCosine(peak: 1e-3, floor: 1e-5, warmupSteps: 10, totalSteps: 110)

@Test func warmupIsLinearFromPeakOverWarmup() {
    let s = standard
    #expect(close(s.learningRate(step: 0), 1e-4))  // 1e-3 · 1/10
    #expect(close(s.learningRate(step: 4), 5e-4))  // 1e-3 · 5/10
    #expect(close(s.learningRate(step: 9), 1e-3))  // 1e-3 · 10/10: peak on the last warm-up step
    for k in 0..<10 {
        #expect(close(s.learningRate(step: k), 1e-3 * Double(k + 1) / 10), "step \(k)")
    }
}

@Test func cosineDecayValues() {
    let s = standard
    // Step 10: p = 0, ½(1 + cos 0) = 1 → peak.
    #expect(close(s.learningRate(step: 10), 1e-3))
    // Step 35: p = 0.25, ½(1 + cos(π/4)) = ½(1 + 0.70710678) = 0.85355339
    //   → 1e-5 + 9.9e-4 · 0.85355339 = 8.5501786e-4
    #expect(close(s.learningRate(step: 35), 8.5501786e-4))
    // Step 60: p = 0.5, cos(π/2) = 0 → midpoint 1e-5 + 9.9e-4 / 2 = 5.05e-4.
    #expect(close(s.learningRate(step: 60), 5.05e-4))
    // Step 85: p = 0.75, ½(1 − 0.70710678) = 0.14644661 → 1e-5 + 9.9e-4 · 0.14644661 = 1.5498214e-4
    #expect(close(s.learningRate(step: 85), 1.5498214e-4))
    // Step 109 (the last of the decay): p = 0.99, ½(1 + cos(0.99π)) = 2.4671981e-4
    //   → 1e-5 + 9.9e-4 · 2.4671981e-4 = 1.0244253e-5, just above the floor.
    #expect(close(s.learningRate(step: 109), 1.0244253e-5))
    #expect(s.learningRate(step: 109) > s.floor)
}

@Test(arguments: [110, 111, 200, 1_000_000])
func atAndAfterEndIsFloor(step: Int) {
    #expect(standard.learningRate(step: step) == standard.floor)
}

@Test func zeroWarmupStartsAtPeak() {
    let s = WarmupCosine(peak: 0.5, floor: 0, warmupSteps: 0, totalSteps: 100)
    #expect(s.learningRate(step: 0) == 0.5)                 // p = 0 → peak, no warm-up ramp
    #expect(close(s.learningRate(step: 50), 0.25))          // p = 0.5 → peak / 2
    #expect(close(s.learningRate(step: 99), 0.5 * 0.5 * (1 + cos(Double.pi * 0.99))))
    #expect(s.learningRate(step: 100) == 0)
}

@Test func warmupEqualToTotalHasNoDecayPhase() {
    let s = WarmupCosine(peak: 1, floor: 0.1, warmupSteps: 4, totalSteps: 4)
    #expect(close(s.learningRate(step: 0), 0.25))
    #expect(close(s.learningRate(step: 3), 1))
    #expect(s.learningRate(step: 4) == 0.1)
    #expect(s.learningRate(step: 5) == 0.1)
}

private let shapes: [WarmupCosine] = [
    standard,
    WarmupCosine(peak: 3e-4, floor: 3e-5, warmupSteps: 100, totalSteps: 5000),
    WarmupCosine(peak: 1, floor: 0, warmupSteps: 0, totalSteps: 1000),
    WarmupCosine(peak: 6e-4, floor: 6e-4, warmupSteps: 5, totalSteps: 50),  // constant after warm-up
    WarmupCosine(peak: 1e-2, floor: 0, warmupSteps: 1, totalSteps: 7),
]

@Test(arguments: shapes)
func matchesDefinitionAtEveryStep(s: WarmupCosine) {
    for step in 0..<(s.totalSteps + 10) {
        #expect(close(s.learningRate(step: step), reference(s, step), rtol: 2e-6),
                "step \(step): \(s.learningRate(step: step)) vs \(reference(s, step))")
    }
}

@Test(arguments: shapes)
func monotone(s: WarmupCosine) {
    // Strictly increasing through warm-up, then non-increasing at every later step.
    for step in 0..<max(s.warmupSteps - 1, 0) {
        #expect(s.learningRate(step: step) < s.learningRate(step: step + 1), "warm-up step \(step)")
    }
    for step in max(s.warmupSteps - 1, 0)..<(s.totalSteps + 10) {
        let a = s.learningRate(step: step), b = s.learningRate(step: step + 1)
        #expect(b <= a, "lr rose from \(a) at step \(step) to \(b)")
        #expect(b >= s.floor, "lr \(b) below floor at step \(step + 1)")
    }
}

@Test func codableRoundTrip() throws {
    let data = try JSONEncoder().encode(standard)
    #expect(try JSONDecoder().decode(WarmupCosine.self, from: data) == standard)
}
