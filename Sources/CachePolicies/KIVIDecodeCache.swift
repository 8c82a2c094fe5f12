// KIVI's cache as a decode kernel reads it: keys at b bits per channel over groups of G
// tokens, values at b bits per token, the most recent tokens (at least R) in Float32; the
// quantisation is the KIVI policy's, so the restored cache is exactly what its evaluation
// attends over. Codes are packed, b = 4: two per byte, b = 2: four per byte.
//
// Layout per kv head (head-major): key codes [nq, D·b/8], key steps and zero points per
// group and channel [nq/G, D], value codes [nq, D·b/8], value steps and zero points per
// token [nq], then the residual rows [n − nq, D] of keys and of values in Float32.
// Packing: within each block of 8·(8/b) codes of a row, byte k holds codes k, k + 8, k + 16,
// k + 24 (as many as fit), low bits first, so that eight bytes unpack into whole SIMD8
// lanes with one shift and mask each.
//
// Decode folds the quantised rows a tile at a time, restored in L1 as for int8
// (Int8DecodeCache), and the residual rows straight from Float32, with the Float32 kernel's
// step (FloatDecode.fold).

import Attention
import Foundation
import TensorCore

public struct KIVIDecodeCache: Sendable {
    public let kvHeads: Int
    public let headDim: Int
    public let count: Int
    public let bits: Int
    public let groupSize: Int
    /// Tokens quantised per kv head: whole groups, leaving at least the residual in Float32.
    public let quantised: Int
    var keyCodes: [UInt8], valueCodes: [UInt8]          // [G, nq, D·b/8]
    var keyStep: [Float], keyZero: [Float]              // [G, nq/G_s, D]
    var valueStep: [Float], valueZero: [Float]          // [G, nq]
    var residualKeys: [Float], residualValues: [Float]  // [G, n − nq, D]

    /// Quantises keys and values given token-major, [n, G, D].
    public init(keys: [Float], values: [Float], tokens n: Int, kvHeads g: Int, headDim d: Int,
                bits: Int, groupSize gs: Int, residual: Int) {
        precondition(bits == 2 || bits == 4, "KIVI decode packs 2- or 4-bit codes, not \(bits)")
        precondition(d % (8 * 8 / bits) == 0, "head dim \(d) must be a multiple of \(8 * 8 / bits) for \(bits)-bit packing")
        precondition(n >= 0 && g >= 1 && gs >= 1 && residual >= 0 && keys.count == n * g * d && values.count == n * g * d,
                     "KIVI cache: \(keys.count) keys and \(values.count) values for \(n) tokens × \(g) kv heads × \(d)")
        kvHeads = g; headDim = d; count = n; self.bits = bits; groupSize = gs
        let nq = KIVI.quantisedCount(n, groupSize: gs, residual: residual)
        quantised = nq
        let k = Int8DecodeCache.transpose(keys, n, g, d), v = Int8DecodeCache.transpose(values, n, g, d)  // [G, n, D]
        let levels = Float((1 << bits) - 1), rowBytes = d * bits / 8
        keyCodes = [UInt8](repeating: 0, count: g * nq * rowBytes); valueCodes = keyCodes
        keyStep = [Float](repeating: 0, count: g * (nq / gs) * d); keyZero = keyStep
        valueStep = [Float](repeating: 0, count: g * nq); valueZero = valueStep
        residualKeys = []; residualValues = []
        var codes = [Int](repeating: 0, count: d)
        for h in 0..<g {
            let base = h * n * d
            // Keys: each channel of each group of gs tokens shares a step and a zero point.
            for group in 0..<(nq / gs) {
                for c in 0..<d {
                    let xs = (0..<gs).map { k[base + (group * gs + $0) * d + c] }
                    let (lo, step) = Self.range(xs, levels: levels)
                    keyZero[(h * (nq / gs) + group) * d + c] = lo
                    keyStep[(h * (nq / gs) + group) * d + c] = step
                }
            }
            for j in 0..<nq {
                let group = j / gs
                for c in 0..<d {
                    let s = keyStep[(h * (nq / gs) + group) * d + c], z = keyZero[(h * (nq / gs) + group) * d + c]
                    codes[c] = s > 0 ? Int(((k[base + j * d + c] - z) / s).rounded().clamped(0, levels)) : 0
                }
                Self.pack(codes, bits: bits, into: &keyCodes, at: (h * nq + j) * rowBytes)
                // Values: each token's vector is one group.
                let (lo, step) = Self.range(Array(v[(base + j * d)..<(base + (j + 1) * d)]), levels: levels)
                valueZero[h * nq + j] = lo
                valueStep[h * nq + j] = step
                for c in 0..<d { codes[c] = step > 0 ? Int(((v[base + j * d + c] - lo) / step).rounded().clamped(0, levels)) : 0 }
                Self.pack(codes, bits: bits, into: &valueCodes, at: (h * nq + j) * rowBytes)
            }
            residualKeys += k[(base + nq * d)..<(base + n * d)]
            residualValues += v[(base + nq * d)..<(base + n * d)]
        }
    }

