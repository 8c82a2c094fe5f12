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
        for r in 0..<rows {
            var ss: Float = 0
            for j in 0..<c { let v = x.data[r * c + j]; ss += v * v }
            let inv = 1 / (ss / Float(c) + eps).squareRoot()
            invRMS[r] = inv
            for j in 0..<c { out.data[r * c + j] = x.data[r * c + j] * inv * weight.data[j] }
        }
        Autograd.record(out, op: "rmsNorm", inputs: [x, weight]) { g in
            // Forward: x̂ = x·r with r = (mean(x²)+ε)^(−1/2); y = x̂ ⊙ w.
            // Adjoint: dw += Σ_rows g ⊙ x̂; dx = r · (g⊙w − x̂ · mean(g⊙w ⊙ x̂)).
            var gx = [Float](repeating: 0, count: x.count)
            var gw = [Float](repeating: 0, count: c)
            for r in 0..<rows {
                let inv = invRMS[r]
                var dot: Float = 0
                for j in 0..<c {
                    let xhat = x.data[r * c + j] * inv
                    gw[j] += g[r * c + j] * xhat
                    dot += g[r * c + j] * weight.data[j] * xhat
                }
                let meanDot = dot / Float(c)
                for j in 0..<c {
                    let xhat = x.data[r * c + j] * inv
                    gx[r * c + j] = inv * (g[r * c + j] * weight.data[j] - xhat * meanDot)
                }
            }
            if x.requiresGrad { x.accumulateGrad(gx) }
            if weight.requiresGrad { weight.accumulateGrad(gw) }
        }
        return out
    }
}
