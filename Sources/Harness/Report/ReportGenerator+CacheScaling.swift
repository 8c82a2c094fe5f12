// The KV cache against context at the reference layer (kv-cache-scaling): numbers only
// (no files); claims kv-measured-equals-analytic and one-kv-head-cache.

import Attention
import Foundation

extension ReportGenerator {
    mutating func kvScaling(_ f: ResultsFile) throws {
        var worst = 0.0, measuredCount = 0
        for r in f.rows("measured_bytes") {
            let analytic = try f.value("analytic_bytes", ["variant": r.variant, "context": r["context"]])
            worst = max(worst, abs(r.value - analytic) / analytic)
            measuredCount += 1
        }
        numbers.add("KVScalingMeasuredPoints", String(measuredCount), "measured cache sizes")
        claim(.kvMeasuredEqualsAnalytic, measuredCount > 0 && worst == 0,
              "\(measuredCount) points, worst relative difference \(worst)")
        let contexts = f.distinct("context").compactMap(Int.init).sorted()
        guard let maxContext = contexts.last else { throw HarnessError.failed("report: kv-cache-scaling has no contexts") }
        numbers.add("KVScalingMaxContext", Double(maxContext), decimals: 0, "largest context")
        let mib = 1024.0 * 1024
        for v in Self.variants {
            let bytes = try f.value("analytic_bytes", ["variant": v, "context": String(maxContext)])
            numbers.add("KVAtMax" + macroWord(v), bytes / mib, decimals: 1, "\(v) MiB at the largest context")
        }
        // The baseline against the mechanisms that keep one kv head (MQA) at the reference size.
        let baseline = Variant.baseline
        let ref = Variant.reference
        let oneKVHead = Variant.allCases.filter { v in
            v.referenceFamily == .softmax && v.cacheGrowth == .perToken && (try? v.resolve(ref))?.numKVHeads == 1
        }
        func elements(_ v: Variant) throws -> Double {
            try f.value("analytic_elements_per_token_per_layer", ["variant": v.rawValue, "context": String(maxContext)])
        }
        let full = try elements(baseline)
        numbers.add("RefMHAElements", full, decimals: 0, "reference \(baseline.rawValue) (baseline) elements per token per layer")
        if let first = oneKVHead.first {
            numbers.add("RefMQAElements", try elements(first), decimals: 0, "reference \(first.rawValue) (one kv head) elements per token per layer")
        }
        numbers.add("RefHeads", Double(ref.numHeads), decimals: 0, "reference heads")
        numbers.add("RefDModel", Double(ref.hiddenSize), decimals: 0, "reference d_model")
        numbers.add("RefHeadDim", Double(ref.headDim), decimals: 0, "reference head dim")
        numbers.add("RefKVHeads", Double(ref.numKVHeads), decimals: 0, "reference kv heads (gqa, swa)")
        numbers.add("RefLatent", Double(ref.kvLoraRank), decimals: 0, "reference MLA d_c")
        numbers.add("RefRope", Double(ref.qkRopeHeadDim), decimals: 0, "reference MLA d_h^R")
        let oneKV = try oneKVHead.map { ($0, try elements($0)) }
        claim(.oneKVHeadCache, !oneKV.isEmpty && oneKV.allSatisfy { full / $0.1 == Double(ref.numHeads) },
              "\(baseline.rawValue) \(full); " + oneKV.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", "))
    }
}
