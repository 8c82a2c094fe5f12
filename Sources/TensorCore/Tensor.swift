// Tensor: Float32, row-major, contiguous, with a shape; a node of the autograd graph.
//
// Dimension legend used in shape comments across AttnLab:
//   B batch, T sequence, C d_model, H query heads, G kv heads, D head dim,
//   W window, L latent d_c, R rope dim d_h^R, V vocab.
//
// A Tensor is a reference type because identity matters: the autograd graph links
// an op's output to its inputs, and gradients accumulate into the input objects.

public final class Tensor {
    /// Extents, outermost first. A scalar has shape [].
    public let shape: [Int]
    /// Row-major contiguous storage; `data.count == shape.product`.
    public var data: [Float]
    /// The accumulated gradient of the last `backward()` (same count as `data`), or nil.
    public var grad: [Float]?
    /// Whether gradients flow to this tensor. Parameters and inputs under test set it.
    public var requiresGrad: Bool

    // Graph links, set by ops while `Autograd.isRecording`.
    var parents: [Tensor] = []
    /// Pushes the output gradient (its argument) into the parents' `grad`.
    var backwardFn: (([Float]) -> Void)?
    /// Name of the op that produced this tensor, for error messages.
    public internal(set) var op: String = "leaf"

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(data.count == shape.product,
                     "data has \(data.count) elements but shape \(shape) needs \(shape.product)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    /// A fresh buffer the caller must overwrite completely. Debug builds fill it with
    /// NaN so that an element an op forgets to write poisons the result.
    public static func uninitialized(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: uninitializedStorage(shape.product))
    }

    /// `count` floats the caller must overwrite completely (NaN in debug builds), for
    /// outputs and gradients that are written whole: no zero-fill pass.
    public static func uninitializedStorage(_ count: Int) -> [Float] {
        #if DEBUG
        return [Float](repeating: .nan, count: count)
        #else
        // Release: skip the fill. The debug NaN fill is what proves every op writes every element.
        return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        #endif
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, data: [Float](repeating: 0, count: shape.product), requiresGrad: requiresGrad)
    }

    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, data: [Float](repeating: value, count: shape.product), requiresGrad: requiresGrad)
    }

    public static func scalar(_ value: Float, requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: [], data: [value], requiresGrad: requiresGrad)
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() on a tensor of shape \(shape)")
        return data[0]
    }

    /// A new leaf holding the same values, cut from the graph.
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    public func zeroGrad() { grad = nil }

    /// Adds `g` into this tensor's gradient. Every op's backward goes through here,
    /// so the shape check below covers every gradient the graph produces.
    func accumulateGrad(_ g: [Float]) {
        precondition(g.count == count,
                     "gradient with \(g.count) elements for tensor of shape \(shape) (op \(op))")
        if grad == nil {
            grad = g
        } else {
            grad!.withUnsafeMutableBufferPointer { dst in
                g.withUnsafeBufferPointer { src in
                    for i in 0..<dst.count { dst[i] += src[i] }
                }
            }
        }
    }
}

extension Array where Element == Int {
    /// Number of elements of a tensor with this shape (1 for a scalar). A zero extent
    /// makes it 0 whatever the others are, before their product could overflow.
    public var product: Int { contains(0) ? 0 : reduce(1, *) }
}

/// Row-major strides of a shape.
@inlinable
public func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = data.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), op: \(op), data: [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
