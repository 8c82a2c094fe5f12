// The registry of KV-cache policies: methods that keep a standard model and compress its
// cache at inference (StreamingLLM, H2O, TOVA, SnapKV, quantised caches), the other family
// of KV-cache savings beside the architectures. Like `Variant` for mechanisms, an enum the
// compiler checks: a new policy is one file with a `CachePolicyDescriptor`, a case here
// and its line in `descriptor`; the CLI and the evaluation pick it up from `allCases`.
//
// A policy composes with the mechanisms whose cache keeps every token (MHA, GQA, MQA, and
// MLA's latent cache where the method applies; a sliding window already decides what to
// keep): it manages a `PolicyKVCache` in place of the mechanism's own cache, and is
// applied once, at the boundary between a prompt's context and its questions (kvpress's
// rule: the context is compressed, the questions are not, which keeps query-aware
// methods honest).

import Attention

public enum CachePolicy: String, CaseIterable, Codable, Sendable {
    case full, streaming
    case streamingRenumbered = "streaming-renumbered"
    case recent, h2o, tova, snapkv, pyramidkv, int8, kivi

    /// The method behind each id.
    public var descriptor: any CachePolicyDescriptor.Type {
        switch self {
        case .full: return FullCache.self
        case .streaming: return StreamingLLM.self
        case .streamingRenumbered: return StreamingLLMRenumbered.self
        case .recent: return RecentWindow.self
        case .h2o: return HeavyHitterOracle.self
        case .tova: return TokenOmissionViaAttention.self
        case .snapkv: return SnapKV.self
        case .pyramidkv: return PyramidKV.self
        case .int8: return Int8PerToken.self
        case .kivi: return KIVI.self
        }
    }

    public var summary: String { descriptor.summary }
    public var displayName: String { descriptor.displayName }
    public var kind: CachePolicyKind { descriptor.kind }

    /// Unknown ids get the list of valid ones.
    public static func parse(_ id: String) throws -> CachePolicy {
        guard let p = CachePolicy(rawValue: id) else {
            throw CachePolicyError("unknown cache policy '\(id)'; valid: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return p
    }
}

/// What a policy does to the context's cache.
public enum CachePolicyKind: String, Sendable {
    /// Keeps every entry as it is (the reference).
    case none
    /// Drops entries: a fraction `ratio` of the context's, chosen by the method's scores.
    case eviction
    /// Keeps every entry at fewer bits (`bits`), with the scales and zero points it needs.
    case quantisation
}

/// How hard to compress. `ratio` follows kvpress: the fraction of the context's entries
/// removed (0 keeps all, 0.75 keeps a quarter); `bits` is the code width of a quantising
/// policy. The other fields are the methods' own settings, scaled from their papers'
/// long contexts to the short sequences trained here (docs/cache-policies.md says how).
public struct CachePolicySettings: Sendable, Equatable {
    public var ratio: Double = 0
    public var bits: Int = 8
    /// StreamingLLM: the first s tokens kept as attention sinks (the paper's 4).
    public var sinks = 4
    /// SnapKV: the last w context queries whose attention scores the prefix (kvpress and
    /// SnapKV use 32–64 at 4k+ tokens; 8 here, and at most a quarter of the context).
    public var observationWindow = 8
    /// SnapKV: width of the average pooling over positions (the paper's 5).
    public var poolingKernel = 5
    /// PyramidKV: the last layer keeps 1/β of the average layer's budget (the paper's 20).
    public var pyramidBeta = 20.0
    /// KIVI: tokens per key-quantisation group, and the recent tokens kept at full
    /// precision (the paper's 32 and 128 at 4k+ tokens; 4 and 4 here, so that a context
    /// of 8 tokens, MQAR's 4 pairs, still has a group quantised).
    public var groupSize = 4
    public var residual = 4

    public init(ratio: Double = 0, bits: Int = 8) {
        self.ratio = ratio
        self.bits = bits
    }

    /// Entries kept of n under an eviction ratio: n − ⌊ratio · n⌋ (never fewer than one).
    public func budget(of n: Int) -> Int { max(min(n, 1), n - Int((ratio * Double(n)).rounded(.down))) }
}

/// What the registry needs to know about a policy.
public protocol CachePolicyDescriptor {
    /// One line for `attnlab policies`.
    static var summary: String { get }
    /// The name in tables, legends and prose ("SnapKV").
    static var displayName: String { get }
    static var kind: CachePolicyKind { get }
    /// The code widths a quantising policy supports (empty for the others).
    static var supportedBits: [Int] { get }
    /// Why the policy cannot manage MLA's latent cache (nil: it can).
    static var latentCacheRefusal: String? { get }
    /// Compresses one layer's cache at the context boundary.
    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings)
    /// Compresses layer `layer` (from 0, the input side) of `layers`; the same for every
    /// layer unless the policy budgets by depth (PyramidKV).
    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings, layer: Int, of layers: Int)
}

extension CachePolicyDescriptor {
    public static var supportedBits: [Int] { [] }
    public static var latentCacheRefusal: String? { nil }
    public static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings, layer: Int, of layers: Int) {
        compress(cache, settings: settings)
    }
}

public struct CachePolicyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

extension CachePolicy {
    /// Why the policy cannot manage a cache of `variant` (nil: it can).
    public func refusal(for variant: Variant) -> String? {
        variant.referenceFamily == .latent ? descriptor.latentCacheRefusal : nil
    }

    /// Checks a policy and its settings, naming the bad value and the valid ones.
    public func validate(_ s: CachePolicySettings) throws {
        guard s.ratio >= 0 && s.ratio < 1 else {
            throw CachePolicyError("ratio = \(s.ratio) is invalid: the fraction of the context's cache removed, in [0, 1)")
        }
        switch kind {
        case .none:
            if s.ratio != 0 { throw CachePolicyError("ratio = \(s.ratio) does not apply to \(rawValue), which keeps the whole cache") }
        case .eviction:
            break
        case .quantisation:
            if s.ratio != 0 { throw CachePolicyError("ratio = \(s.ratio) does not apply to \(rawValue), which quantises; give bits") }
            let valid = descriptor.supportedBits
            guard valid.contains(s.bits) else {
                throw CachePolicyError("bits = \(s.bits) is invalid for \(rawValue); valid: \(valid.map(String.init).joined(separator: ", "))")
            }
        }
    }
}

/// The policy that keeps the whole cache: the uncompressed model every curve is compared to.
enum FullCache: CachePolicyDescriptor {
    static let summary = "the whole cache, uncompressed (the reference line)"
    static let displayName = "Full cache"
    static let kind = CachePolicyKind.none
    static func compress(_ cache: PolicyKVCache, settings: CachePolicySettings) {}
}
