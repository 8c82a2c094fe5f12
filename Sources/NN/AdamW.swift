// AdamW (Loshchilov & Hutter 2019) with PyTorch's update order and bias correction:
//   p ← p − lr·λ·p                          (decoupled weight decay)
//   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
//   p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)

import Foundation
import TensorCore

public final class AdamW {
    public struct Hyper: Codable, Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0.01
        public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
            self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        }
    }

    public let parameters: [Tensor]
    public var hyper: Hyper
    /// First and second moments, one buffer per parameter (saved in checkpoints).
    public var m: [[Float]]
    public var v: [[Float]]
    /// Number of `update` calls.
    public var step: Int = 0
    /// Per parameter, the updates it took part in: t of its bias correction. Like
    /// PyTorch, a parameter without a gradient on some step does not advance its t.
    public var parameterSteps: [Int]
    /// Parameters exempt from weight decay (by index), e.g. norms and biases.
    public var noDecay: Set<Int>

    public init(parameters: [Tensor], hyper: Hyper = Hyper(), noDecay: Set<Int> = []) {
        self.parameters = parameters
        self.hyper = hyper
        self.noDecay = noDecay
        m = parameters.map { [Float](repeating: 0, count: $0.count) }
        v = m
        parameterSteps = [Int](repeating: 0, count: parameters.count)
    }

    /// One update at learning rate `lr`. Parameters without a gradient are left alone
    /// (their moments do not decay), as in PyTorch.
    public func update(lr: Float) {
        step += 1
        let b1 = hyper.beta1, b2 = hyper.beta2
        for (k, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            parameterSteps[k] += 1
            let t = Double(parameterSteps[k])
            let c1 = 1 - Float(Foundation.pow(Double(b1), t))
            let c2 = 1 - Float(Foundation.pow(Double(b2), t))
            let decay: Float = noDecay.contains(k) ? 0 : lr * hyper.weightDecay
            let eps = hyper.eps
            p.data.withUnsafeMutableBufferPointer { pp in
                m[k].withUnsafeMutableBufferPointer { pm in
                    v[k].withUnsafeMutableBufferPointer { pv in
                        g.withUnsafeBufferPointer { pg in
                            // Eight lanes at a time (the scalar loop did not vectorise: a few % of a
                            // training step). The same operations in the same order as the scalar
                            // tail, without fused multiply-adds: identical numbers.
                            typealias V = SIMD8<Float>
                            let n = pp.count
                            var i = 0
                            if n >= 8 {
                                let p0 = pp.baseAddress!, m0 = pm.baseAddress!, v0 = pv.baseAddress!, g0 = pg.baseAddress!
                                let decayV = V(repeating: decay), b1V = V(repeating: b1), b2V = V(repeating: b2)
                                let ob1 = V(repeating: 1 - b1), ob2 = V(repeating: 1 - b2)
                                let c1V = V(repeating: c1), c2V = V(repeating: c2), lrV = V(repeating: lr), epsV = V(repeating: eps)
                                while i &+ 8 <= n {
                                    var pVal = VectorMath.load(p0 + i)
                                    let gVal = VectorMath.load(g0 + i)
                                    pVal -= decayV * pVal
                                    let mVal = b1V * VectorMath.load(m0 + i) + ob1 * gVal
                                    let vVal = b2V * VectorMath.load(v0 + i) + ob2 * gVal * gVal
                                    let mHat = mVal / c1V, vHat = vVal / c2V
                                    pVal -= lrV * mHat / (vHat.squareRoot() + epsV)
                                    VectorMath.store(pVal, p0 + i)
                                    VectorMath.store(mVal, m0 + i)
                                    VectorMath.store(vVal, v0 + i)
                                    i &+= 8
                                }
                            }
                            while i < n {
                                pp[i] -= decay * pp[i]
                                pm[i] = b1 * pm[i] + (1 - b1) * pg[i]
                                pv[i] = b2 * pv[i] + (1 - b2) * pg[i] * pg[i]
                                let mHat = pm[i] / c1, vHat = pv[i] / c2
                                pp[i] -= lr * mHat / (vHat.squareRoot() + eps)
                                i &+= 1
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Scales all gradients together so their global L2 norm is at most `maxNorm`
/// (PyTorch's clip_grad_norm_: factor maxNorm / (norm + 1e-6) when norm > maxNorm).
/// Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    // Σ g² in Double, per parameter (four-lane partial sums, VectorMath.sumOfSquares), then
    // over parameters in order; the scaling is in place (no new gradient arrays).
    var sumSq: Double = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        sumSq += g.withUnsafeBufferPointer { pg in pg.isEmpty ? 0 : VectorMath.sumOfSquares(pg.baseAddress!, count: pg.count) }
    }
    let norm = Float(sumSq.squareRoot())
    if norm > maxNorm {
        let scale = maxNorm / (norm + 1e-6)
        for p in parameters where p.grad != nil {
            p.grad!.withUnsafeMutableBufferPointer { pg in
                for i in 0..<pg.count { pg[i] *= scale }
            }
        }
    }
    return norm
}
