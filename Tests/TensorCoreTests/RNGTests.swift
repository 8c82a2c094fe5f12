// Xoshiro256StarStar: bit-exact reference outputs from an independent implementation of
// Vigna's xoshiro256starstar.c and splitmix64.c, then the derived draws (nextFloat,
// nextInt, nextNormal) checked statistically with bounds a broken generator fails.
//
// Golden values below were produced by this Python 3 script, run once (not committed):
//
//   M = (1 << 64) - 1
//   def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
//   def xoshiro(s):
//       while True:
//           r = (rotl((s[1] * 5) & M, 7) * 9) & M
//           t = (s[1] << 17) & M
//           s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
//           yield r
//   def splitmix(x):
//       while True:
//           x = (x + 0x9e3779b97f4a7c15) & M
//           z = x
//           z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
//           z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
//           yield z ^ (z >> 31)
//   g = xoshiro([1, 2, 3, 4]); print("state [1,2,3,4]:", [hex(next(g)) for _ in range(6)])
//   for seed in (0, 42):
//       sm = splitmix(seed); st = [next(sm) for _ in range(4)]
//       print(f"seed {seed} state:", [hex(x) for x in st])
//       g = xoshiro(st); print(f"seed {seed} out:", [hex(next(g)) for _ in range(6)])
//
// Output:
//   state [1,2,3,4]: ['0x2d00', '0x0', '0x5a007080', '0x10e0000000009d80', '0x10e0b61ce1009d80', '0x870021ce143ad00']
//   seed 0 state: ['0xe220a8397b1dcdaf', '0x6e789e6aa1b965f4', '0x6c45d188009454f', '0xf88bb8a8724c81ec']
//   seed 0 out: ['0x99ec5f36cb75f2b4', '0xbf6e1f784956452a', '0x1a5f849d4933e6e0', '0x6aa594f1262d2d2c', '0xbba5ad4a1f842e59', '0xffef8375d9ebcaca']
//   seed 42 state: ['0xbdd732262feb6e95', '0x28efe333b266f103', '0x47526757130f9f52', '0x581ce1ff0e4ae394']
//   seed 42 out: ['0x15780b2e0c2ec716', '0x6104d9866d113a7e', '0xae17533239e499a1', '0xecb8ad4703b360a1', '0xfde6dc7fe2ec5e64', '0xc50da53101795238']
//
// (0xe220a8397b1dcdaf is also the well-known first SplitMix64 output for seed 0, and
// 11520 = 0x2d00 the well-known first xoshiro256** output for state {1, 2, 3, 4}.)

import Foundation
import Testing
import TensorCore

private func draws(_ rng: inout Xoshiro256StarStar, _ n: Int) -> [UInt64] {
    (0..<n).map { _ in rng.next() }
}

// MARK: - Reference values

@Test func xoshiroReferenceFromState1234() {
    var rng = Xoshiro256StarStar(state: [1, 2, 3, 4])
    let expected: [UInt64] = [0x2d00, 0x0, 0x5a00_7080, 0x10e0_0000_0000_9d80,
                              0x10e0_b61c_e100_9d80, 0x0870_021c_e143_ad00]
    #expect(draws(&rng, 6) == expected)
}

@Test func splitMixSeedingMatchesReference() {
    #expect(Xoshiro256StarStar(seed: 0).state ==
            [0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4, 0x06c4_5d18_8009_454f, 0xf88b_b8a8_724c_81ec])
    #expect(Xoshiro256StarStar(seed: 42).state ==
            [0xbdd7_3226_2feb_6e95, 0x28ef_e333_b266_f103, 0x4752_6757_130f_9f52, 0x581c_e1ff_0e4a_e394])
}

@Test(arguments: [
    (UInt64(0), [0x99ec_5f36_cb75_f2b4, 0xbf6e_1f78_4956_452a, 0x1a5f_849d_4933_e6e0,
                 0x6aa5_94f1_262d_2d2c, 0xbba5_ad4a_1f84_2e59, 0xffef_8375_d9eb_caca] as [UInt64]),
    (UInt64(42), [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1,
                  0xecb8_ad47_03b3_60a1, 0xfde6_dc7f_e2ec_5e64, 0xc50d_a531_0179_5238] as [UInt64]),
])
func xoshiroReferenceFromSeed(seed: UInt64, expected: [UInt64]) {
    var rng = Xoshiro256StarStar(seed: seed)
    #expect(draws(&rng, 6) == expected)
}

// MARK: - Determinism and state

@Test func sameSeedGivesIdenticalStreamsAndTensors() {
    var a = Xoshiro256StarStar(seed: 1234), b = Xoshiro256StarStar(seed: 1234)
    #expect(draws(&a, 1000) == draws(&b, 1000))
    #expect(a == b)

    var c = Xoshiro256StarStar(seed: 99), d = Xoshiro256StarStar(seed: 99)
    let tc = Tensor.randn([7, 13], std: 0.02, rng: &c)
    let td = Tensor.randn([7, 13], std: 0.02, rng: &d)
    #expect(tc.shape == [7, 13])
    // Bit-identical, not merely close.
    #expect(tc.data.map(\.bitPattern) == td.data.map(\.bitPattern))
}

@Test func differentSeedsDiffer() {
    // Adjacent seeds: SplitMix64 must spread them into unrelated states.
    for seed: UInt64 in [0, 1, 2, 1000] {
        var a = Xoshiro256StarStar(seed: seed), b = Xoshiro256StarStar(seed: seed + 1)
        let sa = draws(&a, 64), sb = draws(&b, 64)
        #expect(zip(sa, sb).allSatisfy { $0 != $1 }, "seeds \(seed) and \(seed + 1) share an output")
    }
    var c = Xoshiro256StarStar(seed: 5), d = Xoshiro256StarStar(seed: 6)
    #expect(Tensor.randn([32], rng: &c).data != Tensor.randn([32], rng: &d).data)
}

