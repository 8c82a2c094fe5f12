// Asymmetric uniform quantisation, shared by the quantising policies: a group of values
// x is stored as b-bit codes c = round((x − min) / s), s = (max − min) / (2^b − 1), with
// its min (the zero point) and s kept in Float32; reading restores min + c · s. The
// cache holds the restored values, so attention reads exactly what a dequantising
// kernel would compute, and the bytes are counted as codes plus scales.

/// Quantises the values at `indices` of `a` in place (restored values) at `bits` bits.
func quantiseGroup(_ a: inout [Float], _ indices: some Sequence<Int>, bits: Int) {
    let idx = Array(indices)
    guard let lo = idx.map({ a[$0] }).min(), let hi = idx.map({ a[$0] }).max() else { return }
    let levels = Float((1 << bits) - 1)
    let step = (hi - lo) / levels
    guard step > 0 else { return }  // a constant group is exact
    for i in idx {
        let code = ((a[i] - lo) / step).rounded().clamped(0, levels)
        a[i] = lo + code * step
    }
}

/// Bytes of `count` codes of `bits` bits, packed.
func codeBytes(_ count: Int, bits: Int) -> Int { (count * bits + 7) / 8 }

/// A scale and a zero point, Float32 each.
let scaleAndZeroBytes = 2 * MemoryLayout<Float>.size

extension Float {
    func clamped(_ lo: Float, _ hi: Float) -> Float { Swift.min(Swift.max(self, lo), hi) }
}
