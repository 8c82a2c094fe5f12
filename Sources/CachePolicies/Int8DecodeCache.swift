// A cache stored at 8 bits per number, read by a decode kernel that dequantises as it
// goes: what the int8 policy's bytes buy at decode time. The policy evaluation keeps
// restored Float32 values (PolicyKVCache), which is exact for accuracy; this is the
// layout a deployment would keep, for timing and for the bandwidth the codes save.
//
// Layout, n tokens and G kv heads of D, head-major (as paged caches keep it): codes
// [G, n, D] (UInt8) for keys and for values, and per (kv head, token) a step s and a zero
// point z in Float32: x ≈ z + s·c, the rule of `quantiseGroup` at 8 bits (z the vector's
// minimum, s = (max − min)/255). Head-major makes each kv head's pass one contiguous stream.
//
// The kernel reads the codes from memory once, one kv head after another: each chunk of
// 64 of its rows is restored to Float32 in tiles that stay in L1 (eight codes at a time,
// z + s·c, the same arithmetic as `restored()`), and the Float32 decode kernel's step
// (`FloatDecode.fold`) folds the tiles into the group's heads. The memory traffic is a
// quarter of Float32's; the restore is the arithmetic it costs.

import Attention
import Foundation
import TensorCore

public struct Int8DecodeCache: Sendable {
    public let kvHeads: Int
    public let headDim: Int
    public let count: Int
    var keyCodes: [UInt8], valueCodes: [UInt8]        // [G, n, D]
    var keyStep: [Float], keyZero: [Float]            // [G, n]
    var valueStep: [Float], valueZero: [Float]        // [G, n]

    /// Quantises keys and values given token-major, [n, G, D], as a Float32 cache holds them.
    public init(keys: [Float], values: [Float], tokens n: Int, kvHeads g: Int, headDim d: Int) {
        precondition(n >= 0 && g >= 1 && d >= 1 && keys.count == n * g * d && values.count == n * g * d,
                     "int8 cache: \(keys.count) keys and \(values.count) values for \(n) tokens × \(g) kv heads × \(d)")
        kvHeads = g; headDim = d; count = n
        (keyCodes, keyStep, keyZero) = Self.quantise(Self.transpose(keys, n, g, d), groups: g * n, size: d)
        (valueCodes, valueStep, valueZero) = Self.quantise(Self.transpose(values, n, g, d), groups: g * n, size: d)
    }

    /// [a, b, D] → [b, a, D].
    static func transpose<T>(_ x: [T], _ a: Int, _ b: Int, _ d: Int) -> [T] {
        var out: [T] = []
        out.reserveCapacity(x.count)
        for j in 0..<b {
            for i in 0..<a { out += x[((i * b + j) * d)..<((i * b + j + 1) * d)] }
        }
        return out
    }

    /// Codes, steps and zero points of consecutive groups of `size` numbers.
    static func quantise(_ x: [Float], groups: Int, size d: Int) -> ([UInt8], [Float], [Float]) {
        var codes = [UInt8](repeating: 0, count: groups * d)
        var steps = [Float](repeating: 0, count: groups), zeros = steps
        for i in 0..<groups {
            let row = x[(i * d)..<((i + 1) * d)]
            let lo = row.min()!, hi = row.max()!
            let step = (hi - lo) / 255
            zeros[i] = lo
            steps[i] = step
            guard step > 0 else { continue }  // a constant group: every code 0, exact
            for (c, v) in row.enumerated() { codes[i * d + c] = UInt8(((v - lo) / step).rounded().clamped(0, 255)) }
        }
        return (codes, steps, zeros)
    }

    /// Bytes held: one byte per number, and a Float32 step and zero point per vector.
    public var bytes: Int { 2 * count * kvHeads * (headDim + scaleAndZeroBytes) }

    /// The values the codes stand for, token-major [n, G, D] (what the kernel attends over).
    public func restored() -> (keys: [Float], values: [Float]) {
        func restore(_ codes: [UInt8], _ steps: [Float], _ zeros: [Float]) -> [Float] {
            Self.transpose(codes.indices.map { i in zeros[i / headDim] + Float(codes[i]) * steps[i / headDim] }, kvHeads, count, headDim)
        }
        return (restore(keyCodes, keyStep, keyZero), restore(valueCodes, valueStep, valueZero))
    }

