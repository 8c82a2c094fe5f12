#!/usr/bin/env python3
"""AttnLab against PyTorch on CPU, in one run: timings side by side and numerical agreement.

What `make bench-peers` runs (inside .venv-peers, which has torch, safetensors and numpy).
It promises:

- The same work on both sides. One attention layer at AttnLab's reference size
  (Variant.reference: d_model 512, 8 heads of 64; GQA 2 kv heads, MQA 1; MLA d_c 256, d_h^R 32),
  batch 1, weights [out, in] under HF names, RoPE half-split with tables computed in double:
    prefill  a fresh KV cache and one step over T tokens: q/k/v projections, RoPE, cache
             writes, causal attention (F.scaled_dot_product_attention(is_causal=True)), o_proj;
    decode   one token through the layer over a cache holding n tokens (projections, RoPE,
             cache write, attention over n + 1 keys, o_proj). GQA decode puts each group's
             query heads as rows of one kv head (no repeated keys); MLA decode both ways,
             naive (decompress k_C and v) and absorbed (attend over the latent);
    train    one step of `attnlab-bench train`'s model: MQAR batch 32 × T 256, vocab 8192,
             2 pre-norm blocks of RMSNorm + attention (d_model 128, 4 heads of 32, no MLP),
             final RMSNorm and an untied LM head on the scored positions only, cross-entropy,
             backward, global-norm clipping at 1, AdamW (no decay on vectors).
- The same thread count: torch.set_num_threads(N) and OpenBLAS's N threads for AttnLab.
- Interleaving: for every point AttnLab's bench binary and the torch measurement run one
  after the other (the order alternates between rounds), so slow drift of the machine hits
  both alike. A round's value is the median of its repeats (AttnLab: as its bench binary
  times it; torch: the same warm-up, repeat counts and minimum times); the reported value
  is the median over rounds.
- Agreement first: inputs and weights exchanged as safetensors, `attnlab forward` and the
  torch layer compared on the training forward, the inference prefill and token-by-token
  decode; the run stops (exit 1) when a relative error max|a − b| / max|b| exceeds the
  float32 tolerance.

Writes one tidy CSV (default results/bench/peers.csv): operation, variant, batch, tokens,
kv_heads, implementation, metric, value, unit, then provenance columns. Ratio rows have
implementation `attnlab/pytorch` and metric `time_ratio` (AttnLab's median time over
torch's: below 1, AttnLab is faster).
"""

import argparse
import csv
import datetime
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from peer_provenance import cpu_model, git

# Dimension legend: B batch, T sequence, C d_model, H query heads, G kv heads, D head dim,
# L latent d_c, R rope dim d_h^R, V vocab, n cached tokens.

REFERENCE = dict(hidden_size=512, num_attention_heads=8, head_dim=64, rope_theta=10000.0,
                 kv_lora_rank=256, qk_rope_head_dim=32, qk_nope_head_dim=64, v_head_dim=64,
                 rms_norm_eps=1e-6)
# The layer configurations per registry id, as `attnlab forward` reads them (HF names).
LAYER_CONFIGS = {
    "mha": dict(REFERENCE, num_key_value_heads=8),
    "gqa": dict(REFERENCE, num_key_value_heads=2),
    "mqa": dict(REFERENCE, num_key_value_heads=1),
    "mla": dict(REFERENCE),
    "linear": dict(REFERENCE, num_key_value_heads=8),
}
HEADER = ["operation", "variant", "batch", "tokens", "kv_heads", "implementation", "metric", "value", "unit",
          "threads", "torch_version", "cpu_model", "blas_core", "openblas_coretype_env", "build", "date",
          "git_commit", "git_dirty"]


# --- the torch layers -------------------------------------------------------------------

