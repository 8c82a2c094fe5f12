// Saving and loading a module's parameters as safetensors, by their HF names.

import TensorCore

extension Module {
    /// The parameters as a safetensors file (F32).
    public func weightsFile(metadata: [String: String] = [:]) throws -> SafeTensorsFile {
        try SafeTensorsFile(tensors: namedParameters.map { (name: $0.name, tensor: $0.tensor) }, metadata: metadata)
    }

    /// Copies every parameter from `file`. A missing tensor or a wrong shape is an error
    /// naming the tensor and the expected shape; nothing is modified unless all are valid.
    public func loadWeights(from file: SafeTensorsFile) throws {
        let loaded = try namedParameters.map { p in (p.tensor, try file.tensor(named: p.name, expectedShape: p.tensor.shape)) }
        for (dst, src) in loaded { dst.data = src.data }
    }

    /// Copies the parameters of another module with the same names and shapes.
    public func copyWeights(from other: Module) throws {
        try loadWeights(from: other.weightsFile())
    }
}
