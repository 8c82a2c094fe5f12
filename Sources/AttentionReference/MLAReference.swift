// The readable reference; plain loops, no BLAS. This file promises multi-head latent
// attention (DeepSeek-V2 §2.1 / V3, HF modeling_deepseek weight names) in two forms:
// `mla`, the naive path that expands every head's keys and values from the latent c_KV,
// and `mlaAbsorbedDecode`, one decode step that attends in the latent space (W_UK folded
// into the query, W_UV applied after attending). Token by token from an empty cache, the
// second equals the first.
//
// Legend: dn = qkNopeHeadDim, dr = qkRopeHeadDim (R), dv = vHeadDim, dc = kvLoraRank (L).

extension ReferenceAttention {
    /// Names and shapes of MLA's weights ([out, in]). With qLoraRank == 0 the query is one
    /// projection "q_proj.weight"; otherwise "q_a_proj.weight", "q_a_layernorm.weight", "q_b_proj.weight".
    public static func mlaWeightShapes(config: ReferenceConfig) -> [String: [Int]] {
        let C = config.hidden, H = config.heads
        let dn = config.qkNopeHeadDim, dr = config.qkRopeHeadDim, dv = config.vHeadDim, dc = config.kvLoraRank
        var shapes: [String: [Int]] = [
            "kv_a_proj_with_mqa.weight": [dc + dr, C],
            "kv_a_layernorm.weight": [dc],
            "kv_b_proj.weight": [H * (dn + dv), dc],
            "o_proj.weight": [C, H * dv],
        ]
        if config.qLoraRank == 0 {
            shapes["q_proj.weight"] = [H * (dn + dr), C]
        } else {
            shapes["q_a_proj.weight"] = [config.qLoraRank, C]
            shapes["q_a_layernorm.weight"] = [config.qLoraRank]
            shapes["q_b_proj.weight"] = [H * (dn + dr), config.qLoraRank]
        }
        return shapes
    }

    /// MLA over the whole sequence at once, naive: per head k_nope_h and v_h are expanded from
    /// c_KV by kv_b_proj. x: [B, T, C]; returns [B, T, C]; token t sits at position positionOffset + t.
    ///   score(t, s) = (q_nope_h(t)·k_nope_h(s) + q_pe_h(t)·k_pe(s)) / sqrt(dn + dr), causal softmax over s ≤ t,
    ///   o_h(t) = Σ_s p·v_h(s),  out(t) = W_o·concat_h o_h(t).
    public static func mla(
        x: [Double], batch: Int, length: Int, config: ReferenceConfig, weights: ReferenceWeights,
        positionOffset: Int = 0
    ) -> [Double] {
        let C = config.hidden, H = config.heads
        let dn = config.qkNopeHeadDim, dr = config.qkRopeHeadDim, dv = config.vHeadDim
        checkMLAConfig(config)
        checkInput(x, batch: batch, length: length, hidden: C)
        checkReferenceWeights(weights, mlaWeightShapes(config: config))
        let wkvB = weights["kv_b_proj.weight"]!, wo = weights["o_proj.weight"]!
        let scale = 1.0 / Double(dn + dr).squareRoot()

        var out = [Double](repeating: 0, count: batch * length * C)  // [B, T, C]
        for b in 0..<batch {
            var tokens = [MLATokenProjection]()  // [T]
            var kNopeTHN = [[[Double]]]()        // [T][H][dn]
            var vTHV = [[[Double]]]()            // [T][H][dv]
            for t in 0..<length {
                let xC = tokenRow(x, b: b, t: t, length: length, hidden: C)
                let token = mlaProject(xC, position: positionOffset + t, config: config, weights: weights)
                let kvHNV = matVec(wkvB, token.latentL)  // [H·(dn+dv)]
                kNopeTHN.append((0..<H).map { h in slice(kvHNV, h * (dn + dv), dn) })
                vTHV.append((0..<H).map { h in slice(kvHNV, h * (dn + dv) + dn, dv) })
                tokens.append(token)
            }

            for t in 0..<length {
                var concatHV = [Double]()  // [H·dv]
                for h in 0..<H {
                    let scores = (0...t).map { s in
                        (dot(tokens[t].qNopeHN[h], kNopeTHN[s][h]) + dot(tokens[t].qRopeHR[h], tokens[s].kRopeR)) * scale
                    }
                    let probs = softmax(scores)
                    var oV = [Double](repeating: 0, count: dv)  // [dv]
                    for s in 0...t {
                        for d in 0..<dv { oV[d] += probs[s] * vTHV[s][h][d] }
                    }
                    concatHV += oV
                }
                let outC = matVec(wo, concatHV)
                for c in 0..<C { out[(b * length + t) * C + c] = outC[c] }
            }
        }
        return out
    }

