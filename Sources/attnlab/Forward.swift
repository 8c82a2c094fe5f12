import ArgumentParser
import Attention
import Foundation
import NN
import TensorCore

/// `attnlab forward`: one attention layer on a [B, T, C] input from safetensors.
struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one attention layer on a safetensors input and write its output as safetensors.",
        discussion: """
        The config is JSON with HF names (hidden_size, num_attention_heads, num_key_value_heads, head_dim,
        sliding_window, rope_theta, rope_pairing "half-split" | "interleaved", linear_feature_dim,
        kv_lora_rank, q_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim, rms_norm_eps).
        Weights use HF parameter names, matrices stored [out, in]. RoPE pairs (x[i], x[i + D/2]) by
        default (Llama's rotate_half); "interleaved" pairs (x[2i], x[2i+1]).
        The output file holds y = forward(x), and with --decode also y_decode: the same tokens
        fed one at a time through the KV cache, and with --prefill also y_prefill: all tokens in one
        step through a fresh KV cache (the inference prefill path that `attnlab-bench attention` times).
        """
    )

    @Option(help: "Mechanism id: \(Variant.allCases.map(\.rawValue).joined(separator: ", ")).")
    var variant: String

    @Option(help: "Layer configuration (JSON).")
    var config: String

    @Option(help: "Weights (safetensors). Without it, weights are drawn from --seed.")
    var weights: String?

    @Option(help: "Seed for random weights when --weights is not given.")
    var seed: UInt64 = 0

    @Option(help: "Also write the weights used to this safetensors file.")
    var saveWeights: String?

    @Option(help: "Input safetensors holding x [B, T, C].")
    var input: String

    @Option(help: "Output safetensors file.")
    var output: String

    @Flag(help: "Also run the tokens one at a time through the KV cache (y_decode).")
    var decode = false

    @Flag(help: "Also run all tokens in one step through a fresh KV cache (y_prefill).")
    var prefill = false

    @Option(help: "MLA inference path for --decode and --prefill: naive or absorbed.")
    var mlaPath: String = "absorbed"

    @Option(help: "OpenBLAS threads.")
    var threads: Int?

    func run() throws {
        if let threads {
            guard threads >= 1 else { throw LayerIOError("--threads \(threads) is invalid: use at least 1") }
            BLAS.setThreads(threads)
        }
        let v = try Variant.parse(variant)
        guard let path = MLAPath(rawValue: mlaPath) else {
            throw LayerIOError("unknown --mla-path '\(mlaPath)'; valid: \(MLAPath.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let cfg = try LayerIO.readConfig(path: config)
        var rng = Xoshiro256StarStar(seed: seed)
        let layer = try v.make(config: cfg, rng: &rng)
        if let mla = layer as? MultiHeadLatentAttention { mla.path = path }
        if let weights { try layer.loadWeights(from: SafeTensorsFile.read(from: weights)) }
        let x = try LayerIO.readInput(path: input, hiddenSize: layer.config.hiddenSize)
        var result = try LayerIO.run(layer, input: x, decode: decode)
        if prefill {
            let cache = layer.makeCache(batch: x.shape[0], capacity: x.shape[1])
            let yPrefill = layer.step(x, cache: cache)  // step records no graph
            result = try SafeTensorsFile(tensors: result.names.map { ($0, try result.tensor(named: $0)) } + [("y_prefill", yPrefill)],
                                         metadata: result.metadata)
        }
        if let saveWeights { try layer.weightsFile(metadata: ["variant": v.rawValue]).write(to: saveWeights) }
        try result.write(to: output)
        print("wrote \(output): y \(x.shape)\(decode ? " and y_decode" : "")\(prefill ? " and y_prefill" : "") for \(v.rawValue)")
    }
}
