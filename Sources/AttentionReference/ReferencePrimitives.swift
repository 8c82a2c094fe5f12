// The readable reference; plain loops, no BLAS. This file promises the primitives every
// reference mechanism is built from: weight lookup with shape checks, y = W·x, dot
// products, a numerically stable softmax, RoPE and RMSNorm. All in Double.

import Foundation

extension ReferenceAttention {
    /// Rotary position embedding of one head vector `x` (dim D, even) at absolute position `position`.
    ///
    /// Pair i in 0..<D/2 has frequency θ_i = base^(−2i/D) and angle φ = position·θ_i.
    /// Half-split (HF Llama `rotate_half`) pairs (x[i], x[i + D/2]); interleaved pairs (x[2i], x[2i+1]).
    /// Each pair (a, b) becomes (a·cosφ − b·sinφ, b·cosφ + a·sinφ).
    public static func applyRoPE(_ x: [Double], position: Int, base: Double, interleaved: Bool) -> [Double] {
        let dim = x.count
        precondition(dim % 2 == 0, "RoPE needs an even dimension, got \(dim)")
        var rotated = x  // [D]
        for i in 0..<(dim / 2) {
            let theta = pow(base, -2.0 * Double(i) / Double(dim))
            let angle = Double(position) * theta
            let (ia, ib) = interleaved ? (2 * i, 2 * i + 1) : (i, i + dim / 2)
            let a = x[ia], b = x[ib]
            rotated[ia] = a * cos(angle) - b * sin(angle)
            rotated[ib] = b * cos(angle) + a * sin(angle)
        }
        return rotated
    }

    /// RMSNorm(y) = y / sqrt(mean(y²) + eps) ⊙ weight.
    public static func rmsNorm(_ y: [Double], weight: [Double], eps: Double) -> [Double] {
        precondition(y.count == weight.count, "RMSNorm of \(y.count) values with a weight of \(weight.count)")
        var meanSquare = 0.0
        for value in y { meanSquare += value * value }
        meanSquare /= Double(y.count)
        let inverseRMS = 1.0 / (meanSquare + eps).squareRoot()
        var normed = [Double](repeating: 0, count: y.count)
        for i in 0..<y.count { normed[i] = y[i] * inverseRMS * weight[i] }
        return normed
    }
}

// MARK: - Internal helpers

/// Looks up `name` and checks it has exactly `shape`.
func referenceWeight(_ weights: ReferenceWeights, _ name: String, shape: [Int]) -> ReferenceTensor {
    guard let tensor = weights[name] else {
        preconditionFailure("missing weight \(name) \(shape); have \(weights.keys.sorted())")
    }
    precondition(tensor.shape == shape, "weight \(name) has shape \(tensor.shape), expected \(shape)")
    precondition(tensor.values.count == shape.reduce(1, *),
                 "weight \(name) of shape \(shape) holds \(tensor.values.count) values")
    return tensor
}

/// Checks that `weights` holds every name in `shapes` with exactly that shape.
func checkReferenceWeights(_ weights: ReferenceWeights, _ shapes: [String: [Int]]) {
    for (name, shape) in shapes { _ = referenceWeight(weights, name, shape: shape) }
}

/// y = W·x for W stored [out, in]: y_i = Σ_j W[i][j]·x_j.
func matVec(_ w: ReferenceTensor, _ x: [Double]) -> [Double] {
    precondition(w.shape.count == 2, "matVec needs a matrix, got shape \(w.shape)")
    let rows = w.shape[0], cols = w.shape[1]
    precondition(x.count == cols, "matVec: W is [\(rows), \(cols)] but x has \(x.count) values")
    var y = [Double](repeating: 0, count: rows)  // [out]
    for i in 0..<rows {
        var acc = 0.0
        for j in 0..<cols { acc += w.values[i * cols + j] * x[j] }
        y[i] = acc
    }
    return y
}

/// a·b.
func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "dot of \(a.count) and \(b.count) values")
    var acc = 0.0
    for i in 0..<a.count { acc += a[i] * b[i] }
    return acc
}

/// softmax(s)_i = exp(s_i − max s) / Σ_j exp(s_j − max s).
func softmax(_ scores: [Double]) -> [Double] {
    precondition(!scores.isEmpty, "softmax over no scores")
    let maxScore = scores.max()!
    var probs = scores.map { exp($0 - maxScore) }
    var total = 0.0
    for p in probs { total += p }
    for i in 0..<probs.count { probs[i] /= total }
    return probs
}

/// The slice [start, start + count) of `x` as a new array.
func slice(_ x: [Double], _ start: Int, _ count: Int) -> [Double] {
    Array(x[start..<(start + count)])
}

/// Token t of sequence b from x [B, T, C] flattened row-major.
func tokenRow(_ x: [Double], b: Int, t: Int, length: Int, hidden: Int) -> [Double] {
    slice(x, (b * length + t) * hidden, hidden)
}

/// Checks x holds [B, T, C].
func checkInput(_ x: [Double], batch: Int, length: Int, hidden: Int) {
    precondition(batch >= 0 && length >= 0, "batch \(batch) and length \(length) must be non-negative")
    precondition(x.count == batch * length * hidden,
                 "x has \(x.count) values, expected B·T·C = \(batch)·\(length)·\(hidden)")
}
