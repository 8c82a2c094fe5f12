// Training and decode throughput (throughput): numbers only (no files); no claims.

extension ReportGenerator {
    mutating func throughput(_ f: ResultsFile) throws {
        for v in Self.variants {
            numbers.add("TrainTokS" + macroWord(v), try f.value("tokens_per_second", ["variant": v, "phase": "train"]), decimals: 0, "\(v) training tokens/s")
            numbers.add("DecodeTokS" + macroWord(v), try f.value("tokens_per_second", ["variant": v, "phase": "decode"]), decimals: 0, "\(v) decode tokens/s")
        }
        if let r = f.rows("tokens_per_second").first {
            numbers.add("ThroughputDecodeContext", r["decode_context"], "decode prompt length in the throughput experiment")
        }
    }
}