def rope_tables(p0, t, dim, base):
    """cos, sin of position·θ_i, [T, D/2], computed in double as AttnLab does."""
    i = torch.arange(dim // 2, dtype=torch.float64)
    theta = base ** (-2.0 * i / dim)
    angles = torch.arange(p0, p0 + t, dtype=torch.float64)[:, None] * theta[None, :]
    return torch.cos(angles).float(), torch.sin(angles).float()


def rope(x, p0, base):
    """x: [B, T, n, D], half-split pairing (x[i], x[i + D/2]) (HF Llama's rotate_half)."""
    t, d = x.shape[1], x.shape[3]
    cos, sin = rope_tables(p0, t, d, base)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]          # [1, T, 1, D/2]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class SoftmaxLayer:
    """MHA / GQA: q = RoPE(x W_qᵀ), k = RoPE(x W_kᵀ), v = x W_vᵀ; SDPA; out = o W_oᵀ."""

    def __init__(self, cfg, weights):
        self.c, self.h = cfg["hidden_size"], cfg["num_attention_heads"]
        self.g, self.d = cfg["num_key_value_heads"], cfg["head_dim"]
        self.base = cfg["rope_theta"]
        self.wq, self.wk = weights["q_proj.weight"], weights["k_proj.weight"]    # [H·D, C], [G·D, C]
        self.wv, self.wo = weights["v_proj.weight"], weights["o_proj.weight"]    # [G·D, C], [C, H·D]

    def parameters(self):
        return [self.wq, self.wk, self.wv, self.wo]

    def make_cache(self, batch, capacity):
        return dict(k=torch.empty(batch, self.g, capacity, self.d),               # [B, G, n, D]
                    v=torch.empty(batch, self.g, capacity, self.d), length=0)

    def _project(self, x, p0):
        b, t, _ = x.shape
        q = rope((x @ self.wq.T).view(b, t, self.h, self.d), p0, self.base)      # [B, T, H, D]
        k = rope((x @ self.wk.T).view(b, t, self.g, self.d), p0, self.base)      # [B, T, G, D]
        v = (x @ self.wv.T).view(b, t, self.g, self.d)                           # [B, T, G, D]
        return q, k, v

    def forward(self, x):
        """Training forward (differentiable), causal over x's T tokens."""
        b, t, _ = x.shape
        q, k, v = self._project(x, 0)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)         # [B, n, T, D]
        if self.g != self.h:
            k = k.repeat_interleave(self.h // self.g, dim=1)                     # HF repeat_kv: consecutive heads share
            v = v.repeat_interleave(self.h // self.g, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)              # [B, H, T, D]
        return o.transpose(1, 2).reshape(b, t, self.h * self.d) @ self.wo.T

    def step(self, x, cache):
        """Inference: x [B, T, C] appended to the cache. T > 1 only into an empty cache."""
        b, t, _ = x.shape
        p0 = cache["length"]
        q, k, v = self._project(x, p0)
        cache["k"][:, :, p0:p0 + t] = k.transpose(1, 2)
        cache["v"][:, :, p0:p0 + t] = v.transpose(1, 2)
        n = p0 + t
        cache["length"] = n
        keys, values = cache["k"][:, :, :n], cache["v"][:, :, :n]               # [B, G, n, D]
        if t == 1:
            # One query per head: a group's r query heads become r rows against its kv head.
            qg = q.view(b, self.g, self.h // self.g, self.d)                      # [B, G, r, D]
            o = F.scaled_dot_product_attention(qg, keys, values)                  # [B, G, r, D]
            return o.reshape(b, 1, self.h * self.d) @ self.wo.T
        assert p0 == 0, "a multi-token step needs an empty cache (is_causal aligns top-left)"
        o = F.scaled_dot_product_attention(q.transpose(1, 2), keys, values, is_causal=True,
                                           enable_gqa=self.g != self.h)          # [B, H, T, D]
        return o.transpose(1, 2).reshape(b, t, self.h * self.d) @ self.wo.T


class LinearLayer:
    """Linear attention (Katharopoulos et al. 2020) as AttnLab's LinearAttention.swift:
    φ(x) = elu(x) + 1 on q = x W_qᵀ and k = x W_kᵀ (d_k = linear_feature_dim per head), v = x W_vᵀ,
    no positions; out_t = φ(q_t)ᵀ S_t / (φ(q_t)ᵀ z_t + 1e-6), S_t = Σ_{s≤t} φ(k_s) v_sᵀ,
    z_t = Σ_{s≤t} φ(k_s). Training through the masked quadratic form (what one writes in
    PyTorch at these lengths); inference through the recurrent state (S, z)."""

    eps = 1e-6

    def __init__(self, cfg, weights):
        self.h, self.dv = cfg["num_attention_heads"], cfg["head_dim"]
        self.dk = cfg.get("linear_feature_dim", self.dv)
        self.wq, self.wk = weights["q_proj.weight"], weights["k_proj.weight"]    # [H·d_k, C]
        self.wv, self.wo = weights["v_proj.weight"], weights["o_proj.weight"]    # [H·d_v, C], [C, H·d_v]

    def parameters(self):
        return [self.wq, self.wk, self.wv, self.wo]

    def _project(self, x):
        b, t, _ = x.shape
        q = F.elu((x @ self.wq.T).view(b, t, self.h, self.dk).transpose(1, 2)) + 1   # [B, H, T, d_k]
        k = F.elu((x @ self.wk.T).view(b, t, self.h, self.dk).transpose(1, 2)) + 1
        v = (x @ self.wv.T).view(b, t, self.h, self.dv).transpose(1, 2)              # [B, H, T, d_v]
        return q, k, v

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self._project(x)
        a = torch.tril(q @ k.transpose(-1, -2))                                  # [B, H, T, T]
        o = (a @ v) / (a.sum(-1, keepdim=True) + self.eps)
        return o.transpose(1, 2).reshape(b, t, self.h * self.dv) @ self.wo.T

    def make_cache(self, batch, capacity):
        return dict(s=torch.zeros(batch, self.h, self.dk, self.dv), z=torch.zeros(batch, self.h, self.dk))

    def step(self, x, cache):
        """Token by token through the state (the recurrence a cache holds)."""
        b, t, _ = x.shape
        q, k, v = self._project(x)
        outs = []
        for i in range(t):
            cache["s"] = cache["s"] + k[:, :, i, :, None] * v[:, :, i, None, :]
            cache["z"] = cache["z"] + k[:, :, i]
            num = (q[:, :, i, :, None] * cache["s"]).sum(-2)                       # [B, H, d_v]
            den = (q[:, :, i] * cache["z"]).sum(-1, keepdim=True) + self.eps
            outs.append(num / den)
        o = torch.stack(outs, dim=2)                                              # [B, H, T, d_v]
        return o.transpose(1, 2).reshape(b, t, self.h * self.dv) @ self.wo.T


class MLALayer:
    """Multi-head latent attention, DeepSeek-V2 §2.1 with HF DeepSeek names (see AttnLab's
    MultiHeadLatentAttention.swift): c_KV = RMSNorm(W_DKV h), k_R = RoPE(W_KR h) shared by all
    heads (both from kv_a_proj_with_mqa), [k_C,i | v_i] = kv_b_proj(c_KV) per head, queries
    [q_C,i | RoPE(q_R,i)] from q_proj (or q_a_proj → q_a_layernorm → q_b_proj),
    score = (q_C·k_C + q_R·k_R) / √(d_nope + d_R). The cache holds [c_KV | k_R] rows."""

    def __init__(self, cfg, weights, path="naive"):
        self.c, self.h = cfg["hidden_size"], cfg["num_attention_heads"]
        self.nope, self.r = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"]
        self.lat, self.dv = cfg["kv_lora_rank"], cfg["v_head_dim"]
        self.eps, self.base = cfg["rms_norm_eps"], cfg["rope_theta"]
        self.path = path
        self.w = dict(weights)
        self.scale = 1.0 / math.sqrt(self.nope + self.r)
        w_kvb = self.w["kv_b_proj.weight"].view(self.h, self.nope + self.dv, self.lat)
        self.w_uk = w_kvb[:, : self.nope, :]                                     # [H, d_nope, L]
        self.w_uv = w_kvb[:, self.nope:, :]                                      # [H, d_v, L]

    def parameters(self):
        return list(self.w.values())

    def make_cache(self, batch, capacity):
        return dict(rows=torch.empty(batch, capacity, self.lat + self.r), length=0)   # [B, n, L + R]

    def _queries(self, x, p0):
        b, t, _ = x.shape
        if "q_proj.weight" in self.w:
            q = x @ self.w["q_proj.weight"].T
        else:
            cq = rms_norm(x @ self.w["q_a_proj.weight"].T, self.w["q_a_layernorm.weight"], self.eps)
            q = cq @ self.w["q_b_proj.weight"].T
        q = q.view(b, t, self.h, self.nope + self.r)
        return q[..., : self.nope], rope(q[..., self.nope:], p0, self.base)      # [B, T, H, d_nope], [B, T, H, R]

    def _latent(self, x, p0):
        b, t, _ = x.shape
        a = x @ self.w["kv_a_proj_with_mqa.weight"].T                             # [B, T, L + R]
        c_kv = rms_norm(a[..., : self.lat], self.w["kv_a_layernorm.weight"], self.eps)
        k_r = rope(a[..., self.lat:].reshape(b, t, 1, self.r), p0, self.base).view(b, t, self.r)
        return c_kv, k_r                                                          # [B, T, L], [B, T, R]

    def _attend_naive(self, q_c, q_r, c_kv, k_r, causal):
        b, t, n = q_c.shape[0], q_c.shape[1], c_kv.shape[1]
        kv = (c_kv @ self.w["kv_b_proj.weight"].T).view(b, n, self.h, self.nope + self.dv)
        keys = torch.cat([kv[..., : self.nope], k_r[:, :, None, :].expand(b, n, self.h, self.r)], dim=-1)
        queries = torch.cat([q_c, q_r], dim=-1)                                   # [B, T, H, d_nope + R]
        values = kv[..., self.nope:]                                              # [B, n, H, d_v]
        dqk = self.nope + self.r
        if self.dv < dqk:
            # SDPA's fused CPU kernel needs one head dim for q, k and v; otherwise it falls back
            # to the math path, which materialises [B, H, T, n] scores (17 GB at T 16k). Pad the
            # values with zeros and drop the padding after, as HF's DeepSeek-V2 flash path does.
            values = F.pad(values, (0, dqk - self.dv))
        o = F.scaled_dot_product_attention(queries.transpose(1, 2), keys.transpose(1, 2),
                                           values.transpose(1, 2), is_causal=causal, scale=self.scale)
        return o[..., : self.dv].transpose(1, 2).reshape(b, t, self.h * self.dv)   # [B, T, H·d_v]

    def _attend_absorbed(self, q_c, q_r, rows):
        """One token: q̃_i = W_UK,iᵀ q_C,i; attend over the latent rows; o_i = W_UV,i õ_i.
        Written as matmul, softmax, matmul (as DeepSeek's reference inference code does with
        einsum): here 2-3× faster than SDPA, which copies the strided value view."""
        b = q_c.shape[0]
        q_lat = torch.einsum("bhn,hnl->bhl", q_c[:, 0], self.w_uk)                # [B, H, L]
        queries = torch.cat([q_lat, q_r[:, 0]], dim=-1)                           # [B, H, L + R]: heads as rows
        probs = torch.softmax((queries @ rows.transpose(1, 2)) * self.scale, dim=-1)   # [B, H, n]
        o_lat = probs @ rows[..., : self.lat]                                     # [B, H, L]
        o = torch.einsum("bhl,hvl->bhv", o_lat, self.w_uv)                        # [B, H, d_v]
        return o.reshape(b, 1, self.h * self.dv)

    def forward(self, x):
        q_c, q_r = self._queries(x, 0)
        c_kv, k_r = self._latent(x, 0)
        return self._attend_naive(q_c, q_r, c_kv, k_r, causal=True) @ self.w["o_proj.weight"].T

    def step(self, x, cache):
        b, t, _ = x.shape
        p0 = cache["length"]
        q_c, q_r = self._queries(x, p0)
        c_kv, k_r = self._latent(x, p0)
        cache["rows"][:, p0:p0 + t, : self.lat] = c_kv
        cache["rows"][:, p0:p0 + t, self.lat:] = k_r
        n = p0 + t
        cache["length"] = n
        rows = cache["rows"][:, :n]
        if t == 1 and self.path == "absorbed":
            o = self._attend_absorbed(q_c, q_r, rows)
        else:
            assert t == 1 or p0 == 0, "a multi-token step needs an empty cache (is_causal aligns top-left)"
            o = self._attend_naive(q_c, q_r, rows[..., : self.lat], rows[..., self.lat:], causal=t > 1)
        return o @ self.w["o_proj.weight"].T


def make_layer(variant, cfg, weights, mla_path="naive"):
    if variant == "mla":
        return MLALayer(cfg, weights, mla_path)
    return LinearLayer(cfg, weights) if variant == "linear" else SoftmaxLayer(cfg, weights)


def random_weights(variant, cfg, gen, requires_grad=False):
    """PyTorch's Linear initialisation U(±1/√in), gains 1, under HF names."""
    c, h = cfg["hidden_size"], cfg["num_attention_heads"]

    def linear(out_f, in_f):
        bound = 1 / math.sqrt(in_f)
        return ((torch.rand(out_f, in_f, generator=gen) * 2 - 1) * bound).requires_grad_(requires_grad)

    if variant == "mla":
        nope, r, lat, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["kv_lora_rank"], cfg["v_head_dim"]
        return {"q_proj.weight": linear(h * (nope + r), c),
                "kv_a_proj_with_mqa.weight": linear(lat + r, c),
                "kv_a_layernorm.weight": torch.ones(lat).requires_grad_(requires_grad),
                "kv_b_proj.weight": linear(h * (nope + dv), lat),
                "o_proj.weight": linear(c, h * dv)}
    g, d = cfg["num_key_value_heads"], cfg["head_dim"]
    if variant == "linear":
        dk = cfg.get("linear_feature_dim", d)
        return {"q_proj.weight": linear(h * dk, c), "k_proj.weight": linear(h * dk, c),
                "v_proj.weight": linear(h * d, c), "o_proj.weight": linear(c, h * d)}
    return {"q_proj.weight": linear(h * d, c), "k_proj.weight": linear(g * d, c),
            "v_proj.weight": linear(g * d, c), "o_proj.weight": linear(c, h * d)}


# --- timing -------------------------------------------------------------------------------

def time_calls(body, samples, min_seconds, max_samples=200, reset=None):
    """AttnLab's AttentionBench.time: one warm-up call, then timed calls until `samples` and
    `min_seconds` are reached (at most max_samples); `reset` runs untimed before each call."""
    if reset:
        reset()
    body()
    times = []
    while len(times) < samples or (sum(times) < min_seconds and len(times) < max_samples):
        if reset:
            reset()
        t0 = time.perf_counter()
        body()
        times.append(time.perf_counter() - t0)
    return times


def torch_prefill_seconds(layer, t, quick, gen):
    x = torch.randn(1, t, layer.c, generator=gen)
    with torch.inference_mode():
        return statistics.median(time_calls(lambda: layer.step(x, layer.make_cache(1, t)),
                                            samples=2 if quick else 5, min_seconds=0 if quick else 1))


def torch_decode_seconds(layer, n, quick, gen):
    cache = layer.make_cache(1, n + 1)
    for key, buf in cache.items():
        if key != "length":
            buf.normal_(generator=gen)                      # random contents: a step's cost does not depend on them
    x = torch.randn(1, 1, layer.c, generator=gen)

    def rewind():
        cache["length"] = n

    with torch.inference_mode():
        return statistics.median(time_calls(lambda: layer.step(x, cache), samples=5 if quick else 20,
                                            min_seconds=0.05 if quick else 0.5, max_samples=900, reset=rewind))


class TinyLM:
    """`attnlab-bench train`'s model (Sources/Models/TransformerLM.swift), untied head, no MLP."""

    def __init__(self, variant, vocab, layers, cfg, gen):
        c = cfg["hidden_size"]
        self.cfg, self.variant, self.eps = cfg, variant, 1e-6
        self.embed = (torch.randn(vocab, c, generator=gen) * 0.02).requires_grad_()
        self.norms = [torch.ones(c, requires_grad=True) for _ in range(layers)]
        self.attn = [make_layer(variant, cfg, random_weights(variant, cfg, gen, requires_grad=True)) for _ in range(layers)]
        self.final_norm = torch.ones(c, requires_grad=True)
        bound = 1 / math.sqrt(c)
        self.lm_head = ((torch.rand(vocab, c, generator=gen) * 2 - 1) * bound).requires_grad_()

    def parameters(self):
        ps = [self.embed]
        for norm, attn in zip(self.norms, self.attn):
            ps += [norm] + attn.parameters()
        return ps + [self.final_norm, self.lm_head]

    def loss(self, ids, scored, targets):
        b, t = ids.shape
        h = self.embed[ids]                                                        # [B, T, C]
        for norm, attn in zip(self.norms, self.attn):
            h = h + attn.forward(rms_norm(h, norm, self.eps))
        rows = h.reshape(b * t, -1)[scored]                                        # [N, C]: scored positions only
        logits = rms_norm(rows, self.final_norm, self.eps) @ self.lm_head.T        # [N, V]
        return F.cross_entropy(logits, targets)


def mqar_batch(rng, batch, seq, pairs, vocab):
    """MQAR-shaped batch: random tokens and `pairs` scored query positions 2N + 2g per example."""
    ids = rng.integers(0, vocab, size=(batch, seq))
    slots = (seq - 2 * pairs) // 2
    scored, targets = [], []
    for bi in range(batch):
        gaps = np.sort(rng.choice(slots, size=pairs, replace=False))
        scored += [bi * seq + 2 * pairs + 2 * int(g) for g in gaps]
        targets += list(rng.integers(vocab // 2, vocab, size=pairs))
    return torch.from_numpy(ids), torch.tensor(scored), torch.tensor(targets)


def torch_train_seconds(variant, quick, seed):
    """Median seconds of one training step (batch stream, forward, backward, clipping, AdamW)."""
    gen = torch.Generator().manual_seed(seed)
    cfg = dict(hidden_size=128, num_attention_heads=4, num_key_value_heads=4 if variant == "mha" else 2, head_dim=32,
               rope_theta=10000.0, kv_lora_rank=128, qk_rope_head_dim=16, qk_nope_head_dim=32, v_head_dim=32,
               rms_norm_eps=1e-6)
    model = TinyLM(variant, vocab=8192, layers=2, cfg=cfg, gen=gen)
    params = model.parameters()
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() > 1], "weight_decay": 0.1},
                             {"params": [p for p in params if p.dim() == 1], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.default_rng(seed)

    def step():
        ids, scored, targets = mqar_batch(rng, 32, 256, 16, 8192)
        opt.zero_grad(set_to_none=False)
        loss = model.loss(ids, scored, targets)
        if not math.isfinite(loss.item()):
            raise RuntimeError("torch training loss is not finite")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return statistics.median(time_calls(step, samples=3 if quick else 10, min_seconds=0 if quick else 3))


# --- AttnLab through its binaries ---------------------------------------------------------

class AttnLab:
    def __init__(self, bin_dir, threads, workdir):
        self.bench = os.path.join(bin_dir, "attnlab-bench")
        self.cli = os.path.join(bin_dir, "attnlab")
        self.threads = threads
        self.workdir = workdir
        self.env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
        self.provenance = {}
        for path in (self.bench, self.cli):
            if not os.access(path, os.X_OK):
                sys.exit(f"bench_peers: {path} is missing: build it first (swift build -c release)")

    def _run(self, argv):
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench_peers: {' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def _rows(self, argv):
        out = os.path.join(self.workdir, "attnlab-bench.csv")
        self._run([self.bench] + argv + ["--out", out, "--threads", str(self.threads)])
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        first = rows[0]
        if first["build"] != "release":
            sys.exit(f"bench_peers: {self.bench} is a {first['build']} build; time only release builds")
        if int(first["blas_threads"]) != self.threads:
            sys.exit(f"bench_peers: AttnLab ran with {first['blas_threads']} OpenBLAS threads, not {self.threads}")
        self.provenance = {k: first[k] for k in ("blas_core", "openblas_coretype_env", "build", "cpu_model")}
        return rows

    def attention(self, variant, prefill, decode):
        """{(benchmark, label, tokens): median seconds} for one prefill length and one decode context."""
        rows = self._rows(["attention", "--variants", variant, "--prefill", str(prefill), "--decode", str(decode)])
        return {(r["benchmark"], r["variant"], int(r["tokens"])): float(r["value"])
                for r in rows if r["metric"] == "median_seconds"}

    def train(self, variant, quick):
        rows = self._rows(["train", "--variants", variant] + (["--quick"] if quick else []))
        return next(float(r["value"]) for r in rows if r["metric"] == "median_step_seconds")

    def forward(self, variant, config_path, input_path, output_path, weights=None, save_weights=None, mla_path=None):
        argv = [self.cli, "forward", "--variant", variant, "--config", config_path, "--input", input_path,
                "--output", output_path, "--decode", "--prefill", "--threads", str(self.threads)]
        if weights:
            argv += ["--weights", weights]
        if save_weights:
            argv += ["--save-weights", save_weights]
        if mla_path:
            argv += ["--mla-path", mla_path]
        self._run(argv)


# --- the run ------------------------------------------------------------------------------

class Results:
    def __init__(self, threads):
        commit = git("rev-parse", "HEAD")
        self.rows = []
        self.provenance = dict(threads=str(threads), torch_version=torch.__version__, cpu_model=cpu_model(),
                               blas_core="", openblas_coretype_env=os.environ.get("OPENBLAS_CORETYPE", ""), build="",
                               date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               git_commit=commit,
                               git_dirty=("true" if git("status", "--porcelain", "--untracked-files=no") else "false")
                               if commit else "")

    def add(self, operation, variant, batch, tokens, kv_heads, implementation, metric, value, unit):
        self.rows.append(dict(operation=operation, variant=variant, batch=batch, tokens=tokens, kv_heads=kv_heads,
                              implementation=implementation, metric=metric, value=repr(float(value)), unit=unit))

    def write(self, path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        for row in self.rows:
            w.writerow({**self.provenance, **row})
        tmp = path + ".tmp"
        with open(tmp, "w", newline="") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)


def agreement(attnlab, results, workdir, tolerance, seed):
    """Each layer on the same input and weights in both; returns the failures."""
    failures = []
    batch, tokens = 2, 200   # T 200: three full 64-row query blocks and a partial one
    gen = torch.Generator().manual_seed(seed)
    cases = [("mha", "mha", {}, [None]), ("gqa", "gqa", {}, [None]), ("mqa", "mqa", {}, [None]),
             ("linear", "linear", {}, [None]),
             ("mla", "mla", {}, ["naive", "absorbed"]),
             ("mla-qlora", "mla", {"q_lora_rank": 128}, ["naive", "absorbed"])]
    print(f"\nagreement: batch {batch}, T {tokens}, relative error max|attnlab − torch| / max|torch|, tolerance {tolerance:g}")
    for label, variant, extra, paths in cases:
        cfg = dict(LAYER_CONFIGS[variant], **extra)
        cfg_path = os.path.join(workdir, f"{label}.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        x = torch.randn(batch, tokens, cfg["hidden_size"], generator=gen)          # [B, T, C]
        x_path = os.path.join(workdir, f"{label}-x.safetensors")
        save_file({"x": x.contiguous()}, x_path)
        # AttnLab's own initialisation, saved under HF names; gains (RMSNorm weights) are then
        # moved away from 1 so that a norm weight loaded in the wrong place shows.
        w0_path, w_path = os.path.join(workdir, f"{label}-w0.safetensors"), os.path.join(workdir, f"{label}-w.safetensors")
        attnlab.forward(variant, cfg_path, x_path, os.path.join(workdir, f"{label}-y0.safetensors"), save_weights=w0_path)
        weights = load_file(w0_path)
        for name in weights:
            if "layernorm" in name:
                weights[name] = weights[name] * (1 + 0.2 * torch.randn(weights[name].shape, generator=gen))
        save_file({k: v.contiguous() for k, v in weights.items()}, w_path)
        kv_heads = cfg.get("num_key_value_heads", "")

        def compare(series, operation, got, ref):
            err = (got - ref).abs().max().item()
            scale = ref.abs().max().item()
            rel = err / scale
            ok = rel <= tolerance and math.isfinite(rel)
            for metric, value, unit in (("max_abs_error", err, "abs"), ("max_abs_reference", scale, "abs"),
                                        ("rel_error", rel, "ratio"), ("rel_tolerance", tolerance, "ratio")):
                results.add(operation, series, batch, tokens, kv_heads, "attnlab-vs-pytorch", metric, value, unit)
            print(f"  {series:20s} {operation:18s} max abs {err:9.3e}  (max |y| {scale:6.3f})  rel {rel:9.3e}  {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{series} {operation}: relative error {rel:.3e} > {tolerance:g}")

        for path in paths:
            series = label if path is None else f"{label}-{path}"
            y_path = os.path.join(workdir, f"{series}-y.safetensors")
            attnlab.forward(variant, cfg_path, x_path, y_path, weights=w_path, mla_path=path)
            y = load_file(y_path)
            layer = make_layer(variant, cfg, weights, path or "naive")
            with torch.inference_mode():
                ref_forward = layer.forward(x)
                ref_prefill = layer.step(x, layer.make_cache(batch, tokens))
                cache = layer.make_cache(batch, tokens)
                ref_decode = torch.cat([layer.step(x[:, i:i + 1], cache) for i in range(tokens)], dim=1)
                if path == "absorbed":
                    # the torch absorbed decode (timed below) against the torch naive one
                    naive = make_layer(variant, cfg, weights, "naive")
                    cache = naive.make_cache(batch, tokens)
                    ref_naive = torch.cat([naive.step(x[:, i:i + 1], cache) for i in range(tokens)], dim=1)
                    err = ((ref_decode - ref_naive).abs().max() / ref_naive.abs().max()).item()
                    results.add("agreement-decode", series, batch, tokens, kv_heads, "pytorch-absorbed-vs-naive",
                                "rel_error", err, "ratio")
                    if not err <= tolerance:
                        failures.append(f"{series}: torch absorbed decode differs from torch naive by {err:.3e}")
                    ref_decode = ref_naive
            if path != "absorbed":   # y (the training forward) does not depend on the path
                compare(label, "agreement-forward", y["y"], ref_forward)
            compare(series, "agreement-prefill", y["y_prefill"], ref_prefill)
            compare(series, "agreement-decode", y["y_decode"], ref_decode)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "2")),
                    help="torch threads = OpenBLAS threads of AttnLab (default 2)")
    ap.add_argument("--bin", default=".build/release", help="directory of the attnlab and attnlab-bench release binaries")
    ap.add_argument("--out", default="results/bench/peers.csv")
    ap.add_argument("--prefill", default="1024,4096,16384", help="prompt lengths T")
    ap.add_argument("--decode", default="4096,16384,32768", help="cache contexts n (paired with --prefill by position)")
    ap.add_argument("--variants", default="mha,gqa,mqa,mla", help="timed mechanisms (mla: naive prefill, naive and absorbed decode)")
    ap.add_argument("--train-variants", default="mha,gqa,linear,mla", help="mechanisms of the timed training step ('' for none)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per point; the value is the median over rounds")
    ap.add_argument("--quick", action="store_true", help="short lengths, few repeats, one round (a smoke test)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="relative error allowed in the agreement check")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.prefill, args.decode, args.rounds = "256,1024", "1024,4096", 1
    prefill = [int(s) for s in args.prefill.split(",")]
    decode = [int(s) for s in args.decode.split(",")]
    if len(prefill) != len(decode):
        sys.exit(f"bench_peers: --prefill has {len(prefill)} lengths and --decode {len(decode)}: pair them one to one")
    variants = [v for v in args.variants.split(",") if v]
    train_variants = [v for v in args.train_variants.split(",") if v]
    for v in variants + train_variants:
        if v not in LAYER_CONFIGS:
            sys.exit(f"bench_peers: unknown variant '{v}'; valid: {', '.join(LAYER_CONFIGS)}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.monotonic()
    results = Results(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as workdir:
        attnlab = AttnLab(args.bin, args.threads, workdir)
        print(f"bench-peers: torch {torch.__version__} × {torch.get_num_threads()} threads, "
              f"AttnLab OpenBLAS × {args.threads} threads, {results.provenance['cpu_model']}")

        failures = agreement(attnlab, results, workdir, args.tolerance, args.seed)
        results.provenance.update(attnlab.provenance)
        if failures:
            results.write(args.out)
            sys.exit("bench_peers: AttnLab and PyTorch disagree:\n  " + "\n  ".join(failures) +
                     f"\n(agreement rows written to {args.out}; no timings were taken)")

        # --- timings: interleaved per point, alternating who goes first ---
        samples = {}   # (operation, series, tokens, implementation) -> [per-round medians]
        kv_heads_of = {v: LAYER_CONFIGS[v].get("num_key_value_heads", "") for v in LAYER_CONFIGS}
        gen = torch.Generator().manual_seed(args.seed + 1)
        layers = {v: {path: make_layer(v, LAYER_CONFIGS[v], random_weights(v, LAYER_CONFIGS[v], gen), path)
                      for path in (("naive", "absorbed") if v == "mla" else ("naive",))} for v in variants}

        def record(key, value):
            samples.setdefault(key, []).append(value)

        for rnd in range(args.rounds):
            print(f"\nround {rnd + 1}/{args.rounds}: median seconds (attnlab, pytorch)")
            for v in variants:
                for t, n in zip(prefill, decode):
                    def run_attnlab():
                        for (bench, label, tokens), sec in attnlab.attention(v, t, n).items():
                            record((bench, label, tokens, "attnlab"), sec)

                    def run_torch():
                        record(("prefill", "mla-naive" if v == "mla" else v, t, "pytorch"),
                               torch_prefill_seconds(layers[v]["naive"], t, args.quick, gen))
                        for path, layer in layers[v].items():
                            record(("decode", f"mla-{path}" if v == "mla" else v, n, "pytorch"),
                                   torch_decode_seconds(layer, n, args.quick, gen))

                    for fn in ((run_attnlab, run_torch) if rnd % 2 == 0 else (run_torch, run_attnlab)):
                        fn()
                    for op, tokens in (("prefill", t), ("decode", n)):
                        for key in sorted(k for k in samples if k[0] == op and k[2] == tokens and k[3] == "attnlab"
                                          and k[1].split("-")[0] == v):
                            a, p = samples[key][-1], samples.get((op, key[1], tokens, "pytorch"), [math.nan])[-1]
                            print(f"  {op:7s} {key[1]:13s} {tokens:6d}  {a:10.5f} s  {p:10.5f} s  ratio {a / p:6.2f}")
            for v in train_variants:
                def run_attnlab_train():
                    record(("train", v, 256, "attnlab"), attnlab.train(v, args.quick))

                def run_torch_train():
                    record(("train", v, 256, "pytorch"), torch_train_seconds(v, args.quick, args.seed))

                for fn in ((run_attnlab_train, run_torch_train) if rnd % 2 == 0 else (run_torch_train, run_attnlab_train)):
                    fn()
                a, p = samples[("train", v, 256, "attnlab")][-1], samples[("train", v, 256, "pytorch")][-1]
                print(f"  train   {v:13s}    256  {a:10.5f} s  {p:10.5f} s  ratio {a / p:6.2f}  "
                      f"({32 * 256 / a:7.0f} vs {32 * 256 / p:7.0f} tokens/s)")

        # --- rows: medians over rounds, then ratios ---
        print("\nmedians over rounds:")
        for (op, series, tokens, impl), values in sorted(samples.items()):
            if impl != "attnlab":
                continue
            base = series.split("-")[0]
            batch = 32 if op == "train" else 1
            kv = ({"mha": 4, "gqa": 2}.get(base, "") if op == "train" else kv_heads_of[base])
            med = {}
            for imp in ("attnlab", "pytorch"):
                vals = samples.get((op, series, tokens, imp))
                if not vals:
                    continue
                med[imp] = statistics.median(vals)
                metric = "median_step_seconds" if op == "train" else "median_seconds"
                results.add(op, series, batch, tokens, kv, imp, metric, med[imp], "s")
                results.add(op, series, batch, tokens, kv, imp, "rounds", len(vals), "count")
                per_call_tokens = batch * tokens if op == "train" else (tokens if op == "prefill" else 1)
                results.add(op, series, batch, tokens, kv, imp, "tokens_per_second", per_call_tokens / med[imp], "tokens/s")
            if len(med) == 2:
                ratio = med["attnlab"] / med["pytorch"]
                results.add(op, series, batch, tokens, kv, "attnlab/pytorch", "time_ratio", ratio, "ratio")
                print(f"  {op:7s} {series:13s} {tokens:6d}  attnlab {med['attnlab']:10.5f} s  pytorch {med['pytorch']:10.5f} s"
                      f"  ratio {ratio:6.2f}")
    results.provenance.update(attnlab.provenance)
    results.write(args.out)
    print(f"\nwrote {len(results.rows)} rows to {args.out} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