@Test func stateRoundTripContinuesTheStream() {
    var rng = Xoshiro256StarStar(seed: 7)
    _ = draws(&rng, 137)
    var resumed = Xoshiro256StarStar(state: rng.state)
    #expect(draws(&resumed, 500) == draws(&rng, 500))
}

@Test func codableRoundTripContinuesTheStream() throws {
    var rng = Xoshiro256StarStar(seed: 2024)
    _ = draws(&rng, 11)
    let json = try JSONEncoder().encode(rng)
    var decoded = try JSONDecoder().decode(Xoshiro256StarStar.self, from: json)
    #expect(decoded == rng)
    #expect(decoded.state == rng.state)  // all 64 bits of every word survive the text form
    #expect(draws(&decoded, 200) == draws(&rng, 200))

    let plist = try PropertyListEncoder().encode([rng])
    let fromPlist = try PropertyListDecoder().decode([Xoshiro256StarStar].self, from: plist)
    #expect(fromPlist == [rng])
}

@Test(arguments: [#"{"state":[0,0,0,0]}"#, #"{"state":[1,2,3]}"#, #"{"state":[1,2,3,4,5]}"#])
func decodingRejectsInvalidState(json: String) {
    #expect(throws: DecodingError.self) {
        try JSONDecoder().decode(Xoshiro256StarStar.self, from: Data(json.utf8))
    }
}

// MARK: - Derived draws

@Test func nextFloatIsInUnitIntervalAndUsesTopBits() {
    var rng = Xoshiro256StarStar(seed: 3)
    var twin = rng
    var lo: Float = 1, hi: Float = 0
    for _ in 0..<100_000 {
        let u = rng.nextFloat()
        #expect(u >= 0 && u < 1)
        lo = min(lo, u); hi = max(hi, u)
        // The documented construction: the top 24 bits scaled by 2⁻²⁴.
        #expect(u == Float(twin.next() >> 40) * 0x1p-24)
    }
    // 100k draws cover the interval: P(min > 1e-3) = (1 − 1e-3)^100000 ≈ e^−100.
    #expect(lo < 1e-3 && hi > 1 - 1e-3, "range [\(lo), \(hi)]")

    // The largest possible value is 1 − 2⁻²⁴, still below 1.
    #expect(Float(UInt64.max >> 40) * 0x1p-24 == 1 - 0x1p-24)
}

@Test(arguments: [1, 2, 3, 7, 10, 1000, Int(Int32.max)])
func nextIntStaysInRange(n: Int) {
    var rng = Xoshiro256StarStar(seed: UInt64(n))
    var seen = Set<Int>()
    for _ in 0..<10_000 {
        let k = rng.nextInt(below: n)
        #expect(k >= 0 && k < n, "nextInt(below: \(n)) gave \(k)")
        if n <= 10 { seen.insert(k) }
    }
    if n <= 10 { #expect(seen.count == n, "only \(seen.sorted()) of 0..<\(n) drawn") }
}

@Test func nextIntIsRoughlyUniform() {
    // Pearson chi-square over 10 bins, 100k draws: 9 degrees of freedom, mean 9,
    // sd √18 ≈ 4.2; P(χ²₉ > 40) ≈ 7e-6. A generator stuck on a few values fails, and so
    // does one whose bins are alternately 3 % high and low: χ² ≈ 10 · 300² / 10000 = 90.
    let bins = 10, n = 100_000
    var rng = Xoshiro256StarStar(seed: 11)
    var counts = [Int](repeating: 0, count: bins)
    for _ in 0..<n { counts[rng.nextInt(below: bins)] += 1 }
    let expected = Double(n) / Double(bins)
    let chi2 = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    #expect(chi2 < 40, "chi-square \(chi2) for counts \(counts)")
}

@Test func nextNormalHasMeanZeroVarianceOne() {
    // 100k draws: sd of the mean is 1/√n ≈ 0.0032, sd of the variance √(2/n) ≈ 0.0045,
    // sd of the fraction inside ±1σ √(0.68·0.32/n) ≈ 0.0015. Tolerances are ~6 sd, far
    // below what a wrong Box–Muller (variance 2 or 0.5, or uniform-looking output) gives.
    let n = 100_000
    var rng = Xoshiro256StarStar(seed: 5)
    var sum = 0.0, sumSq = 0.0, inside = 0
    for _ in 0..<n {
        let x = Double(rng.nextNormal())
        #expect(x.isFinite)
        sum += x; sumSq += x * x
        if abs(x) < 1 { inside += 1 }
    }
    let mean = sum / Double(n)
    let variance = sumSq / Double(n) - mean * mean
    let fractionInside = Double(inside) / Double(n)
    #expect(abs(mean) < 0.02, "mean \(mean)")
    #expect(abs(variance - 1) < 0.03, "variance \(variance)")
    // Φ(1) − Φ(−1) = 0.682689…
    #expect(abs(fractionInside - 0.682689) < 0.01, "fraction within ±1: \(fractionInside)")
}

@Test func randnScalesByStd() {
    var a = Xoshiro256StarStar(seed: 8), b = Xoshiro256StarStar(seed: 8)
    let unit = Tensor.randn([100], rng: &a)
    let scaled = Tensor.randn([100], std: 0.5, rng: &b)
    // std · x is exact for a power-of-two std.
    #expect(scaled.data == unit.data.map { 0.5 * $0 })
}
