// Shared test support: named numeric comparisons that explain themselves on failure.

import TensorCore

/// The outcome of comparing two arrays elementwise with |a − b| ≤ atol + rtol·|b|.
public struct Closeness: CustomStringConvertible {
    public let name: String
    public let ok: Bool
    public let maxAbsDiff: Float
    public let worstIndex: Int
    public let failures: [(index: Int, expected: Float, got: Float)]
    public let count: Int

    public var description: String {
        if ok { return "\(name): ok (\(count) values, max |diff| \(maxAbsDiff))" }
        let shown = failures.prefix(5).map { "[\($0.index)] expected \($0.expected) got \($0.got)" }.joined(separator: "; ")
        return "\(name): \(failures.count) of \(count) values differ; max |diff| \(maxAbsDiff) at [\(worstIndex)]; first: \(shown)"
    }
}

/// Compares `got` with `expected`; NaN anywhere is a failure, as is a length mismatch.
public func compareClose(_ name: String, _ expected: [Float], _ got: [Float], atol: Float = 1e-5, rtol: Float = 1e-4) -> Closeness {
    guard expected.count == got.count else {
        return Closeness(name: "\(name) (length \(expected.count) vs \(got.count))", ok: false, maxAbsDiff: .infinity,
                         worstIndex: -1, failures: [], count: max(expected.count, got.count))
    }
    var maxDiff: Float = 0, worst = 0
    var failures: [(index: Int, expected: Float, got: Float)] = []
    for i in 0..<expected.count {
        let e = expected[i], g = got[i]
        let diff = abs(e - g)
        if diff.isNaN || diff > maxDiff { maxDiff = diff.isNaN ? .nan : max(maxDiff, diff); worst = i }
        if !(diff <= atol + rtol * abs(e)) { failures.append((i, e, g)) }
    }
    return Closeness(name: name, ok: failures.isEmpty, maxAbsDiff: maxDiff, worstIndex: worst,
                     failures: failures, count: expected.count)
}