    /// One MLA decode step in the latent space, for one sequence.
    ///
    /// xToken: [C], the new token at absolute position `position`. cachedLatent: per past token
    /// its c_KV [dc]; cachedRopeKey: per past token its rotated k_pe [dr]. The new token's c_KV
    /// and rotated k_pe are appended to the cache (and returned), then per head h, with
    /// W_UK_h = kv_b_proj rows h·(dn+dv) ..< h·(dn+dv)+dn ([dn, dc]) and W_UV_h the next dv rows ([dv, dc]):
    ///   q̃_h = W_UK_hᵀ q_nope_h [dc];  score(s) = (q̃_h·c_KV(s) + q_pe_h·k_pe(s)) / sqrt(dn + dr);
    ///   o_latent_h = Σ_s p(s)·c_KV(s) [dc];  o_h = W_UV_h·o_latent_h [dv];  out = W_o·concat_h o_h.
    public static func mlaAbsorbedDecode(
        xToken: [Double], position: Int, cachedLatent: [[Double]], cachedRopeKey: [[Double]],
        config: ReferenceConfig, weights: ReferenceWeights
    ) -> (out: [Double], newLatent: [Double], newRopeKey: [Double]) {
        let C = config.hidden, H = config.heads
        let dn = config.qkNopeHeadDim, dr = config.qkRopeHeadDim, dv = config.vHeadDim, dc = config.kvLoraRank
        checkMLAConfig(config)
        precondition(xToken.count == C, "xToken has \(xToken.count) values, expected C = \(C)")
        precondition(cachedLatent.count == cachedRopeKey.count,
                     "cache holds \(cachedLatent.count) latents but \(cachedRopeKey.count) rope keys")
        for (s, latent) in cachedLatent.enumerated() {
            precondition(latent.count == dc, "cached latent \(s) has \(latent.count) values, expected d_c = \(dc)")
        }
        for (s, ropeKey) in cachedRopeKey.enumerated() {
            precondition(ropeKey.count == dr, "cached rope key \(s) has \(ropeKey.count) values, expected d_h^R = \(dr)")
        }
        checkReferenceWeights(weights, mlaWeightShapes(config: config))
        let wkvB = weights["kv_b_proj.weight"]!, wo = weights["o_proj.weight"]!
        let scale = 1.0 / Double(dn + dr).squareRoot()

        let token = mlaProject(xToken, position: position, config: config, weights: weights)
        let latentSL = cachedLatent + [token.latentL]  // [S][dc], the new token last
        let ropeKeySR = cachedRopeKey + [token.kRopeR]  // [S][dr]
        let S = latentSL.count

        var concatHV = [Double]()  // [H·dv]
        for h in 0..<H {
            let ukRow0 = h * (dn + dv)  // first row of W_UK_h in kv_b_proj
            let uvRow0 = ukRow0 + dn    // first row of W_UV_h
            // q̃_h[c] = Σ_i W_UK_h[i][c]·q_nope_h[i]
            var qAbsorbedL = [Double](repeating: 0, count: dc)  // [dc]
            for i in 0..<dn {
                for c in 0..<dc { qAbsorbedL[c] += wkvB.values[(ukRow0 + i) * dc + c] * token.qNopeHN[h][i] }
            }
            let scores = (0..<S).map { s in
                (dot(qAbsorbedL, latentSL[s]) + dot(token.qRopeHR[h], ropeKeySR[s])) * scale
            }
            let probs = softmax(scores)
            var oLatentL = [Double](repeating: 0, count: dc)  // [dc]
            for s in 0..<S {
                for c in 0..<dc { oLatentL[c] += probs[s] * latentSL[s][c] }
            }
            // o_h[j] = Σ_c W_UV_h[j][c]·o_latent_h[c]
            var oV = [Double](repeating: 0, count: dv)  // [dv]
            for j in 0..<dv {
                for c in 0..<dc { oV[j] += wkvB.values[(uvRow0 + j) * dc + c] * oLatentL[c] }
            }
            concatHV += oV
        }
        return (matVec(wo, concatHV), token.latentL, token.kRopeR)
    }