    /// A group's minimum and step, as `quantiseGroup` computes them.
    static func range(_ xs: [Float], levels: Float) -> (lo: Float, step: Float) {
        let lo = xs.min()!, hi = xs.max()!
        return (lo, (hi - lo) / levels)
    }

    /// Codes per packed block of 8 bytes.
    static func block(_ bits: Int) -> Int { 8 * 8 / bits }

    static func pack(_ codes: [Int], bits: Int, into out: inout [UInt8], at offset: Int) {
        let per = 8 / bits, n = block(bits)
        for b0 in stride(from: 0, to: codes.count, by: n) {
            for k in 0..<8 {
                var byte = 0
                for i in 0..<per { byte |= codes[b0 + k + 8 * i] << (bits * i) }
                out[offset + b0 / per + k] = UInt8(byte)
            }
        }
    }

    /// Bytes held: packed codes, Float32 steps and zero points (keys per group and channel,
    /// values per token), and the residual rows in Float32.
    public var bytes: Int {
        keyCodes.count + valueCodes.count + 4 * (keyStep.count + keyZero.count + valueStep.count + valueZero.count)
            + 4 * (residualKeys.count + residualValues.count)
    }

    /// The values the cache stands for, token-major [n, G, D].
    public func restored() -> (keys: [Float], values: [Float]) {
        let g = kvHeads, d = headDim, n = count, nq = quantised
        var keys = [Float](repeating: 0, count: g * n * d), values = keys  // [G, n, D]
        keys.withUnsafeMutableBufferPointer { pk in
            values.withUnsafeMutableBufferPointer { pv in
                for h in 0..<g {
                    restoreKeys(kvHead: h, rows: 0..<nq, into: pk.baseAddress! + h * n * d)
                    restoreValues(kvHead: h, rows: 0..<nq, into: pv.baseAddress! + h * n * d)
                    for i in 0..<((n - nq) * d) {
                        pk[h * n * d + nq * d + i] = residualKeys[h * (n - nq) * d + i]
                        pv[h * n * d + nq * d + i] = residualValues[h * (n - nq) * d + i]
                    }
                }
            }
        }
        return (Int8DecodeCache.transpose(keys, g, n, d), Int8DecodeCache.transpose(values, g, n, d))
    }

    /// Eight codes of a packed block as Float32: the block's bytes shifted right by `shift`
    /// (bits × the lane: which eight of its 8·(8/b) codes), masked with `mask`.
    @inline(__always)
    static func unpack(_ block: UnsafeRawPointer, shift: Int32, mask: SIMD8<Int32>) -> VectorMath.V {
        // Widened first: x86 has no 8-bit vector shift, 32-bit lanes shift in one instruction.
        let bytes = SIMD8<Int32>(truncatingIfNeeded: block.loadUnaligned(as: SIMD8<UInt8>.self))
        return VectorMath.V((bytes &>> shift) & mask)
    }

    /// Where a restored row's zero points and steps come from: per channel (keys: the row's
    /// group's D of each), or one per row (values).
    enum RowScales {
        case perChannel(zero: UnsafePointer<Float>, step: UnsafePointer<Float>)
        case perRow(zero: Float, step: Float)
    }

    /// Restores `rows` packed rows of D codes into tile [rows, D]: row i's code c becomes
    /// zero + step · code, eight at a time. No division or overflow check in the loop:
    /// blocks of 8 bytes, lanes by shift.
    @inline(__always)
    func restore(rows: Int, codes: UnsafePointer<UInt8>, into tile: UnsafeMutablePointer<Float>, scales: (_ row: Int) -> RowScales) {
        let d = headDim, rowBytes = d &* bits / 8, per = 8 / bits, blocks = d / Self.block(bits)
        let mask = SIMD8<Int32>(repeating: Int32((1 << bits) - 1))
        for i in 0..<rows {
            let row = UnsafeRawPointer(codes + i &* rowBytes), out = tile + i &* d
            let rs = scales(i)
            var b = 0
            while b < blocks {
                var lane = 0
                while lane < per {
                    let c = (b &* per &+ lane) &* 8
                    let x = Self.unpack(row + b &* 8, shift: Int32(truncatingIfNeeded: bits &* lane), mask: mask)
                    switch rs {
                    case let .perChannel(zero, step): VectorMath.store(VectorMath.load(zero + c) + VectorMath.load(step + c) * x, out + c)
                    case let .perRow(zero, step): VectorMath.store(VectorMath.V(repeating: zero) + VectorMath.V(repeating: step) * x, out + c)
                    }
                    lane &+= 1
                }
                b &+= 1
            }
        }
    }

