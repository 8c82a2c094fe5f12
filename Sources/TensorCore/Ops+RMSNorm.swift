// RMSNorm (Zhang & Sennrich 2019) over the last axis, fused with its weight:
//   y = x / sqrt(mean(x²) + ε) · w

extension Tensor {
    /// x: [..., C], weight: [C].
    public static func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float = 1e-6) -> Tensor {
        let c = x.shape.last ?? 1
        precondition(weight.shape == [c], "rmsNorm weight shape \(weight.shape), expected [\(c)] for input \(x.shape)")
        let rows = x.count / Swift.max(c, 1)
        let out = Tensor.uninitialized(x.shape)
        var invRMS = [Float](repeating: 0, count: rows)  // [rows], kept for the backward
        // Row pointers and eight-lane loops (VectorMath): Array indexing here did not vectorise.
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                out.data.withUnsafeMutableBufferPointer { po in
                    guard rows > 0, c > 0 else { return }
                    let w = pw.baseAddress!
                    for r in 0..<rows {
                        let xr = px.baseAddress! + r * c, yr = po.baseAddress! + r * c
                        let inv = 1 / (VectorMath.dot(xr, xr, count: c) / Float(c) + eps).squareRoot()
                        invRMS[r] = inv
                        VectorMath.scaledProduct(yr, xr, w, scale: inv, count: c)
                    }
                }
            }
        }
        Autograd.record(out, op: "rmsNorm", inputs: [x, weight]) { g in
            // Forward: x̂ = x·r with r = (mean(x²)+ε)^(−1/2); y = x̂ ⊙ w.
            // Adjoint: dw += Σ_rows g ⊙ x̂; dx = r · (g⊙w − x̂ · mean(g⊙w ⊙ x̂)).
            var gx = Tensor.uninitializedStorage(x.count)
            var gw = [Float](repeating: 0, count: c)
            x.data.withUnsafeBufferPointer { px in
                weight.data.withUnsafeBufferPointer { pw in
                    g.withUnsafeBufferPointer { pg in
                        gx.withUnsafeMutableBufferPointer { pgx in
                            gw.withUnsafeMutableBufferPointer { pgw in
                                guard rows > 0, c > 0 else { return }
                                for r in 0..<rows {
                                    VectorMath.rmsNormRowBackward(
                                        x: px.baseAddress! + r * c, g: pg.baseAddress! + r * c, w: pw.baseAddress!, inv: invRMS[r],
                                        count: c, dx: pgx.baseAddress! + r * c, dw: pgw.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
            if x.requiresGrad { x.accumulateGrad(gx) }
            if weight.requiresGrad { weight.accumulateGrad(gw) }
        }
        return out
    }
}
