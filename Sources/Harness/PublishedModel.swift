// What a published model keeps in its KV cache, read from its Hugging Face style config.json.
//
// The parser reads only the fields that decide the cache (and the usual architecture fields it
// reports), records every field it used and every default it applied, and throws a
// `PublishedModelError` that names the file, the field, the bad value and what is valid.
// The arithmetic on the result (elements per token, bytes at a context) is in KVCacheCalculator.swift.

import Foundation
import Models

/// How one layer caches keys and values.
public enum KVLayerKind: String, Codable, Sendable, CaseIterable {
    /// Keys and values of every query head.
    case mha
    /// Keys and values of n_kv < n_h heads, each shared by a group of query heads.
    case gqa
    /// One key and one value head shared by all query heads.
    case mqa
    /// Multi-head latent attention: the latent c_KV (d_c) and one shared RoPE key (d_h^R).
    case mla
}

/// What one layer caches per token.
public struct KVLayerSpec: Codable, Sendable, Equatable {
    /// Position of the layer in the stack, from 0.
    public var index: Int
    public var kind: KVLayerKind
    /// Key/value heads (mha, gqa, mqa); 0 for mla.
    public var kvHeads: Int
    /// Width of one key or value head (mha, gqa, mqa); 0 for mla.
    public var headDim: Int
    /// d_c [kv_lora_rank] for mla, else nil.
    public var latentDim: Int?
    /// d_h^R [qk_rope_head_dim] for mla, else nil.
    public var ropeDim: Int?
    /// Sliding window w: the layer keeps at most w tokens. nil: a global layer.
    public var window: Int?

    public init(index: Int, kind: KVLayerKind, kvHeads: Int, headDim: Int,
                latentDim: Int? = nil, ropeDim: Int? = nil, window: Int? = nil) {
        self.index = index
        self.kind = kind
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.latentDim = latentDim
        self.ropeDim = ropeDim
        self.window = window
    }

    /// Elements cached per token: 2·n_kv·d_h, or d_c + d_h^R for mla.
    public var elementsPerToken: Int {
        switch kind {
        case .mla: return (latentDim ?? 0) + (ropeDim ?? 0)
        case .mha, .gqa, .mqa: return 2 * kvHeads * headDim
        }
    }

    /// Tokens held at a context of `context` tokens: min(context, w) for a sliding layer.
    public func cachedTokens(context: Int) -> Int {
        precondition(context >= 0, "context \(context) is negative")
        if let window { return min(context, window) }
        return context
    }

    /// Elements held at a context of `context` tokens.
    public func cachedElements(context: Int) -> Int {
        elementsPerToken * cachedTokens(context: context)
    }

    /// The same layer without its index, to group identical layers.
    var shape: KVLayerSpec {
        var s = self
        s.index = 0
        return s
    }

    /// "gqa 8 kv heads × 256", "mla d_c 512 + d_h^R 64", "mha 32 kv heads × 128".
    public var cacheDescription: String {
        switch kind {
        case .mla: return "mla d_c \(latentDim ?? 0) + d_h^R \(ropeDim ?? 0)"
        case .mqa: return "mqa 1 kv head × \(headDim)"
        case .mha, .gqa: return "\(kind.rawValue) \(kvHeads) kv heads × \(headDim)"
        }
    }
}

/// One field read from the config, with its value as written there.
public struct ConfigField: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A value the config did not give, and what was used instead.
public struct AppliedDefault: Codable, Sendable, Equatable {
    public var field: String
    public var value: String
    /// Why: "absent → = num_attention_heads".
    public var rule: String
    public init(field: String, value: String, rule: String) {
        self.field = field
        self.value = value
        self.rule = rule
    }
}

/// The MLA widths of a DeepSeek-style config (DeepSeek-V2 §2.1 names, HF names in brackets).
public struct MLADimensions: Codable, Sendable, Equatable {
    /// d_c [kv_lora_rank]
    public var kvLoraRank: Int
    /// d_h^R [qk_rope_head_dim]
    public var qkRopeHeadDim: Int
    /// d_nope [qk_nope_head_dim]
    public var qkNopeHeadDim: Int
    /// d_v [v_head_dim]
    public var vHeadDim: Int
    /// d_c' [q_lora_rank]; 0 = queries not compressed.
    public var qLoraRank: Int
}

