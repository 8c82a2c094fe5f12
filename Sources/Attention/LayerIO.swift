// Running one attention layer on tensors from safetensors files, so anyone can check
// our numbers against PyTorch or HF code (what `attnlab forward` does).

import Foundation
import NN
import TensorCore

public enum LayerIO {
    /// Reads an AttentionConfig from JSON, with errors that say what is wrong.
    public static func readConfig(path: String) throws -> AttentionConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LayerIOError("cannot read config file '\(path)'")
        }
        return try decodeConfig(data, path: path)
    }

    /// As `readConfig(path:)`, from bytes already read; `path` names the source in messages.
    public static func decodeConfig(_ data: Data, path: String) throws -> AttentionConfig {
        do {
            return try JSONDecoder().decode(AttentionConfig.self, from: data)
        } catch let e as AttentionConfigError {
            throw LayerIOError("config '\(path)': \(e)")
        } catch DecodingError.keyNotFound(let key, _) {
            throw LayerIOError("config '\(path)' misses the field '\(key.stringValue)' (required: hidden_size, num_attention_heads)")
        } catch DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx) {
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            throw LayerIOError("config '\(path)': field '\(field)' has the wrong type: \(ctx.debugDescription)")
        } catch DecodingError.dataCorrupted(let ctx) {
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            let valid = field == "rope_pairing" ? " (valid: \(RoPEPairing.allCases.map(\.rawValue).joined(separator: ", ")))" : ""
            throw LayerIOError("config '\(path)' is not valid\(field.isEmpty ? " JSON" : " at '\(field)'"): \(ctx.debugDescription)\(valid)")
        }
    }

    /// The input tensor of a safetensors file: the one named `x`, or the only one.
    public static func readInput(path: String, hiddenSize: Int) throws -> Tensor {
        let file = try SafeTensorsFile.read(from: path)
        let name: String
        if file.names.contains("x") { name = "x" } else if file.names.count == 1 { name = file.names[0] } else {
            throw LayerIOError("input '\(path)' has tensors \(file.names) but none named 'x'")
        }
        let x = try file.tensor(named: name)
        guard x.rank == 3, x.shape[2] == hiddenSize, x.shape[0] >= 1, x.shape[1] >= 1 else {
            throw LayerIOError("input '\(name)' in '\(path)' has shape \(x.shape); expected [B, T, \(hiddenSize)] with B, T ≥ 1")
        }
        return x
    }

    /// The layer's outputs: `y` = forward(x) [B, T, C]; with `decode`, also `y_decode`,
    /// the same tokens fed one at a time through the KV cache.
    public static func run(_ layer: any AttentionMechanism, input x: Tensor, decode: Bool) throws -> SafeTensorsFile {
        let y = Autograd.inference { layer.forward(x) }
        var tensors: [(name: String, tensor: Tensor)] = [("y", y)]
        if decode {
            let t = x.shape[1]
            let cache = layer.makeCache(batch: x.shape[0], capacity: t)
            let steps = (0..<t).map { layer.decode(x.slice(axis: 1, $0..<($0 + 1)), cache: cache) }
            tensors.append(("y_decode", Tensor.concat(steps, axis: 1)))
        }
        return try SafeTensorsFile(tensors: tensors, metadata: [
            "variant": layer.variant.rawValue,
            "rope_pairing": layer.config.ropePairing.rawValue,
        ])
    }
}

public struct LayerIOError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
