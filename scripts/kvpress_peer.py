#!/usr/bin/env python3
"""AttnLab's KV-cache policies against NVIDIA's kvpress on the same trained model.

What `make policies-peer` runs (inside .venv-peers, with torch, transformers and kvpress).
It promises:

- The same model on both sides. An AttnLab training checkpoint (MHA, GQA or MQA; HF Llama
  parameter names, RoPE half-split = Llama's rotate_half, RMSNorm, no MLP) is loaded into
  transformers' LlamaForCausalLM with a zero MLP (intermediate size 1, all weights 0, so it
  adds exactly nothing). Before any press runs, both sides evaluate the full cache and
  their predictions at the question positions must agree (else exit 1).
- The same examples and the same rule. `attnlab eval --dump` writes the test examples
  (the run's own test stream), AttnLab's predictions and, per layer and kv head, the
  context positions each policy kept. Here each example's context is prefilled under the
  press (kvpress compresses during that forward), then the questions run over the
  compressed cache at their original positions (kvpress's pipeline passes position_ids),
  the same context/question split as AttnLab's.
- Which tokens each side kept: the compressed keys are matched exactly to the keys of an
  uncompressed prefill (a key carries its position through RoPE, so the match is unique),
  per layer and kv head; the overlap with AttnLab's kept set is reported as a Jaccard
  index, with the fraction of (example, layer, kv head) sets that are identical.

Policy ↔ press pairs, each with the settings AttnLab uses at these short contexts:
  streaming  StreamingLLMPress(n_sink=4)        recent    StreamingLLMPress(n_sink=0)
  snapkv     SnapKVPress(window=w, kernel=5)    pyramidkv PyramidKVPress(window=w, kernel=5, beta=20)
  tova       TOVAPress                          h2o       ObservedAttentionPress (kvpress's H2O-like press)
  streaming-renumbered  KeyRerotationPress(StreamingLLMPress(n_sink=4)) (accuracy only: its keys are re-rotated)
where w is AttnLab's observation window at this context (8, at most a quarter of it).

Writes one tidy CSV (default results/bench/policies-peer.csv): task, variant, policy,
press, ratio, metric, value, unit, then provenance columns.
"""

import argparse
import csv
import datetime
import importlib.metadata
import io
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

import kvpress
from peer_provenance import cpu_model, git

HEADER = ["task", "variant", "policy", "press", "ratio", "metric", "value", "unit",
          "torch_version", "transformers_version", "kvpress_version", "cpu_model", "date", "git_commit", "git_dirty"]


def llama_from_checkpoint(path):
    """(model, variant, task line) from an AttnLab training checkpoint."""
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        if meta.get("format") != "attnlab-checkpoint-1":
            sys.exit(f"kvpress_peer: {path} is not an AttnLab training checkpoint")
        mc = json.loads(meta["model_config"])
        weights = {k: f.get_tensor(k) for k in f.keys() if not k.startswith("optimizer.")}
    a = mc["attention"]
    variants = set(mc["layerVariants"])
    if not variants <= {"mha", "gqa", "mqa"}:
        sys.exit(f"kvpress_peer: kvpress runs Llama-style attention (mha, gqa, mqa); this checkpoint has {sorted(variants)}")
    if a["rope_pairing"] != "half-split" or a.get("attention_sinks", 0) != 0:
        sys.exit("kvpress_peer: the checkpoint's RoPE pairing or attention sinks are not Llama's")
    cfg = LlamaConfig(vocab_size=mc["vocabSize"], hidden_size=a["hidden_size"], intermediate_size=max(1, mc["mlpHidden"]),
                      num_hidden_layers=mc["layers"], num_attention_heads=a["num_attention_heads"],
                      num_key_value_heads=a["num_key_value_heads"], head_dim=a["head_dim"], rms_norm_eps=mc["normEps"],
                      rope_theta=float(a["rope_theta"]), max_position_embeddings=4096, tie_word_embeddings=mc["tiedEmbeddings"],
                      attention_bias=False, mlp_bias=False, hidden_act="silu")
    cfg._attn_implementation = "eager"  # ObservedAttentionPress reads the attention weights
    model = LlamaForCausalLM(cfg).eval()
    state = model.state_dict()
    missing = []
    for name, tensor in state.items():
        if ".mlp." in name:
            tensor.zero_()
        elif name in weights:
            tensor.copy_(weights[name])
        elif ".post_attention_layernorm." in name and mc["mlpHidden"] == 0:
            pass  # normalises the MLP's input only: with a zero MLP it changes nothing
        elif name == "lm_head.weight" and mc["tiedEmbeddings"]:
            pass
        else:
            missing.append(name)
    if missing:
        sys.exit(f"kvpress_peer: the checkpoint lacks {missing}")
    return model, sorted(variants)[0], meta["task"]


