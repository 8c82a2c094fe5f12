// Elementwise functions. Each names its derivative next to its definition; the
// backward multiplies the output gradient by it (written in terms of x and y = f(x)).

import Foundation

extension Tensor {
    /// y = f(x) elementwise; backward dx = g · f'(x, y).
    func unary(_ op: String, _ f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = Tensor.uninitialized(shape)
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                for i in 0..<px.count { po[i] = f(px[i]) }
            }
        }
        Autograd.record(out, op: op, inputs: [self]) { [self, unowned out] g in
            var gx = [Float](repeating: 0, count: g.count)
            let x = self.data, y = out.data
            for i in 0..<g.count { gx[i] = g[i] * derivative(x[i], y[i]) }
            self.accumulateGrad(gx)
        }
        return out
    }

    /// eˣ; d/dx = y.
    public func exp() -> Tensor { unary("exp", { Foundation.exp($0) }, derivative: { _, y in y }) }
    /// ln x; d/dx = 1/x.
    public func log() -> Tensor { unary("log", { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    /// √x; d/dx = 1/(2y).
    public func sqrt() -> Tensor { unary("sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    /// 1/√x; d/dx = −y³/2.
    public func rsqrt() -> Tensor { unary("rsqrt", { 1 / $0.squareRoot() }, derivative: { _, y in -0.5 * y * y * y }) }
    /// x²; d/dx = 2x.
    public func square() -> Tensor { unary("square", { $0 * $0 }, derivative: { x, _ in 2 * x }) }
    /// max(x, 0); d/dx = 1 for x > 0.
    public func relu() -> Tensor { unary("relu", { max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 }) }

    /// elu(x) = x for x > 0, α(eˣ − 1) otherwise; d/dx = 1, or y + α.
    /// Linear attention's feature map is elu(x) + 1 (Katharopoulos et al. 2020).
    public func elu(alpha: Float = 1) -> Tensor {
        unary("elu", { $0 > 0 ? $0 : alpha * Foundation.expm1($0) },
              derivative: { x, y in x > 0 ? 1 : y + alpha })
    }

    /// silu(x) = x·σ(x); d/dx = σ(x)·(1 + x·(1 − σ(x))).
    public func silu() -> Tensor {
        unary("silu", { $0 / (1 + Foundation.exp(-$0)) }, derivative: { x, _ in
            let s = 1 / (1 + Foundation.exp(-x))
            return s * (1 + x * (1 - s))
        })
    }

    /// gelu(x) = x·Φ(x) with the exact normal CDF Φ (PyTorch's default, approximate='none');
    /// d/dx = Φ(x) + x·φ(x).
    public func gelu() -> Tensor {
        let invSqrt2: Float = 0.70710678118654752
        let invSqrt2Pi: Float = 0.39894228040143268
        return unary("gelu", { 0.5 * $0 * (1 + Foundation.erf($0 * invSqrt2)) }, derivative: { x, _ in
            0.5 * (1 + Foundation.erf(x * invSqrt2)) + x * invSqrt2Pi * Foundation.exp(-0.5 * x * x)
        })
    }
}

extension Tensor {
    /// An elementwise op with a caller-supplied derivative, so tests can show that the
    /// gradient checker rejects a wrong one. Not for model code.
    public func unaryForTesting(_ op: String, _ f: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        unary(op, f, derivative: derivative)
    }
}
