// Sampling helpers shared by the tasks, all driven by the one seeded generator. Each
// promises an exact distribution (no modulo bias, no approximate shortcuts) and a fixed
// order of draws, so the same generator state gives the same sample.

import TensorCore

/// `count` distinct integers from `range`, in random order: every ordered k-sample is
/// equally likely. A partial Fisher–Yates shuffle over the virtual array `range`, with
/// the swapped entries in a dictionary, so the cost is O(count) however large the range
/// (MQAR draws 4 keys from 4095).
func sampleWithoutReplacement(_ count: Int, from range: Range<Int>, rng: inout Xoshiro256StarStar) -> [Int] {
    let n = range.count
    precondition(count >= 0 && count <= n, "cannot draw \(count) distinct values from \(n)")
    var moved: [Int: Int] = [:]  // virtual index -> value now stored there (offset in range)
    var out: [Int] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        let j = i + rng.nextInt(below: n - i)
        let atJ = moved[j] ?? j
        // Swap positions i and j; position i is never read again, so only j is stored.
        moved[j] = moved[i] ?? i
        out.append(range.lowerBound + atJ)
    }
    return out
}

/// `count` distinct indices into `weights`, drawn one after another, each with
/// probability proportional to its weight among those not yet drawn (successive
/// sampling). This is the distribution of NumPy's `choice(n, size, replace=False, p=w)`,
/// which zoology uses: NumPy draws a batch, keeps the first occurrence of each new index
/// and redraws from the renormalised rest, and the first new index of an i.i.d. run
/// from the remaining weights is distributed as the remaining weights renormalised.
/// Weights must be positive and finite; O(count · weights.count).
func weightedSampleWithoutReplacement(_ count: Int, weights: [Double], rng: inout Xoshiro256StarStar) -> [Int] {
    precondition(count >= 0 && count <= weights.count, "cannot draw \(count) distinct indices from \(weights.count)")
    var remaining = weights
    var out: [Int] = []
    out.reserveCapacity(count)
    for _ in 0..<count {
        var total = 0.0
        for w in remaining { total += w }
        let u = rng.nextDouble() * total  // [0, total)
        var cumulative = 0.0
        var chosen = -1
        for (i, w) in remaining.enumerated() where w > 0 {
            chosen = i  // the last positive weight also absorbs rounding at the top end
            cumulative += w
            if u < cumulative { break }
        }
        out.append(chosen)
        remaining[chosen] = 0
    }
    return out
}