/// A published model's attention layout, as far as the KV cache is concerned.
public struct PublishedModel: Codable, Sendable, Equatable {
    /// The file name without directory and extension ("deepseek-v3").
    public var name: String
    /// The file it was read from, as given.
    public var file: String
    /// "_source" of the file: where its values were taken from.
    public var source: String?
    public var modelType: String?
    public var architectures: [String]
    public var hiddenSize: Int?
    public var numLayers: Int
    public var numHeads: Int
    /// n_kv (for MLA configs: num_key_value_heads as written, usually = n_h; not what is cached).
    public var numKVHeads: Int
    /// d_h of mha/gqa/mqa layers; for MLA configs, qk_nope_head_dim.
    public var headDim: Int
    public var mla: MLADimensions?
    public var maxPositionEmbeddings: Int?
    public var vocabSize: Int?
    public var torchDtype: String?
    /// One entry per layer, in order.
    public var layers: [KVLayerSpec]
    /// Every field read, in the order read, with its value as written.
    public var fieldsUsed: [ConfigField]
    /// Every default applied.
    public var defaultsApplied: [AppliedDefault]
    /// Notes on how the layer pattern was decided (e.g. "use_sliding_window false: sliding_window ignored").
    public var notes: [String]

    /// The most layers, and the most query heads, a config may give: far above any
    /// published model (DeepSeek-V3: 61 layers, 128 heads), and small enough that a layer
    /// list and the divisor lists in messages stay cheap.
    public static let maxLayers = ModelConfig.maxLayers
    public static let maxHeads = 65_536
    /// The most elements a model may cache per token over all its layers, and the bound on
    /// every width and on MLA's multi-head equivalent: 2^26, about 400× Llama-3-70B's 163,840.
    /// At the kv-cache command's largest context (2^30 tokens) and element size (64 bytes),
    /// 2^26 elements per token is 2^62 bytes, so every count the calculator forms fits an Int.
    public static let maxElementsPerToken = 1 << 26

    /// Reads and checks a config.json file.
    public static func load(path: String) throws -> PublishedModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PublishedModelError(file: path, field: nil, reason: .unreadable,
                                      message: "cannot read config file '\(path)' (no such file, or not readable)")
        }
        return try parse(data: data, file: path)
    }

    /// Parses config.json bytes; `file` names the source in messages and gives `name`.
    public static func parse(data: Data, file: String) throws -> PublishedModel {
        var reader = try ConfigReader(data: data, file: file)
        return try reader.model()
    }
}

/// A mistake in a config.json that a user can make; the message names the file, the field,
/// the bad value and what is valid.
public struct PublishedModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        case unreadable, invalidJSON, notAnObject, missingField, wrongType, impossibleValue, unknownLayerType
    }
    public var file: String
    /// The offending field (nil when the file as a whole is wrong).
    public var field: String?
    public var reason: Reason
    public var message: String
    public var description: String { message }

    public init(file: String, field: String?, reason: Reason, message: String) {
        self.file = file
        self.field = field
        self.reason = reason
        self.message = message
    }
}

// MARK: - Reading

/// A parsed JSON value (platform-independent: Foundation's JSONSerialization types
/// booleans differently on Linux and Darwin).
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// As written in JSON (objects abbreviated).
    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[\(a.map(\.text).joined(separator: ", "))]"
        case .object: return "an object"
        }
    }

    /// An exact integer (also 32.0), else nil.
    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }
}

/// Reads fields from the JSON object, recording each one used.
private struct ConfigReader {
    let file: String
    /// The object holding the architecture fields (the top level, or text_config for multimodal configs).
    var object: [String: JSONValue]
    /// "text_config." when the fields come from a nested text config.
    var prefix = ""
    let top: [String: JSONValue]
    var used: [ConfigField] = []
    var defaults: [AppliedDefault] = []
    var notes: [String] = []

