// Test support for the reference attention tests: a deterministic generator for inputs and
// weights, a named comparison that explains itself on failure, and the mechanisms as a
// CaseIterable list so properties shared by all of them are checked for each.

import AttentionReference

/// SplitMix64: a tiny deterministic generator; `uniform()` is in [−1, 1).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) * 2 - 1 }
    mutating func values(_ count: Int, scale: Double = 1) -> [Double] { (0..<count).map { _ in uniform() * scale } }
}

/// Deterministic weights for every name in `shapes`: matrices uniform in ±gain/sqrt(in),
/// vectors (norm weights) 1 + 0.3·uniform. Names are visited in sorted order.
func makeWeights(_ shapes: [String: [Int]], seed: UInt64, gain: Double = 2) -> ReferenceWeights {
    var rng = SplitMix64(seed: seed)
    var weights = ReferenceWeights()
    for name in shapes.keys.sorted() {
        let shape = shapes[name]!
        let count = shape.reduce(1, *)
        let values = shape.count == 2
            ? rng.values(count, scale: gain / Double(shape[1]).squareRoot())
            : rng.values(count).map { 1 + 0.3 * $0 }
        weights[name] = ReferenceTensor(shape: shape, values: values)
    }
    return weights
}

/// y = W·x for W [out, in] (the tests' own copy, independent of the library's).
func testMatVec(_ w: ReferenceTensor, _ x: [Double]) -> [Double] {
    let rows = w.shape[0], cols = w.shape[1]
    precondition(x.count == cols)
    return (0..<rows).map { i in (0..<cols).reduce(0.0) { $0 + w.values[i * cols + $1] * x[$1] } }
}

/// Rows [start, start + count) of a matrix W [out, in], as a new matrix.
func rows(_ w: ReferenceTensor, _ start: Int, _ count: Int) -> [[Double]] {
    let cols = w.shape[1]
    return (start..<(start + count)).map { Array(w.values[($0 * cols)..<(($0 + 1) * cols)]) }
}

/// The outcome of comparing two arrays elementwise with |a − b| ≤ atol + rtol·|b|.
struct Closeness: CustomStringConvertible {
    let name: String
    let ok: Bool
    let maxAbsDiff: Double
    let worstIndex: Int
    let failures: [(index: Int, expected: Double, got: Double)]
    let count: Int

    var description: String {
        if ok { return "\(name): ok (\(count) values, max |diff| \(maxAbsDiff))" }
        let shown = failures.prefix(5).map { "[\($0.index)] expected \($0.expected) got \($0.got)" }
            .joined(separator: "; ")
        return "\(name): \(failures.count) of \(count) values differ; max |diff| \(maxAbsDiff) at [\(worstIndex)]; first: \(shown)"
    }
}

/// Compares `got` with `expected`; NaN anywhere is a failure, as is a length mismatch or an empty array.
func compareClose(_ name: String, _ expected: [Double], _ got: [Double], atol: Double = 1e-10, rtol: Double = 1e-10)
    -> Closeness {
    guard expected.count == got.count, !expected.isEmpty else {
        return Closeness(name: "\(name) (length \(expected.count) vs \(got.count))", ok: false,
                         maxAbsDiff: .infinity, worstIndex: -1, failures: [], count: max(expected.count, got.count))
    }
    var maxDiff = 0.0, worst = 0
    var failures: [(index: Int, expected: Double, got: Double)] = []
    for i in 0..<expected.count {
        let diff = abs(expected[i] - got[i])
        if diff.isNaN || diff > maxDiff { maxDiff = diff.isNaN ? .nan : diff; worst = i }
        if !(diff <= atol + rtol * abs(expected[i])) { failures.append((i, expected[i], got[i])) }
    }
    return Closeness(name: name, ok: failures.isEmpty, maxAbsDiff: maxDiff, worstIndex: worst,
                     failures: failures, count: expected.count)
}

/// Every reference mechanism with a small configuration, for properties they all share.
enum Mechanism: String, CaseIterable, CustomStringConvertible {
    case mha, gqa, mqa, swa, linear, linearRecurrent, mla, mlaQueryLatent

    var description: String { rawValue }

    var config: ReferenceConfig {
        switch self {
        case .mha: ReferenceConfig(hidden: 12, heads: 3, headDim: 4)
        case .gqa: ReferenceConfig(hidden: 12, heads: 4, kvHeads: 2, headDim: 6)
        case .mqa: ReferenceConfig(hidden: 12, heads: 4, kvHeads: 1, headDim: 4, ropeInterleaved: true)
        case .swa: ReferenceConfig(hidden: 12, heads: 4, kvHeads: 2, headDim: 4, window: 3)
        case .linear, .linearRecurrent: ReferenceConfig(hidden: 12, heads: 3, headDim: 5, linearFeatureDim: 3)
        case .mla:
            ReferenceConfig(hidden: 12, heads: 3, kvLoraRank: 5, qkNopeHeadDim: 4, qkRopeHeadDim: 2, vHeadDim: 3)
        case .mlaQueryLatent:
            ReferenceConfig(hidden: 12, heads: 2, kvLoraRank: 6, qLoraRank: 4, qkNopeHeadDim: 3, qkRopeHeadDim: 4,
                            vHeadDim: 5)
        }
    }

    var weightShapes: [String: [Int]] {
        switch self {
        case .mha, .gqa, .mqa, .swa: ReferenceAttention.softmaxFamilyWeightShapes(config: config)
        case .linear, .linearRecurrent: ReferenceAttention.linearWeightShapes(config: config)
        case .mla, .mlaQueryLatent: ReferenceAttention.mlaWeightShapes(config: config)
        }
    }

    func run(x: [Double], batch: Int, length: Int, weights: ReferenceWeights, positionOffset: Int = 0) -> [Double] {
        switch self {
        case .mha, .gqa, .mqa, .swa:
            ReferenceAttention.softmaxFamily(x: x, batch: batch, length: length, config: config, weights: weights,
                                             positionOffset: positionOffset)
        case .linear:
            ReferenceAttention.linear(x: x, batch: batch, length: length, config: config, weights: weights,
                                      positionOffset: positionOffset)
        case .linearRecurrent:
            ReferenceAttention.linearRecurrent(x: x, batch: batch, length: length, config: config, weights: weights,
                                               positionOffset: positionOffset)
        case .mla, .mlaQueryLatent:
            ReferenceAttention.mla(x: x, batch: batch, length: length, config: config, weights: weights,
                                   positionOffset: positionOffset)
        }
    }
}
