// Properties every reference mechanism must have: causality, batch independence,
// finite outputs of the right size.

import AttentionReference
import Testing

@Suite("Every mechanism")
struct MechanismPropertyTests {
    /// Changing token t' changes no output before t' (bit for bit) and does change output t'.
    @Test(arguments: Mechanism.allCases)
    func causal(mechanism: Mechanism) {
        let C = mechanism.config.hidden, B = 2, T = 9
        var rng = SplitMix64(seed: 11)
        let x = rng.values(B * T * C)
        let weights = makeWeights(mechanism.weightShapes, seed: 12)
        let reference = mechanism.run(x: x, batch: B, length: T, weights: weights, positionOffset: 3)
        #expect(reference.count == B * T * C)
        #expect(reference.allSatisfy { $0.isFinite })
        for changed in [1, 4, T - 1] {
            var perturbed = x
            for b in 0..<B {
                for c in 0..<C { perturbed[(b * T + changed) * C + c] += 0.5 + 0.1 * Double(c) }
            }
            let out = mechanism.run(x: perturbed, batch: B, length: T, weights: weights, positionOffset: 3)
            for b in 0..<B {
                let before = (b * T * C)..<((b * T + changed) * C)
                #expect(Array(out[before]) == Array(reference[before]),
                        "\(mechanism): output before t' = \(changed) changed (b = \(b))")
                let at = ((b * T + changed) * C)..<((b * T + changed + 1) * C)
                let change = zip(out[at], reference[at]).map { abs($0 - $1) }.max()!
                #expect(change > 1e-6, "\(mechanism): output at t' = \(changed) did not change (b = \(b))")
            }
        }
    }

    /// A batch of two equals each sequence run alone.
    @Test(arguments: Mechanism.allCases)
    func batchIndependent(mechanism: Mechanism) {
        let C = mechanism.config.hidden, T = 7
        var rng = SplitMix64(seed: 21)
        let x0 = rng.values(T * C), x1 = rng.values(T * C)
        let weights = makeWeights(mechanism.weightShapes, seed: 22)
        let both = mechanism.run(x: x0 + x1, batch: 2, length: T, weights: weights)
        let alone = mechanism.run(x: x0, batch: 1, length: T, weights: weights)
            + mechanism.run(x: x1, batch: 1, length: T, weights: weights)
        #expect(both == alone, "\(mechanism): batch of two differs from each alone")
        #expect(compareClose("\(mechanism) sequences differ", alone[0..<(T * C)].map { $0 },
                             alone[(T * C)...].map { $0 }).ok == false)
    }
}
