import Foundation

/// Learning rate with linear warm-up then cosine decay.
///
///   step < warmup:  peak · (step + 1) / warmup
///   afterwards:     floor + (peak − floor) · ½ (1 + cos(π · p)),  p = (step − warmup) / (total − warmup)
///   step ≥ total:   floor
/// Steps count from 0.
public struct WarmupCosine: Codable, Sendable, Equatable {
    public var peak: Float
    public var floor: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, floor: Float = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(warmupSteps >= 0 && totalSteps >= warmupSteps,
                     "schedule needs 0 ≤ warmup (\(warmupSteps)) ≤ total (\(totalSteps))")
        self.peak = peak; self.floor = floor; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    public func learningRate(step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        if step >= totalSteps || totalSteps == warmupSteps { return floor }
        let p = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
        return floor + (peak - floor) * Float(0.5 * (1 + Foundation.cos(Double.pi * p)))
    }
}
