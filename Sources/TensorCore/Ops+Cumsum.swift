// Causal cumulative sum along an axis: out[t] = Σ_{s ≤ t} x[s] (prefix sums along the
// sequence, as recurrent and linear-attention formulations need).

extension Tensor {
    public func cumsum(axis: Int) -> Tensor {
        let ax = normalizedAxis(axis)
        let outer = shape[..<ax].product, n = shape[ax], inner = shape[(ax + 1)...].product
        func scan(_ src: [Float], reverse: Bool) -> [Float] {
            var dst = [Float](repeating: 0, count: src.count)
            for o in 0..<outer {
                for i in 0..<inner {
                    var running: Float = 0
                    for step in 0..<n {
                        let j = reverse ? n - 1 - step : step
                        let idx = (o * n + j) * inner + i
                        running += src[idx]
                        dst[idx] = running
                    }
                }
            }
            return dst
        }
        let out = Tensor(shape: shape, data: scan(data, reverse: false))
        Autograd.record(out, op: "cumsum", inputs: [self]) { [self] g in
            // Forward: out[t] = Σ_{s≤t} x[s]. Adjoint: dx[s] = Σ_{t≥s} g[t], a reverse scan.
            self.accumulateGrad(scan(g, reverse: true))
        }
        return out
    }
}