    /// Rows restored per tile: the Float32 kernel's chunk.
    static let chunk = FloatDecode.chunk

    /// Floats of workspace `attend` needs for `heads` query heads.
    public func workspaceCount(heads: Int) -> Int { heads * (2 + Self.chunk + 2 * headDim) + 2 * Self.chunk * headDim }

    /// One decode step: q [H, D] (head h at q + h·D; query head h reads kv head h / (H/G))
    /// attends over every cached token; out [H, D]. Scores are scale · q·k.
    public func attend(query q: UnsafePointer<Float>, heads: Int, scale: Float,
                       out: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = kvHeads, d = headDim, n = count, cw = Self.chunk
        precondition(heads >= g && heads % g == 0, "\(heads) query heads over \(g) kv heads")
        precondition(n >= 1, "decode over no keys")
        precondition(d % 8 == 0, "the int8 kernel converts eight codes at a time; head dim \(d) is not a multiple of 8")
        let r = heads / g
        // Per head: the scaled query, running max m, sum l, accumulated values; the chunk's
        // scores; one kv head's chunk of keys and of values restored to Float32 (in L1).
        let qs = workspace, m = qs + heads * d, l = m + heads, acc = l + heads, scores = acc + heads * d
        let keyTile = scores + heads * cw, valueTile = keyTile + cw * d
        for i in 0..<(heads * d) { qs[i] = q[i] * scale; acc[i] = 0 }
        for h in 0..<heads { m[h] = -.infinity; l[h] = 0 }
        keyCodes.withUnsafeBufferPointer { kc in
        valueCodes.withUnsafeBufferPointer { vc in
        keyStep.withUnsafeBufferPointer { ks in
        keyZero.withUnsafeBufferPointer { kz in
        valueStep.withUnsafeBufferPointer { vs in
        valueZero.withUnsafeBufferPointer { vz in
            let kc = kc.baseAddress!, vc = vc.baseAddress!, ks = ks.baseAddress!, kz = kz.baseAddress!
            let vs = vs.baseAddress!, vz = vz.baseAddress!
            // Each kv head's rows are one stream; its r query heads fold them a tile at a time
            // with the Float32 kernel's step (its register-blocked products and online softmax).
            for kv in 0..<g {
                let h0 = kv * r
                var c0 = 0
                while c0 < n {
                    let nc = min(cw, n - c0), first = kv * n + c0
                    Self.restore(codes: kc + first * d, steps: ks + first, zeros: kz + first, rows: nc, dim: d, into: keyTile)
                    Self.restore(codes: vc + first * d, steps: vs + first, zeros: vz + first, rows: nc, dim: d, into: valueTile)
                    FloatDecode.fold(scaledQuery: qs + h0 * d, heads: r, kvHeads: 1, headDim: d, keys: keyTile, values: valueTile,
                                     count: nc, ld: d, max: m + h0, sum: l + h0, acc: acc + h0 * d, scores: scores)
                    c0 += nc
                }
            }
        }}}}}}
        for h in 0..<heads {
            let inv = 1 / l[h]
            for c in 0..<d { out[h * d + c] = acc[h * d + c] * inv }
        }
    }

    /// `rows` consecutive code rows of D as Float32, z + s·c, into tile [rows, D].
    @inline(__always)
    static func restore(codes: UnsafePointer<UInt8>, steps: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
                        rows: Int, dim d: Int, into tile: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            let src = UnsafeRawPointer(codes + i * d), dst = tile + i * d
            let z = VectorMath.V(repeating: zeros[i]), s = VectorMath.V(repeating: steps[i])
            var c = 0
            while c < d { VectorMath.store(z + s * widen(src + c), dst + c); c += 8 }
        }
    }

    /// Eight codes as Float32.
    @inline(__always)
    static func widen(_ p: UnsafeRawPointer) -> VectorMath.V {
        VectorMath.V(SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(as: SIMD8<UInt8>.self)))
    }
}
