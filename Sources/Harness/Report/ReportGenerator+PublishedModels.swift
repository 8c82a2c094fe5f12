// The KV cache of published models (kv-cache-models): kv-models.tex/.md and table1.tex
// (DeepSeek-V2's Table 1); claims dsv2-table1, deepseek-v3-57x, mistral-window, gemma3-local.

import Attention
import Foundation

extension ReportGenerator {
    mutating func kvModels(_ f: ResultsFile) throws {
        let models = f.distinct("variant")
        var table = ReportTable(columns: [("model", "l"), ("attention", "l"), ("layers", "r"), ("elements/token/layer", "r"),
                                          ("KiB/token", "r"), ("4k (GiB)", "r"), ("32k (GiB)", "r"), ("128k (GiB)", "r")], rows: [])
        let gib = 1024.0 * 1024 * 1024
        for m in models {
            let perLayer = f.rows("elements_per_token_per_layer", ["variant": m])
            // "gqa" or, with sliding-window layers, "gqa, local w 4096".
            let base = Array(Set(perLayer.map { String($0["layer_kind"].split(separator: "-").first ?? "") })).sorted()
            let windows = Array(Set(perLayer.compactMap { r -> String? in
                let k = r["layer_kind"]
                return k.contains("-sliding-") ? String(k.split(separator: "-").last!) : nil
            })).sorted()
            let kinds = [base.map { $0.uppercased() }.joined(separator: "/") + (windows.isEmpty ? "" : ", local w " + windows.joined(separator: "/"))]
            let perLayerText = Array(Set(perLayer.map { formatNumber($0.value, decimals: 0) })).sorted().joined(separator: "/")
            let layers = try f.value("layers", ["variant": m]), sliding = try f.value("sliding_layers", ["variant": m])
            let layerText = sliding > 0 ? "\(formatNumber(layers, decimals: 0)) (\(formatNumber(sliding, decimals: 0)) local)" : formatNumber(layers, decimals: 0)
            let bytes = try f.value("bytes_per_token", ["variant": m])
            var row = [m, kinds.joined(separator: " + "), layerText, perLayerText, formatNumber(bytes / 1024, decimals: 1)]
            for n in ["4096", "32768", "131072"] {
                row.append(formatNumber(try f.value("cache_bytes", ["variant": m, "context": n]) / gib, decimals: 2))
            }
            table.rows.append(row)
        }
        files["kv-models.tex"] = table.latex
        files["kv-models.md"] = table.markdown

        // DeepSeek-V3/R1: MLA against MHA with the same heads (DeepSeek-V2 Table 1's formulas).
        let v3 = ["variant": "deepseek-v3"]
        let mla = try f.value("elements_per_token_per_layer", v3)
        let mhaEq = try f.value("mha_equivalent_elements_per_token_per_layer", v3)
        let reduction = try f.value("mla_reduction_vs_mha", v3)
        numbers.add("DSVThreeMLAElements", mla, decimals: 0, "DeepSeek-V3 MLA elements per token per layer")
        numbers.add("DSVThreeMHAElements", mhaEq, decimals: 0, "MHA-equivalent elements per token per layer")
        numbers.add("DSVThreeReduction", reduction, decimals: 1, "MLA reduction against MHA")
        numbers.add("DSVThreeKiBPerToken", try f.value("bytes_per_token", v3) / 1024, decimals: 1, "DeepSeek-V3 KiB per token, bf16")
        // DeepSeek-V2 Table 1's formulas at DeepSeek-V2's sizes (GQA shown with 8 groups).
        let v2 = ["variant": "deepseek-v2"]
        let nh = Int(try f.value("attention_heads", v2)), dh = Int(try f.value("head_dim", v2)), l = Int(try f.value("layers", v2))
        let dc = Int(try f.value("kv_lora_rank", v2)), dr = Int(try f.value("qk_rope_head_dim", v2))
        let groups = 8
        let mhaV2 = Double(DeepSeekV2Table1.mha(nHeads: nh, headDim: dh, layers: l))
        var t1 = ReportTable(columns: [("mechanism", "l"), ("KV cache per token", "l"), ("DeepSeek-V2 sizes", "r"), ("vs MHA", "r")], rows: [])
        let formulas: [(String, String, Double)] = [
            ("MHA", "$2 n_h d_h l$", mhaV2),
            ("GQA (\(groups) groups)", "$2 n_g d_h l$", Double(DeepSeekV2Table1.gqa(groups: groups, headDim: dh, layers: l))),
            ("MQA", "$2 d_h l$", Double(DeepSeekV2Table1.mqa(headDim: dh, layers: l))),
            ("MLA", "$(d_c + d_h^R)\\, l \\approx \\tfrac{9}{2} d_h l$", Double(DeepSeekV2Table1.mla(latentDim: dc, ropeDim: dr, layers: l))),
        ]
        for (name, formula, value) in formulas {
            t1.rows.append([name, formula, formatNumber(value, decimals: 0), formatNumber(mhaV2 / value, decimals: 1) + "×"])
        }
        files["table1.tex"] = t1.latex
        numbers.add("TableOneGroups", Double(groups), decimals: 0, "GQA groups shown in Table 1")
        numbers.add("MLAEquivGroups", DeepSeekV2Table1.mlaEquivalentGQAGroups, decimals: 2, "GQA groups with MLA's cache at d_c = 4 d_h")
        numbers.add("BytesPerElement", f.rows("bytes_per_token").first?["bytes_per_element"] ?? "", "bytes per cached element")
        let mistralWindow = f.rows("elements_per_token_per_layer", ["variant": "mistral-7b"]).first?["layer_kind"].split(separator: "-").last.map(String.init) ?? ""
        numbers.add("MistralWindow", mistralWindow, "Mistral-7B sliding window")
        numbers.add("DSVTwoHeads", Double(nh), decimals: 0, "DeepSeek-V2 heads")
        numbers.add("DSVTwoHeadDim", Double(dh), decimals: 0, "DeepSeek-V2 head dim")
        numbers.add("DSVTwoLayers", Double(l), decimals: 0, "DeepSeek-V2 layers")
        numbers.add("DSVTwoLatent", Double(dc), decimals: 0, "DeepSeek-V2 d_c")
        numbers.add("DSVTwoRope", Double(dr), decimals: 0, "DeepSeek-V2 d_h^R")
        claim(.dsv2Table1, dc == 4 * dh && 2 * dr == dh && Double(DeepSeekV2Table1.mla(latentDim: dc, ropeDim: dr, layers: l)) == DeepSeekV2Table1.mlaPaperChoice(headDim: dh, layers: l),
              "d_c \(dc), d_h^R \(dr), d_h \(dh)")

        claim(.deepseekV3Reduction, mla == 576 && mhaEq == 32768 && abs(reduction - 56.9) < 0.1, "MLA \(mla), MHA equivalent \(mhaEq), ratio \(reduction)")

        let llama2 = ["variant": "llama-2-7b"]
        numbers.add("LlamaTwoKiBPerToken", try f.value("bytes_per_token", llama2) / 1024, decimals: 0, "Llama-2-7B KiB per token")
        numbers.add("LlamaTwoLongGiB", try f.value("cache_bytes", llama2.merging(["context": "131072"]) { $1 }) / gib, decimals: 0, "Llama-2-7B GiB at 128k")
        let llama3 = ["variant": "llama-3-70b"]
        numbers.add("LlamaThreeSeventyKiBPerToken", try f.value("bytes_per_token", llama3) / 1024, decimals: 0, "Llama-3-70B KiB per token")
        numbers.add("LlamaThreeSeventyLongGiB", try f.value("cache_bytes", llama3.merging(["context": "131072"]) { $1 }) / gib, decimals: 0, "Llama-3-70B GiB at 128k")

        // Sliding-window layers: Mistral's cache stops growing at its window; Gemma 3's local layers cut its long-context cache.
        let mistral4k = try f.value("cache_bytes", ["variant": "mistral-7b", "context": "4096"])
        let mistral32k = try f.value("cache_bytes", ["variant": "mistral-7b", "context": "32768"])
        claim(.mistralWindow, mistral32k == mistral4k,
              "4k \(mistral4k) B, 32k \(mistral32k) B")
        let gemma = models.first { $0.hasPrefix("gemma-3") } ?? "gemma-3"
        let gemmaLong = try f.value("cache_bytes", ["variant": gemma, "context": "131072"])
        let gemmaAllGlobal = try f.value("bytes_per_token", ["variant": gemma]) * 131072
        let gemmaCut = gemmaAllGlobal / gemmaLong
        numbers.add("GemmaThreeLongCut", gemmaCut, decimals: 1, "Gemma 3 cache at 128k, all-global / actual")
        numbers.add("GemmaThreeName", gemma, "the Gemma 3 model in configs/models")
        claim(.gemma3Local, gemmaCut > 3, "ratio \(gemmaCut)")
    }
}
