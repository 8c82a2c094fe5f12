import TensorCore

/// y = x · Wᵀ + b with W stored [out, in] as in PyTorch. x: [..., in] → [..., out].
public final class Linear: Module {
    public let weight: Tensor  // [out, in]
    public let bias: Tensor?   // [out]

    /// PyTorch's default initialisation: U(−1/√in, 1/√in) for weight and bias.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = false, rng: inout Xoshiro256StarStar) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear \(inFeatures)→\(outFeatures) needs positive widths")
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = .uniform([outFeatures, inFeatures], low: -bound, high: bound, rng: &rng, requiresGrad: true)
        self.bias = bias ? .uniform([outFeatures], low: -bound, high: bound, rng: &rng, requiresGrad: true) : nil
    }

    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "Linear weight must be [out, in], got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "Linear bias \(bias.shape) for weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = Tensor.matmul(x, weight, transposeB: true)
        if let bias { return y + bias }
        return y
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var ps: [(name: String, tensor: Tensor)] = [("weight", weight)]
        if let bias { ps.append(("bias", bias)) }
        return ps
    }
}

/// RMSNorm with a learned gain initialised to 1.
public final class RMSNorm: Module {
    public let weight: Tensor  // [C]
    public let eps: Float

    public init(dim: Int, eps: Float = 1e-6) {
        weight = .full([dim], 1, requiresGrad: true)
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { .rmsNorm(x, weight: weight, eps: eps) }
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }
}

/// Token embedding table [V, C], initialised N(0, 1) as in PyTorch.
public final class Embedding: Module {
    public let weight: Tensor  // [V, C]

    public init(vocab: Int, dim: Int, std: Float = 1, rng: inout Xoshiro256StarStar) {
        weight = .randn([vocab, dim], std: std, rng: &rng, requiresGrad: true)
    }

    /// ids laid out as `shape` (e.g. [B, T]) → shape + [C].
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        .embedding(weight, ids: ids, idsShape: shape)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }
}

/// SwiGLU feed-forward (Shazeer 2020) with Llama's names:
/// down_proj(silu(gate_proj(x)) ⊙ up_proj(x)).
public final class SwiGLU: Module {
    public let gateProj: Linear, upProj: Linear, downProj: Linear

    public init(dim: Int, hidden: Int, rng: inout Xoshiro256StarStar) {
        gateProj = Linear(inFeatures: dim, outFeatures: hidden, rng: &rng)
        upProj = Linear(inFeatures: dim, outFeatures: hidden, rng: &rng)
        downProj = Linear(inFeatures: hidden, outFeatures: dim, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        downProj(gateProj(x).silu() * upProj(x))
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        prefixed("gate_proj", gateProj) + prefixed("up_proj", upProj) + prefixed("down_proj", downProj)
    }
}