    private static func checkMLAConfig(_ config: ReferenceConfig) {
        precondition(config.qkRopeHeadDim % 2 == 0, "RoPE needs an even qk_rope_head_dim, got \(config.qkRopeHeadDim)")
        precondition(config.kvLoraRank > 0 && config.qkNopeHeadDim + config.qkRopeHeadDim > 0 && config.vHeadDim > 0,
                     "MLA needs kv_lora_rank \(config.kvLoraRank) > 0, qk dims \(config.qkNopeHeadDim)+\(config.qkRopeHeadDim) > 0, v_head_dim \(config.vHeadDim) > 0")
        precondition(config.qLoraRank >= 0, "q_lora_rank \(config.qLoraRank) must be non-negative")
    }
}

/// What MLA computes from one token by itself: its queries, its latent, its rotated rope key.
struct MLATokenProjection {
    var qNopeHN: [[Double]]  // [H][dn]
    var qRopeHR: [[Double]]  // [H][dr], rotated
    var latentL: [Double]    // c_KV = RMSNorm(compressed kv) [dc]
    var kRopeR: [Double]     // k_pe, rotated, shared by all heads [dr]
}

/// Queries, c_KV and rotated k_pe of one token xC [C] at absolute position `position`.
func mlaProject(_ xC: [Double], position: Int, config: ReferenceConfig, weights: ReferenceWeights) -> MLATokenProjection {
    let H = config.heads, dn = config.qkNopeHeadDim, dr = config.qkRopeHeadDim, dc = config.kvLoraRank
    func rope(_ v: [Double]) -> [Double] {
        ReferenceAttention.applyRoPE(v, position: position, base: config.ropeBase, interleaved: config.ropeInterleaved)
    }

    // Queries: q = W_q·x, or through the latent c_Q = RMSNorm(W_DQ·x), q = W_UQ·c_Q.
    let qHNR: [Double]  // [H·(dn+dr)]
    if config.qLoraRank == 0 {
        qHNR = matVec(weights["q_proj.weight"]!, xC)
    } else {
        let compressedQ = matVec(weights["q_a_proj.weight"]!, xC)  // [d_c']
        let latentQ = ReferenceAttention.rmsNorm(compressedQ, weight: weights["q_a_layernorm.weight"]!.values,
                                                 eps: config.rmsEps)
        qHNR = matVec(weights["q_b_proj.weight"]!, latentQ)
    }
    let qNopeHN = (0..<H).map { h in slice(qHNR, h * (dn + dr), dn) }
    let qRopeHR = (0..<H).map { h in rope(slice(qHNR, h * (dn + dr) + dn, dr)) }

    // Keys and values: a = W_DKV|W_KR·x; c_KV = RMSNorm(a[0..<dc]); k_pe = RoPE(a[dc..<dc+dr]).
    let aLR = matVec(weights["kv_a_proj_with_mqa.weight"]!, xC)  // [dc + dr]
    let latentL = ReferenceAttention.rmsNorm(slice(aLR, 0, dc), weight: weights["kv_a_layernorm.weight"]!.values,
                                             eps: config.rmsEps)
    let kRopeR = rope(slice(aLR, dc, dr))
    return MLATokenProjection(qNopeHN: qNopeHN, qRopeHR: qRopeHR, latentL: latentL, kRopeR: kRopeR)
}