    /// Quantised key rows `rows` of kv head h restored into tile [rows.count, D]: each
    /// channel's group step and zero point.
    func restoreKeys(kvHead h: Int, rows: Range<Int>, into tile: UnsafeMutablePointer<Float>) {
        let d = headDim, nq = quantised, gs = groupSize, first = rows.lowerBound
        keyCodes.withUnsafeBufferPointer { kc in
            keyStep.withUnsafeBufferPointer { ks in
                keyZero.withUnsafeBufferPointer { kz in
                    let ks = ks.baseAddress! + h * (nq / gs) * d, kz = kz.baseAddress! + h * (nq / gs) * d
                    restore(rows: rows.count, codes: kc.baseAddress! + (h * nq + first) * (d * bits / 8), into: tile) { i in
                        let at = ((first &+ i) / gs) &* d  // the row's group
                        return .perChannel(zero: kz + at, step: ks + at)
                    }
                }
            }
        }
    }

    /// Quantised value rows `rows` of kv head h restored into tile [rows.count, D]: each
    /// token's step and zero point.
    func restoreValues(kvHead h: Int, rows: Range<Int>, into tile: UnsafeMutablePointer<Float>) {
        let d = headDim, nq = quantised, first = rows.lowerBound
        valueCodes.withUnsafeBufferPointer { vc in
            valueStep.withUnsafeBufferPointer { vs in
                valueZero.withUnsafeBufferPointer { vz in
                    let vs = vs.baseAddress! + h * nq + first, vz = vz.baseAddress! + h * nq + first
                    restore(rows: rows.count, codes: vc.baseAddress! + (h * nq + first) * (d * bits / 8), into: tile) { i in
                        .perRow(zero: vz[i], step: vs[i])
                    }
                }
            }
        }
    }

    /// Floats of workspace `attend` needs for `heads` query heads.
    public func workspaceCount(heads: Int) -> Int { heads * (2 + FloatDecode.chunk + 2 * headDim) + 2 * FloatDecode.chunk * headDim }

    /// One decode step: q [H, D] (query head h reads kv head h / (H/G)) over every cached
    /// token; out [H, D]. Scores are scale · q·k.
    public func attend(query q: UnsafePointer<Float>, heads: Int, scale: Float,
                       out: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = kvHeads, d = headDim, n = count, nq = quantised, cw = FloatDecode.chunk
        precondition(heads >= g && heads % g == 0 && n >= 1, "decode of \(heads) heads over \(g) kv heads, \(n) keys")
        let r = heads / g
        let qs = workspace, m = qs + heads * d, l = m + heads, acc = l + heads, scores = acc + heads * d
        let keyTile = scores + heads * cw, valueTile = keyTile + cw * d
        for i in 0..<(heads * d) { qs[i] = q[i] * scale; acc[i] = 0 }
        for h in 0..<heads { m[h] = -.infinity; l[h] = 0 }
        for kv in 0..<g {
            let h0 = kv * r
            func fold(_ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>, _ rows: Int) {
                FloatDecode.fold(scaledQuery: qs + h0 * d, heads: r, kvHeads: 1, headDim: d, keys: keys, values: values,
                                 count: rows, ld: d, max: m + h0, sum: l + h0, acc: acc + h0 * d, scores: scores)
            }
            var c0 = 0
            while c0 < nq {
                let nc = min(cw, nq - c0)
                restoreKeys(kvHead: kv, rows: c0..<(c0 + nc), into: keyTile)
                restoreValues(kvHead: kv, rows: c0..<(c0 + nc), into: valueTile)
                fold(keyTile, valueTile, nc)
                c0 += nc
            }
            if n > nq {
                residualKeys.withUnsafeBufferPointer { rk in
                    residualValues.withUnsafeBufferPointer { rv in
                        fold(rk.baseAddress! + kv * (n - nq) * d, rv.baseAddress! + kv * (n - nq) * d, n - nq)
                    }
                }
            }
        }
        for h in 0..<heads {
            let inv = 1 / l[h]
            for c in 0..<d { out[h * d + c] = acc[h * d + c] * inv }
        }
    }
}