def attnlab_eval(cli, checkpoint, policy, ratio, examples, workdir):
    out = os.path.join(workdir, f"{policy}-{ratio}.json")
    argv = [cli, "eval", "--checkpoint", checkpoint, "--policy", policy, "--examples", str(examples), "--dump", out]
    if ratio > 0:
        argv += ["--ratio", str(ratio)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"kvpress_peer: {' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    with open(out) as f:
        return json.load(f)


def make_press(policy, ratio, dump):
    """kvpress's counterpart of an AttnLab policy at the same settings."""
    w = min(dump["observation_window"], max(1, dump["context_length"] // 4))
    k = dump["pooling_kernel"]
    presses = {
        "streaming": lambda: kvpress.StreamingLLMPress(compression_ratio=ratio, n_sink=dump["sinks"]),
        "recent": lambda: kvpress.StreamingLLMPress(compression_ratio=ratio, n_sink=0),
        "snapkv": lambda: kvpress.SnapKVPress(compression_ratio=ratio, window_size=w, kernel_size=k),
        "pyramidkv": lambda: kvpress.PyramidKVPress(compression_ratio=ratio, window_size=w, kernel_size=k, beta=int(dump["pyramid_beta"])),
        "tova": lambda: kvpress.TOVAPress(compression_ratio=ratio),
        "h2o": lambda: kvpress.ObservedAttentionPress(compression_ratio=ratio),
        "streaming-renumbered": lambda: kvpress.KeyRerotationPress(press=kvpress.StreamingLLMPress(compression_ratio=ratio, n_sink=dump["sinks"])),
    }
    return presses[policy]()


@torch.no_grad()
def run_examples(model, dump, press):
    """Predictions at the question positions and, per example, the kept positions [layer][kv head]."""
    c = dump["context_length"]
    predictions, kept = [], []
    for ex in dump["examples"]:
        ids = torch.tensor([ex["ids"]])
        context, questions = ids[:, :c], ids[:, c:]
        reference = DynamicCache()
        model.model(input_ids=context, past_key_values=reference)
        cache = DynamicCache()
        if press is None:
            model.model(input_ids=context, past_key_values=cache)
        else:
            with press(model):
                model.model(input_ids=context, past_key_values=cache)
        kept.append([[match_rows(reference.layers[l].keys[0, g], cache.layers[l].keys[0, g])
                      for g in range(cache.layers[l].keys.shape[1])] for l in range(len(cache.layers))])
        start = cache.get_seq_length() if isinstance(press, kvpress.KeyRerotationPress) else c
        positions = torch.arange(start, start + questions.shape[1]).unsqueeze(0)
        if len({layer.keys.shape[2] for layer in cache.layers}) == 1:
            logits = model(input_ids=questions, past_key_values=cache, position_ids=positions).logits[0]
        else:
            # Layers kept different counts (PyramidKV): transformers builds one mask from the
            # first layer's length, so the questions go one token at a time (no mask needed).
            logits = torch.cat([model(input_ids=questions[:, i:i + 1], past_key_values=cache, position_ids=positions[:, i:i + 1]).logits[0]
                                for i in range(questions.shape[1])])
        predictions.append(logits.argmax(-1).tolist())
    return predictions, kept


def match_rows(original, compressed):
    """Indices of `original`'s rows that `compressed` holds (exact matches), ascending; None if any row has no unique match."""
    eq = (compressed[:, None, :] == original[None, :, :]).all(-1)  # [kept, n]
    if not bool((eq.sum(-1) == 1).all()):
        return None
    return sorted(eq.float().argmax(-1).tolist())


def accuracy(dump, predictions):
    correct = total = 0
    for ex, pred in zip(dump["examples"], predictions):
        for t, p in zip(ex["targets"], pred):
            if t != -100:
                total += 1
                correct += int(t == p)
    return correct / total


def agreement(dump, predictions):
    """Fraction of scored question positions where both sides predict the same token."""
    same = total = 0
    for ex, pred in zip(dump["examples"], predictions):
        for t, a, b in zip(ex["targets"], ex["predictions"], pred):
            if t != -100:
                total += 1
                same += int(a == b)
    return same / total


def kept_overlap(dump, kept):
    """Mean Jaccard index of the kept position sets and the fraction that are identical, over (example, layer, kv head)."""
    jaccards, identical = [], []
    for ex, ours in zip(dump["examples"], kept):
        for layer_ours, layer_theirs in zip(ex["kept"], ours):
            for a, b in zip(layer_ours, layer_theirs):
                if b is None:
                    return float("nan"), float("nan")
                sa, sb = set(a), set(b)
                jaccards.append(len(sa & sb) / len(sa | sb))
                identical.append(float(sa == sb))
    return sum(jaccards) / len(jaccards), sum(identical) / len(identical)


def main():
    import transformers
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", default=".build/release", help="directory holding the attnlab binary")
    p.add_argument("--checkpoint", action="append", required=True, help="AttnLab training checkpoint (repeatable)")
    p.add_argument("--policies", default="streaming,recent,snapkv,pyramidkv,tova,h2o,streaming-renumbered")
    p.add_argument("--ratios", default="0.25,0.5,0.75")
    p.add_argument("--examples", type=int, default=200, help="test examples per evaluation")
    p.add_argument("--out", default="results/bench/policies-peer.csv")
    args = p.parse_args()
    cli = os.path.join(args.bin, "attnlab")
    if not os.access(cli, os.X_OK):
        sys.exit(f"kvpress_peer: {cli} is missing: build it first (swift build -c release --product attnlab)")
    torch.set_num_threads(1)
    commit = git("rev-parse", "HEAD")
    provenance = dict(torch_version=torch.__version__, transformers_version=transformers.__version__,
                      kvpress_version=importlib.metadata.version("kvpress"), cpu_model=cpu_model(),
                      date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      git_commit=commit, git_dirty=("true" if git("status", "--porcelain", "--untracked-files=no") else "false") if commit else "")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for checkpoint in args.checkpoint:
            model, variant, task = llama_from_checkpoint(checkpoint)
            full = attnlab_eval(cli, checkpoint, "full", 0, args.examples, workdir)
            ours_full, _ = run_examples(model, full, None)
            agree = agreement(full, ours_full)
            print(f"{task} {variant}: full cache, predictions agree at {agree:.4f} of the scored positions; "
                  f"accuracy AttnLab {full['accuracy']:.4f}, Llama {accuracy(full, ours_full):.4f}")
            if agree < 0.995:
                sys.exit("kvpress_peer: the exported model does not reproduce AttnLab's predictions on the full cache")

            def add(policy, press, ratio, metric, value, unit="fraction"):
                rows.append(dict(task=task.split()[0], variant=variant, policy=policy, press=press, ratio=ratio,
                                 metric=metric, value=repr(float(value)), unit=unit, **provenance))
            add("full", "none", 0, "attnlab_accuracy", full["accuracy"])
            add("full", "none", 0, "peer_accuracy", accuracy(full, ours_full))
            add("full", "none", 0, "prediction_agreement", agree)
            for policy in args.policies.split(","):
                for ratio in (float(r) for r in args.ratios.split(",")):
                    dump = attnlab_eval(cli, checkpoint, policy, ratio, args.examples, workdir)
                    press = make_press(policy, ratio, dump)
                    # Eager attention returns the weights ObservedAttentionPress scores by; SDPA
                    # masks layers whose caches kept different lengths (PyramidKV) correctly.
                    model.set_attn_implementation("eager" if isinstance(press, kvpress.ObservedAttentionPress) else "sdpa")
                    predictions, kept = run_examples(model, dump, press)
                    name = type(press).__name__
                    jac, same = kept_overlap(dump, kept) if policy != "streaming-renumbered" else (float("nan"), float("nan"))
                    add(policy, name, ratio, "attnlab_accuracy", dump["accuracy"])
                    add(policy, name, ratio, "peer_accuracy", accuracy(dump, predictions))
                    add(policy, name, ratio, "prediction_agreement", agreement(dump, predictions))
                    add(policy, name, ratio, "kept_jaccard", jac)
                    add(policy, name, ratio, "kept_identical", same)
                    print(f"  {policy:>20} ratio {ratio:<5} accuracy AttnLab {dump['accuracy']:.4f}  kvpress {accuracy(dump, predictions):.4f}"
                          f"  kept sets: Jaccard {jac:.3f}, identical {same:.3f}")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=HEADER, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        f.write(buf.getvalue())
    os.replace(tmp, args.out)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
