// Gradient checking against central finite differences.
//
// The scalar under test is L = Σ f(x)·R with a fixed random upstream gradient R, so
// every output element's gradient path is exercised (a plain Σ f(x) would hide
// errors that cancel). Analytic gradients come from `backward()`; numeric ones from
// (L(x + ε) − L(x − ε)) / 2ε with L accumulated in Double.

import TensorCore

public struct GradCheckResult: CustomStringConvertible {
    public let op: String
    public var ok: Bool { failures.isEmpty }
    /// Largest |analytic − numeric| over all checked coordinates, and where.
    public var maxDiff: Double = 0
    public var worst = ""
    public var failures: [String] = []
    public var checked = 0

    public var description: String {
        if ok { return "\(op): ok (\(checked) coordinates, max |diff| \(maxDiff) at \(worst))" }
        return "\(op): \(failures.count) of \(checked) coordinates differ; max |diff| \(maxDiff) at \(worst); first: "
            + failures.prefix(4).joined(separator: "; ")
    }
}

/// Checks d/dinputs of Σ f(inputs)·R. Inputs must have `requiresGrad = true`.
/// At most `maxCoordinates` coordinates per input are checked (a seeded sample when larger).
public func gradCheck(
    _ op: String, inputs: [Tensor], eps: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 1e-2,
    maxCoordinates: Int = 300, seed: UInt64 = 7, _ f: ([Tensor]) -> Tensor
) -> GradCheckResult {
    var rng = Xoshiro256StarStar(seed: seed)
    for x in inputs { x.zeroGrad() }
    let out = f(inputs)
    let upstream = Tensor.randn(out.shape, rng: &rng)
    (out * upstream).sum().backward()
    let analytic = inputs.map { $0.grad ?? [Float](repeating: 0, count: $0.count) }

    func loss() -> Double {
        Autograd.inference {
            let y = f(inputs)
            var total: Double = 0
            for i in 0..<y.count { total += Double(y.data[i]) * Double(upstream.data[i]) }
            return total
        }
    }

    var result = GradCheckResult(op: op)
    for (k, x) in inputs.enumerated() {
        var coords = Array(0..<x.count)
        if coords.count > maxCoordinates {
            coords.shuffle(using: &rng)
            coords = Array(coords.prefix(maxCoordinates)).sorted()
        }
        for i in coords {
            let saved = x.data[i]
            x.data[i] = saved + eps
            let plus = loss()
            x.data[i] = saved - eps
            let minus = loss()
            x.data[i] = saved
            let numeric = (plus - minus) / (2 * Double(eps))
            let a = Double(analytic[k][i])
            let diff = abs(a - numeric)
            result.checked += 1
            let place = "input \(k) \(x.shape) index \(multiIndex(i, x.shape))"
            if diff > result.maxDiff || diff.isNaN { result.maxDiff = diff; result.worst = place }
            if !(diff <= atol + rtol * abs(numeric)) {
                result.failures.append("\(place): analytic \(a) numeric \(numeric)")
            }
        }
    }
    return result
}

/// Row-major flat index → multi-index, for messages.
public func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
        index[d] = rest % shape[d]
        rest /= shape[d]
    }
    return index
}

/// A leaf tensor of N(0, std²) values (shifted by `offset`) that requires grad.
public func randomInput(_ shape: [Int], std: Float = 1, offset: Float = 0, rng: inout Xoshiro256StarStar) -> Tensor {
    let t = Tensor.randn(shape, std: std, rng: &rng)
    for i in 0..<t.count { t.data[i] += offset }
    t.requiresGrad = true
    return t
}

/// A leaf tensor of values in [low, high) that requires grad (for log, sqrt, division).
public func positiveInput(_ shape: [Int], low: Float = 0.5, high: Float = 2, rng: inout Xoshiro256StarStar) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, rng: &rng, requiresGrad: true)
}