    init(data: Data, file: String) throws {
        self.file = file
        let parsed: JSONValue
        do {
            // JSONSerialization first: its errors say where the JSON breaks.
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw PublishedModelError(file: file, field: nil, reason: .invalidJSON,
                                      message: "config '\(file)' is not valid JSON: \(detail)")
        }
        do {
            parsed = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch DecodingError.dataCorrupted(let ctx) {
            let detail = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? ctx.debugDescription
            throw PublishedModelError(file: file, field: nil, reason: .invalidJSON,
                                      message: "config '\(file)' is not valid JSON: \(detail)")
        } catch {
            throw PublishedModelError(file: file, field: nil, reason: .invalidJSON,
                                      message: "config '\(file)' is not valid JSON: \(error)")
        }
        guard case .object(let obj) = parsed else {
            throw PublishedModelError(file: file, field: nil, reason: .notAnObject,
                                      message: "config '\(file)' is not a JSON object (found \(parsed.text)); expected {\"num_hidden_layers\": …, …}")
        }
        top = obj
        object = obj
        if obj["num_hidden_layers"] == nil, case .object(let text)? = obj["text_config"] {
            object = text
            prefix = "text_config."
        }
    }

    func fail(_ field: String?, _ reason: PublishedModelError.Reason, _ text: String) -> PublishedModelError {
        PublishedModelError(file: file, field: field.map { prefix + $0 }, reason: reason, message: "config '\(file)': \(text)")
    }

    /// The raw value, treating JSON null as absent.
    func raw(_ key: String) -> JSONValue? {
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    mutating func record(_ key: String, _ value: JSONValue) {
        used.append(ConfigField(name: prefix + key, value: value.text))
    }

    /// An integer field, or nil when absent or null. Rejects strings, fractions and booleans.
    mutating func optionalInt(_ key: String) throws -> Int? {
        guard let v = raw(key) else { return nil }
        guard let n = v.intValue else {
            throw fail(key, .wrongType, "\(prefix)\(key) = \(v.text) is not an integer (valid: a positive integer)")
        }
        record(key, v)
        return n
    }

    /// A required positive integer.
    mutating func requiredPositive(_ key: String, why: String) throws -> Int {
        guard let n = try optionalInt(key) else {
            let present = object[key] == .null ? " (it is null)" : ""
            throw fail(key, .missingField, "the required field '\(prefix)\(key)' is missing\(present); it gives \(why)")
        }
        return try positive(key, n)
    }

    func positive(_ key: String, _ n: Int) throws -> Int {
        guard n > 0 else {
            throw fail(key, .impossibleValue, "\(prefix)\(key) = \(n) is impossible (valid: a positive integer)")
        }
        return n
    }

    mutating func optionalPositive(_ key: String) throws -> Int? {
        guard let n = try optionalInt(key) else { return nil }
        return try positive(key, n)
    }

    /// `n`, when it is at most `limit`; `what` says what the limit is for.
    func atMost(_ key: String, _ n: Int, _ limit: Int, _ what: String) throws -> Int {
        guard n <= limit else {
            throw fail(key, .impossibleValue, "\(prefix)\(key) = \(n) is beyond the limit of \(limit) \(what) (valid: 1 … \(limit))")
        }
        return n
    }

    /// A width (d_h, d_c, d_h^R, …): at most the per-token element limit.
    func width(_ key: String, _ n: Int) throws -> Int {
        try atMost(key, n, PublishedModel.maxElementsPerToken, "elements per token (2^26)")
    }

    mutating func optionalString(_ key: String, from dict: [String: JSONValue]? = nil) -> String? {
        guard let v = (dict ?? object)[key], case .string(let s) = v else { return nil }
        record(key, v)
        return s
    }

    mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        guard case .bool(let b) = v else {
            throw fail(key, .wrongType, "\(prefix)\(key) = \(v.text) is not a boolean (valid: true, false)")
        }
        record(key, v)
        return b
    }

    static func divisors(_ n: Int) -> [Int] { (1...max(n, 1)).filter { n % $0 == 0 } }

    mutating func model() throws -> PublishedModel {
        let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var source: String?
        if case .string(let s)? = top["_source"] { source = s }
        let modelType = optionalString("model_type", from: object["model_type"] != nil ? object : top)
        var architectures: [String] = []
        if case .array(let a)? = top["architectures"] {
            architectures = a.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            used.append(ConfigField(name: "architectures", value: JSONValue.array(a).text))
        }

        let numLayers = try atMost("num_hidden_layers", requiredPositive("num_hidden_layers", why: "the number of layers l"),
                                   PublishedModel.maxLayers, "layers")
        let numHeads = try atMost("num_attention_heads", requiredPositive("num_attention_heads", why: "the number of query heads n_h"),
                                  PublishedModel.maxHeads, "heads")
        let hiddenSize = try optionalPositive("hidden_size")
        let maxPositions = try optionalPositive("max_position_embeddings")
        let vocabSize = try optionalPositive("vocab_size")
        let torchDtype = optionalString("torch_dtype")

        // Key/value heads.
        var numKV: Int
        if let kv = try optionalPositive("num_key_value_heads") {
            numKV = kv
        } else {
            numKV = numHeads
            defaults.append(AppliedDefault(field: prefix + "num_key_value_heads", value: "\(numHeads)",
                                           rule: "absent → = num_attention_heads (multi-head attention)"))
        }
        guard numHeads % numKV == 0 else {
            throw fail("num_key_value_heads", .impossibleValue,
                       "num_key_value_heads = \(numKV) is impossible: num_attention_heads \(numHeads) is not divisible by it (valid: a divisor of \(numHeads): \(ConfigReader.divisors(numHeads).map(String.init).joined(separator: ", ")))")
        }

        // MLA: a kv_lora_rank (not null) makes every layer cache the latent.
        var mla: MLADimensions?
        if raw("kv_lora_rank") != nil {
            let dc = try width("kv_lora_rank", requiredPositive("kv_lora_rank", why: "the latent width d_c"))
            let dr = try width("qk_rope_head_dim", requiredPositive("qk_rope_head_dim", why: "the shared RoPE key width d_h^R of MLA"))
            let dn = try width("qk_nope_head_dim", requiredPositive("qk_nope_head_dim", why: "the per-head key width d_nope of MLA"))
            let dv = try width("v_head_dim", requiredPositive("v_head_dim", why: "the per-head value width d_v of MLA"))
            var dq = 0
            if let q = try optionalInt("q_lora_rank") {
                guard q >= 0 else {
                    throw fail("q_lora_rank", .impossibleValue, "q_lora_rank = \(q) is impossible (valid: 0 or null for uncompressed queries, or a positive integer)")
                }
                dq = q
            } else {
                defaults.append(AppliedDefault(field: prefix + "q_lora_rank", value: "0", rule: "absent or null → queries not compressed"))
            }
            mla = MLADimensions(kvLoraRank: dc, qkRopeHeadDim: dr, qkNopeHeadDim: dn, vHeadDim: dv, qLoraRank: dq)
        }

        // Head width of ordinary layers.
        var headDim: Int
        if let mla {
            headDim = mla.qkNopeHeadDim
        } else if let d = try optionalPositive("head_dim") {
            headDim = try width("head_dim", d)
        } else {
            guard let hiddenSize else {
                throw fail("hidden_size", .missingField,
                           "the field 'hidden_size' is missing and so is 'head_dim'; one of them gives the head width d_h (head_dim, or hidden_size / num_attention_heads)")
            }
            guard hiddenSize % numHeads == 0 else {
                throw fail("hidden_size", .impossibleValue,
                           "hidden_size = \(hiddenSize) is not divisible by num_attention_heads = \(numHeads) and head_dim is absent (valid: give head_dim, or a hidden_size that is a multiple of \(numHeads))")
            }
            headDim = hiddenSize / numHeads
            guard headDim <= PublishedModel.maxElementsPerToken else {
                throw fail("hidden_size", .impossibleValue,
                           "hidden_size = \(hiddenSize) gives head_dim = hidden_size / num_attention_heads = \(headDim), beyond the limit of \(PublishedModel.maxElementsPerToken) elements per token (2^26) (valid: a hidden_size of at most \(PublishedModel.maxElementsPerToken) × num_attention_heads, or head_dim 1 … \(PublishedModel.maxElementsPerToken))")
            }
            defaults.append(AppliedDefault(field: prefix + "head_dim", value: "\(headDim)",
                                           rule: "absent → hidden_size / num_attention_heads = \(hiddenSize) / \(numHeads)"))
        }

        // What the calculator multiplies must fit: every factor is bounded above (n_h, n_kv and l
        // by 2^16, widths by 2^26), so these products cannot overflow before they are compared.
        let limit = PublishedModel.maxElementsPerToken
        if let mla {
            let perLayer = mla.kvLoraRank + mla.qkRopeHeadDim
            if perLayer * numLayers > limit {
                throw fail("num_hidden_layers", .impossibleValue,
                           "the KV cache would hold \(perLayer * numLayers) elements per token (num_hidden_layers \(numLayers) × (kv_lora_rank \(mla.kvLoraRank) + qk_rope_head_dim \(mla.qkRopeHeadDim))), beyond the limit of \(limit) (2^26) (valid: configs that cache at most \(limit) elements per token over all layers)")
            }
            let mhaEquivalent = numHeads * (mla.qkNopeHeadDim + mla.vHeadDim) * numLayers
            if mhaEquivalent > limit {
                throw fail("num_hidden_layers", .impossibleValue,
                           "the multi-head equivalent of this MLA config would cache \(mhaEquivalent) elements per token (num_hidden_layers \(numLayers) × num_attention_heads \(numHeads) × (qk_nope_head_dim \(mla.qkNopeHeadDim) + v_head_dim \(mla.vHeadDim))), beyond the limit of \(limit) (2^26) (valid: configs whose multi-head equivalent caches at most \(limit) elements per token over all layers)")
            }
        } else {
            let perLayer = 2 * numKV * headDim
            if perLayer * numLayers > limit {
                throw fail("num_hidden_layers", .impossibleValue,
                           "the KV cache would hold \(perLayer * numLayers) elements per token (num_hidden_layers \(numLayers) × 2 × num_key_value_heads \(numKV) × head_dim \(headDim)), beyond the limit of \(limit) (2^26) (valid: configs that cache at most \(limit) elements per token over all layers)")
            }
        }

        let windows = try layerWindows(numLayers: numLayers, modelType: modelType, isMLA: mla != nil)

        let layers: [KVLayerSpec] = (0..<numLayers).map { i in
            if let mla {
                return KVLayerSpec(index: i, kind: .mla, kvHeads: 0, headDim: 0,
                                   latentDim: mla.kvLoraRank, ropeDim: mla.qkRopeHeadDim, window: windows[i])
            }
            let kind: KVLayerKind = numKV == numHeads ? .mha : (numKV == 1 ? .mqa : .gqa)
            return KVLayerSpec(index: i, kind: kind, kvHeads: numKV, headDim: headDim, window: windows[i])
        }

        return PublishedModel(
            name: name, file: file, source: source, modelType: modelType, architectures: architectures,
            hiddenSize: hiddenSize, numLayers: numLayers, numHeads: numHeads, numKVHeads: numKV, headDim: headDim,
            mla: mla, maxPositionEmbeddings: maxPositions, vocabSize: vocabSize, torchDtype: torchDtype,
            layers: layers, fieldsUsed: used, defaultsApplied: defaults, notes: notes)
    }

    /// The window of each layer (nil = global), from layer_types, the Gemma patterns,
    /// use_sliding_window / max_window_layers (Qwen2) or a plain sliding_window (Mistral).
    mutating func layerWindows(numLayers: Int, modelType: String?, isMLA: Bool) throws -> [Int?] {
        let windowPresent = raw("sliding_window") != nil
        func window() throws -> Int {
            guard let v = raw("sliding_window") else {
                throw fail("sliding_window", .missingField,
                           "the layer pattern has sliding layers but 'sliding_window' is missing or null (valid: a positive integer)")
            }
            guard let n = v.intValue else {
                throw fail("sliding_window", .wrongType, "sliding_window = \(v.text) is not an integer (valid: a positive integer)")
            }
            guard n > 0 else {
                throw fail("sliding_window", .impossibleValue, "sliding_window = \(n) is impossible (valid: a positive integer, the number of tokens a sliding layer keeps)")
            }
            record("sliding_window", v)
            return n
        }

        // 1. An explicit list of layer types.
        if let v = raw("layer_types") {
            guard case .array(let types) = v else {
                throw fail("layer_types", .wrongType, "layer_types = \(v.text) is not a list (valid: a list of \"sliding_attention\" / \"full_attention\", one per layer)")
            }
            guard types.count == numLayers else {
                throw fail("layer_types", .impossibleValue, "layer_types has \(types.count) entries but num_hidden_layers = \(numLayers) (valid: exactly one entry per layer)")
            }
            var result: [Int?] = []
            var w: Int?
            for (i, t) in types.enumerated() {
                switch t {
                case .string("full_attention"): result.append(nil)
                case .string("sliding_attention"):
                    if w == nil { w = try window() }
                    result.append(w)
                default:
                    throw fail("layer_types", .unknownLayerType,
                               "layer_types[\(i)] = \(t.text) is an unknown layer type (valid: \"sliding_attention\", \"full_attention\")")
                }
            }
            used.append(ConfigField(name: prefix + "layer_types", value: "\(result.filter { $0 != nil }.count) sliding_attention, \(result.filter { $0 == nil }.count) full_attention"))
            return result
        }

        // 2. Gemma 3: every pattern-th layer is global ((i + 1) % pattern == 0), the rest slide.
        for key in ["sliding_window_pattern", "_sliding_window_pattern"] where raw(key) != nil {
            guard let pattern = try optionalInt(key), pattern > 0 else {
                throw fail(key, .impossibleValue, "\(key) = \(raw(key)!.text) is impossible (valid: a positive integer p: every p-th layer is global)")
            }
            let w = try window()
            notes.append("\(key) \(pattern): layer i is global when (i + 1) is a multiple of \(pattern), else sliding (Gemma 3)")
            return (0..<numLayers).map { ($0 + 1) % pattern == 0 ? nil : w }
        }

        // 3. Gemma 2: even-indexed layers slide, odd-indexed layers are global.
        if modelType == "gemma2" {
            let w = try window()
            notes.append("model_type gemma2: even-indexed layers sliding, odd-indexed layers global (HF Gemma2)")
            return (0..<numLayers).map { $0 % 2 == 0 ? w : nil }
        }

        // 4. Qwen2-style switch.
        if let useSliding = try optionalBool("use_sliding_window") {
            if !useSliding {
                if let v = object["sliding_window"] { record("sliding_window", v) }
                if windowPresent {
                    notes.append("use_sliding_window false: sliding_window \(raw("sliding_window")!.text) is not used; every layer is global")
                } else {
                    notes.append("use_sliding_window false: every layer is global")
                }
                return Array(repeating: nil, count: numLayers)
            }
            let w = try window()
            let first: Int
            if let m = try optionalInt("max_window_layers") {
                guard m >= 0 else {
                    throw fail("max_window_layers", .impossibleValue, "max_window_layers = \(m) is impossible (valid: 0 … \(numLayers))")
                }
                first = min(m, numLayers)
            } else {
                first = 0
                defaults.append(AppliedDefault(field: prefix + "max_window_layers", value: "0", rule: "absent → every layer slides"))
            }
            notes.append("use_sliding_window true: layers \(first) … \(numLayers - 1) sliding, the first \(first) global (HF Qwen2)")
            return (0..<numLayers).map { $0 >= first ? w : nil }
        }

        // 5. A plain sliding_window applies to every layer (Mistral).
        if windowPresent {
            let w = try window()
            notes.append("sliding_window \(w) with no layer pattern: every layer is sliding")
            return Array(repeating: w, count: numLayers)
        }
        return Array(repeating: nil, count: numLayers)
    }
}
