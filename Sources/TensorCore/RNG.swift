// The one source of randomness in AttnLab: xoshiro256** (Blackman & Vigna 2018),
// seeded through SplitMix64. No global or time-seeded generator exists anywhere;
// every initialiser and data stream takes one of these explicitly, so the same seed
// gives bit-identical tensors.

import Foundation

public struct Xoshiro256StarStar: RandomNumberGenerator, Codable, Sendable, Equatable {
    /// The full generator state, saved in checkpoints so a resumed run continues the stream.
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        // SplitMix64 expands the seed so that nearby seeds give unrelated states.
        var sm = seed
        func splitmix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitmix(), splitmix(), splitmix(), splitmix()]
    }

    /// Restores a saved state (four words, not all zero).
    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 }, "xoshiro256** state must be 4 words, not all zero: \(state)")
        self.state = state
    }

    private enum CodingKeys: String, CodingKey { case state }

    /// Decoding checks the same invariant as `init(state:)`, so a corrupt checkpoint is a
    /// thrown error rather than a later out-of-range crash or a stream of zeros.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let state = try container.decode([UInt64].self, forKey: .state)
        guard state.count == 4 && state.contains(where: { $0 != 0 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .state, in: container,
                debugDescription: "xoshiro256** state must be 4 words, not all zero: \(state)")
        }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (every Float32 step of that grid).
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<n, without modulo bias.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below: \(n)) needs n > 0")
        return Int(next(upperBound: UInt64(n)))
    }

    /// Standard normal sample (Box–Muller on two uniforms, in Double).
    public mutating func nextNormal() -> Float {
        let u1 = 1 - nextDouble()  // (0, 1]: log is finite
        let u2 = nextDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Samples from N(0, std²).
    public static func randn(_ shape: [Int], std: Float = 1, rng: inout Xoshiro256StarStar, requiresGrad: Bool = false) -> Tensor {
        var values = [Float](repeating: 0, count: shape.product)
        for i in 0..<values.count { values[i] = std * rng.nextNormal() }
        return Tensor(shape: shape, data: values, requiresGrad: requiresGrad)
    }

    /// Samples from U(low, high).
    public static func uniform(_ shape: [Int], low: Float, high: Float, rng: inout Xoshiro256StarStar, requiresGrad: Bool = false) -> Tensor {
        var values = [Float](repeating: 0, count: shape.product)
        for i in 0..<values.count { values[i] = low + (high - low) * rng.nextFloat() }
        return Tensor(shape: shape, data: values, requiresGrad: requiresGrad)
    }
}
