// The parameter collection every module exposes. Names follow HF transformers
// (`q_proj.weight`, `norm.weight`, ...) so checkpoints line up with PyTorch's.

import TensorCore

public protocol Module: AnyObject {
    /// Every trainable tensor of this module and its children, with dotted names,
    /// in a fixed order (the order optimiser state and checkpoints use).
    var namedParameters: [(name: String, tensor: Tensor)] { get }
}

extension Module {
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Prefixes child parameter names: `prefixed("mlp", child)` gives `mlp.up_proj.weight`.
public func prefixed(_ prefix: String, _ child: Module) -> [(name: String, tensor: Tensor)] {
    child.namedParameters.map { (name: "\(prefix).\($0.name)", tensor: $0.tensor) }
}
