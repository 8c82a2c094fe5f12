// Rotary position embedding (Su et al. 2021).
//
// Pairing: `.halfSplit` rotates (x[i], x[i + D/2]) — the `rotate_half` convention of
// Llama in HF transformers; `.interleaved` rotates (x[2i], x[2i+1]) — the original
// paper and some checkpoints. Frequency of pair i: θ_i = base^(−2i/D).
// Position of token t is `positionOffset + t`, so decode continues where prefill ended.
// Angles and their sines are computed in Double: at position 32k a Float32 angle is
// already off by ~1e-3 rad.

import Foundation

public enum RoPEPairing: String, Codable, Sendable, CaseIterable {
    case halfSplit = "half-split"
    case interleaved
}

extension Tensor {
    /// x: [B, T, H, D] with D even. Rotates every head's vector by its position's angles.
    public func rope(positionOffset: Int = 0, base: Double = 10000, pairing: RoPEPairing = .halfSplit) -> Tensor {
        precondition(rank == 4, "rope expects [B, T, H, D], got \(shape)")
        let b = shape[0], t = shape[1], h = shape[2], d = shape[3]
        precondition(d % 2 == 0, "rope head dim \(d) must be even")
        let half = d / 2
        let (cosTable, sinTable) = Tensor.ropeTables(positions: positionOffset..<(positionOffset + t), dim: d, base: base)
        // Index of the two elements of pair i within a head vector.
        func pair(_ i: Int) -> (Int, Int) { pairing == .halfSplit ? (i, i + half) : (2 * i, 2 * i + 1) }

        // Every element is written (each pair once), so the output needs no zero-fill. The
        // half-split pairs are two contiguous runs of D/2 per head: eight pairs per step there.
        func rotate(_ src: [Float], sign: Float) -> [Float] {
            var dst = Tensor.uninitializedStorage(src.count)
            let lanes = pairing == .halfSplit && half % 8 == 0
            dst.withUnsafeMutableBufferPointer { pd in
                src.withUnsafeBufferPointer { ps in
                    cosTable.withUnsafeBufferPointer { pc in
                        sinTable.withUnsafeBufferPointer { pn in
                            guard !pd.isEmpty else { return }
                            let pd = pd.baseAddress!, ps = ps.baseAddress!, pc = pc.baseAddress!, pn = pn.baseAddress!
                            for bi in 0..<b {
                                for ti in 0..<t {
                                    let cRow = pc + ti * half, sRow = pn + ti * half
                                    for hi in 0..<h {
                                        let base = ((bi * t + ti) * h + hi) * d
                                        var i = 0
                                        if lanes {
                                            let signV = VectorMath.V(repeating: sign)
                                            while i < half {
                                                let c = VectorMath.load(cRow + i), s = signV * VectorMath.load(sRow + i)
                                                let x1 = VectorMath.load(ps + base + i), x2 = VectorMath.load(ps + base + half + i)
                                                VectorMath.store(x1 * c - x2 * s, pd + base + i)
                                                VectorMath.store(x2 * c + x1 * s, pd + base + half + i)
                                                i += 8
                                            }
                                        }
                                        while i < half {
                                            let c = cRow[i], s = sign * sRow[i]
                                            let (i1, i2) = pair(i)
                                            let x1 = ps[base + i1], x2 = ps[base + i2]
                                            pd[base + i1] = x1 * c - x2 * s
                                            pd[base + i2] = x2 * c + x1 * s
                                            i += 1
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return dst
        }

        let out = Tensor(shape: shape, data: rotate(data, sign: 1))
        Autograd.record(out, op: "rope", inputs: [self]) { [self] g in
            // Forward: a rotation by +angle per pair. Adjoint: its transpose, rotation by −angle.
            self.accumulateGrad(rotate(g, sign: -1))
        }
        return out
    }

    /// cos and sin of position·θ_i, laid out [positions, D/2].
    public static func ropeTables(positions: Range<Int>, dim: Int, base: Double) -> ([Float], [Float]) {
        let half = dim / 2
        var cosT = [Float](repeating: 0, count: positions.count * half)
        var sinT = cosT
        let thetas = (0..<half).map { i in Foundation.pow(base, -2 * Double(i) / Double(dim)) }
        for (k, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Double(p) * thetas[i]
                cosT[k * half + i] = Float(Foundation.cos(angle))
                sinT[k * half + i] = Float(Foundation.sin(angle))
            }
        }
        return (cosT, sinT)
    }
}
