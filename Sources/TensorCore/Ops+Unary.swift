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

    /// φ(x) = elu(x) + 1 = x + 1 for x > 0, eˣ otherwise; d/dx = 1, or y. Linear
    /// attention's feature map in one vectorised pass (`VectorMath.exp`, ≤ 2 ulp), where the
    /// composition elu() + 1 makes two passes, two backward closures and an expm1 per element.
    /// NaN stays NaN.
    public func eluPlusOne() -> Tensor {
        typealias V = VectorMath.V
        let n = count
        let out = Tensor.uninitialized(shape)
        out.data.withUnsafeMutableBufferPointer { po in
            data.withUnsafeBufferPointer { px in
                guard n > 0 else { return }
                let po = po.baseAddress!, px = px.baseAddress!
                var i = 0
                while i + 8 <= n {
                    let x = VectorMath.load(px + i)
                    let nonPositive = x .<= 0
                    var y = (x + 1).replacing(with: VectorMath.expNonPositive(x.replacing(with: 0, where: .!nonPositive)),
                                              where: nonPositive)
                    y.replace(with: x, where: x .!= x)
                    VectorMath.store(y, po + i)
                    i += 8
                }
                while i < n {
                    let x = px[i]
                    po[i] = x > 0 ? x + 1 : (x.isNaN ? x : VectorMath.exp(x))
                    i += 1
                }
            }
        }
        Autograd.record(out, op: "eluPlusOne", inputs: [self]) { [self, unowned out] g in
            // Forward: y = x + 1 (x > 0) or eˣ. Adjoint: dx = g (x > 0) or g·y.
            var gx = Tensor.uninitializedStorage(n)
            gx.withUnsafeMutableBufferPointer { pgx in
                g.withUnsafeBufferPointer { pg in
                    self.data.withUnsafeBufferPointer { px in
                        out.data.withUnsafeBufferPointer { py in
                            guard n > 0 else { return }
                            let pgx = pgx.baseAddress!, pg = pg.baseAddress!, px = px.baseAddress!, py = py.baseAddress!
                            var i = 0
                            while i + 8 <= n {
                                let gv = VectorMath.load(pg + i), x = VectorMath.load(px + i)
                                VectorMath.store(gv.replacing(with: gv * VectorMath.load(py + i), where: .!(x .> 0)), pgx + i)
                                i += 8
                            }
                            while i < n {
                                pgx[i] = px[i] > 0 ? pg[i] : pg[i] * py[i]
                                i += 1
                            }
                        }
                    }
                }
            }
            self.accumulateGrad(gx)
        }
        return out
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
