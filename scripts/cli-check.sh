#!/usr/bin/env bash
# End-to-end checks of the attnlab command line (run by `make test` after the build):
# user errors exit with status 2 and name the bad value and the valid ones; forward
# round-trips safetensors; train runs, checkpoints and resumes; kv-cache reads published configs;
# `run` refuses bad experiments, profiles, variants, shards and specs without writing anything.
set -euo pipefail
BIN="${1:-.build/debug/attnlab}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/attnlab-cli.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
failures=0

# expect_error "<substring of the message>" cmd args...: exit status 2, message on stderr.
expect_error() {
  local want="$1"; shift
  local status=0
  "$@" > "$WORK/out" 2> "$WORK/err" || status=$?
  if [ "$status" -ne 2 ] || ! grep -qF -- "$want" "$WORK/err"; then
    echo "FAIL: '$*' exited $status (want 2) with: $(cat "$WORK/err")"; failures=$((failures + 1))
  fi
}
expect_ok() {
  if ! "$@" > "$WORK/out" 2> "$WORK/err"; then
    echo "FAIL: '$*' failed: $(cat "$WORK/err")"; failures=$((failures + 1))
  fi
}

expect_ok "$BIN" --version
expect_ok "$BIN" variants
grep -q '^mla .*d_c + d_h^R' "$WORK/out" || { echo "FAIL: variants lacks mla's formula"; failures=$((failures + 1)); }

echo '{"hidden_size": 16, "num_attention_heads": 4, "num_key_value_heads": 2}' > "$WORK/cfg.json"
python3 - "$WORK/x.safetensors" <<'PY'
import json, struct, sys
vals = [((i * 7919) % 97) / 97.0 - 0.5 for i in range(2 * 5 * 16)]
hdr = json.dumps({"x": {"dtype": "F32", "shape": [2, 5, 16], "data_offsets": [0, 4 * len(vals)]}}).encode()
hdr += b" " * (-len(hdr) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hdr)) + hdr + struct.pack("<%df" % len(vals), *vals))
PY
expect_ok "$BIN" forward --variant gqa --config "$WORK/cfg.json" --input "$WORK/x.safetensors" --output "$WORK/y.safetensors" --decode --save-weights "$WORK/w.safetensors"
expect_ok "$BIN" forward --variant gqa --config "$WORK/cfg.json" --weights "$WORK/w.safetensors" --input "$WORK/x.safetensors" --output "$WORK/y2.safetensors" --decode
cmp -s "$WORK/y.safetensors" "$WORK/y2.safetensors" || { echo "FAIL: forward with saved weights differs"; failures=$((failures + 1)); }
expect_ok "$BIN" forward --variant mla --config "$WORK/cfg.json" --input "$WORK/x.safetensors" --output "$WORK/yp.safetensors" --prefill --mla-path naive
grep -qa '"y_prefill"' "$WORK/yp.safetensors" || { echo "FAIL: forward --prefill wrote no y_prefill"; failures=$((failures + 1)); }

expect_error "valid: mha, gqa, mqa, swa, linear, mla" "$BIN" forward --variant flash --config "$WORK/cfg.json" --input "$WORK/x.safetensors" --output "$WORK/z.safetensors"
echo '{"hidden_size": 16, "num_attention_heads": 4, "num_key_value_heads": 3}' > "$WORK/bad.json"
expect_error "num_key_value_heads = 3" "$BIN" forward --variant gqa --config "$WORK/bad.json" --input "$WORK/x.safetensors" --output "$WORK/z.safetensors"
echo '{"hidden_size": 16' > "$WORK/broken.json"
expect_error "not valid JSON" "$BIN" forward --variant gqa --config "$WORK/broken.json" --input "$WORK/x.safetensors" --output "$WORK/z.safetensors"
expect_error "q_proj.weight' has shape [16, 16], expected [24, 16]" "$BIN" forward --variant mla --config "$WORK/cfg.json" --weights "$WORK/w.safetensors" --input "$WORK/x.safetensors" --output "$WORK/z.safetensors"
[ ! -e "$WORK/z.safetensors" ] || { echo "FAIL: a failed forward left an output file"; failures=$((failures + 1)); }
expect_error "valid: mqar, passkey, copying, selective-copying, multikey-needle" "$BIN" train --variant mha --task recall
expect_error "--needles does not apply to task mqar" "$BIN" train --variant mha --needles 4
expect_error "needles = 50" "$BIN" train --variant mha --task multikey-needle --seq-len 64 --vocab 512 --needles 50
expect_error "--window does not apply to mha" "$BIN" train --variant mha --window 8
expect_error "gqa needs --kv-heads" "$BIN" train --variant gqa --heads 4
expect_error "kv-pairs = 40" "$BIN" train --variant mha --seq-len 64 --kv-pairs 40
expect_error "--layers 0" "$BIN" train --variant mha --layers 0
expect_error "--threads 0" "$BIN" info --threads 0

# Cache policies on a trained checkpoint: the full cache reproduces the run's test accuracy.
expect_ok "$BIN" policies
grep -q '^snapkv  *eviction' "$WORK/out" || { echo "FAIL: policies lacks snapkv"; failures=$((failures + 1)); }
expect_ok "$BIN" train --variant gqa --heads 4 --kv-heads 2 --seq-len 16 --kv-pairs 2 --vocab 32 --d-model 16 --max-steps 4 --warmup 1 --batch-size 4 --eval-every 2 --eval-examples 8 --test-examples 16 --checkpoint "$WORK/run.ckpt"
test_accuracy=$(sed -n 's/^test accuracy \([0-9.]*\).*/\1/p' "$WORK/out")
expect_ok "$BIN" eval --checkpoint "$WORK/run.ckpt"
grep -q "^accuracy $test_accuracy " "$WORK/out" || { echo "FAIL: eval's full cache ($(grep '^accuracy' "$WORK/out")) differs from training's test accuracy $test_accuracy"; failures=$((failures + 1)); }
expect_ok "$BIN" eval --checkpoint "$WORK/run.ckpt" --policy kivi --bits 2
# --dump: every example as evaluated, for a peer (scripts/kvpress_peer.py) to compare against.
expect_ok "$BIN" eval --checkpoint "$WORK/run.ckpt" --policy snapkv --ratio 0.5 --examples 6 --dump "$WORK/dump/eval.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['policy']=='snapkv' and len(d['examples'])==6 and all(len(e['kept'])==2 for e in d['examples'])" \
  "$WORK/dump/eval.json" || { echo "FAIL: eval --dump did not write 6 examples with 2 layers' kept positions"; failures=$((failures + 1)); }
expect_error "valid: full, streaming, streaming-renumbered, recent, h2o" "$BIN" eval --checkpoint "$WORK/run.ckpt" --policy lru
expect_error "ratio = 1.0" "$BIN" eval --checkpoint "$WORK/run.ckpt" --policy h2o --ratio 1
expect_error "bits = 3 is invalid for kivi; valid: 2, 4" "$BIN" eval --checkpoint "$WORK/run.ckpt" --policy kivi --bits 3
expect_error "--bits does not apply to snapkv" "$BIN" eval --checkpoint "$WORK/run.ckpt" --policy snapkv --bits 4
expect_error "not a training checkpoint" "$BIN" eval --checkpoint "$WORK/w.safetensors"

# kv-cache: a published config works and says what it used; malformed configs name the field.
expect_ok "$BIN" kv-cache --config configs/models/deepseek-v3.json --context 32768
grep -q '56.9× less' "$WORK/out" || { echo "FAIL: kv-cache lacks the MLA ratio: $(cat "$WORK/out")"; failures=$((failures + 1)); }
grep -q '^  kv_lora_rank = 512$' "$WORK/out" || { echo "FAIL: kv-cache does not list the fields it used"; failures=$((failures + 1)); }
echo '{"num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 3, "hidden_size": 4096}' > "$WORK/kv-bad.json"
expect_error "num_key_value_heads = 3" "$BIN" kv-cache --config "$WORK/kv-bad.json"
echo '{"num_hidden_layers": 4, "num_attention_heads": 8, "hidden_size": 64, "sliding_window": 0}' > "$WORK/kv-window.json"
expect_error "sliding_window = 0" "$BIN" kv-cache --config "$WORK/kv-window.json"
expect_error "not valid JSON" "$BIN" kv-cache --config "$WORK/broken.json"
expect_error "--context '0'" "$BIN" kv-cache --config configs/models/llama-2-7b.json --context 4096,0

# A short run with a checkpoint, then the same command resumes and finds it finished.
TRAIN=(train --variant mla --vocab 64 --seq-len 16 --kv-pairs 2 --d-model 16 --heads 2 --max-steps 6 --warmup 2
       --eval-every 3 --eval-examples 16 --batch-size 4 --target-accuracy 1 --checkpoint "$WORK/ckpt/run.safetensors" --curve "$WORK/curve.csv")
expect_ok "$BIN" "${TRAIN[@]}"
grep -q '^validation accuracy .* after 6 steps' "$WORK/out" || { echo "FAIL: train output: $(cat "$WORK/out")"; failures=$((failures + 1)); }
[ "$(head -1 "$WORK/curve.csv")" = "step,loss,eval_accuracy,elapsed_seconds" ] || { echo "FAIL: curve header"; failures=$((failures + 1)); }
expect_ok "$BIN" "${TRAIN[@]}"
grep -q 'resumed from' "$WORK/err" || { echo "FAIL: second run did not resume"; failures=$((failures + 1)); }

# A time budget alone: no step budget ends the run first; it stops by time (or the target),
# and reports test accuracy.
expect_ok "$BIN" train --variant mha --vocab 64 --seq-len 16 --kv-pairs 2 --d-model 16 --heads 2 --batch-size 4 \
    --eval-every 5 --eval-examples 8 --test-examples 8 --target-accuracy 1 --max-minutes 0.02
grep -q 'stopped by max-time' "$WORK/out" || { echo "FAIL: --max-minutes alone: $(cat "$WORK/out")"; failures=$((failures + 1)); }
grep -q '^test accuracy ' "$WORK/out" || { echo "FAIL: train prints no test accuracy: $(cat "$WORK/out")"; failures=$((failures + 1)); }

# Experiments: bad input to `run` exits 2, names the bad value and the valid ones, and writes
# nothing under --results; a smoke run with --merge writes the merged CSV.
RES="$WORK/results"
expect_error "unknown experiment 'no-such-experiment'; valid: all, cache-policies, copying" "$BIN" run no-such-experiment --profile smoke --results "$RES"
expect_error "unknown profile 'fast'; valid: smoke, quick, paper" "$BIN" run kv-cache-models --profile fast --results "$RES"
expect_error "has no variant 'flash'; valid: mha, gqa" "$BIN" run mqar-recall --profile smoke --variants flash --results "$RES"
expect_error "--shard 0/0: the number of slices n = 0 must be at least 1" "$BIN" run mqar-recall --profile smoke --shard 0/0 --results "$RES"
expect_error "--shard 5/4: the slice index must be in 0...3" "$BIN" run mqar-recall --profile smoke --shard 5/4 --results "$RES"
mkdir -p "$WORK/specs"
cp experiments/kv-cache-scaling.json "$WORK/specs/"
sed 's/"kind": "kv-cache-scaling"/"kind": "kv-cache-scalin"/' experiments/kv-cache-scaling.json > "$WORK/specs/bad-kind.json"
sed -i 's/"name": "kv-cache-scaling"/"name": "bad-kind"/' "$WORK/specs/bad-kind.json"
expect_error "unknown kind 'kv-cache-scalin'; valid: kv-cache-models, kv-cache-scaling" "$BIN" run kv-cache-scaling --profile smoke --experiments "$WORK/specs" --results "$RES"
echo '{"name": "broken", "version": 1,' > "$WORK/specs/bad-kind.json"
mv "$WORK/specs/bad-kind.json" "$WORK/specs/broken.json"
expect_error "broken.json is not valid JSON" "$BIN" run all --profile smoke --experiments "$WORK/specs" --results "$RES"
sed 's/"layers": 1,/"layers": 0,/' experiments/kv-cache-scaling.json > "$WORK/specs/broken.json"
sed -i 's/"name": "kv-cache-scaling"/"name": "broken"/' "$WORK/specs/broken.json"
expect_error "layers = 0: must be at least 1" "$BIN" run kv-cache-scaling --profile smoke --experiments "$WORK/specs" --results "$RES"
if [ -e "$RES" ]; then echo "FAIL: rejected runs wrote under --results: $(find "$RES")"; failures=$((failures + 1)); fi
# prune: a shard no current run writes is listed by --dry-run and removed without it.
mkdir -p "$WORK/prune/shards/kv-cache-models/smoke"
echo "not a run of the spec" > "$WORK/prune/shards/kv-cache-models/smoke/old-run-0123.csv"
expect_ok "$BIN" prune kv-cache-models --profile smoke --dry-run --results "$WORK/prune"
grep -q 'would remove .*old-run-0123.csv' "$WORK/out" && [ -e "$WORK/prune/shards/kv-cache-models/smoke/old-run-0123.csv" ] \
  || { echo "FAIL: prune --dry-run: $(cat "$WORK/out")"; failures=$((failures + 1)); }
expect_ok "$BIN" prune kv-cache-models --profile smoke --results "$WORK/prune"
[ ! -e "$WORK/prune/shards/kv-cache-models/smoke/old-run-0123.csv" ] || { echo "FAIL: prune left the orphan"; failures=$((failures + 1)); }
expect_error "unknown profile 'fast'" "$BIN" prune --profile fast
expect_ok "$BIN" run kv-cache-models --profile smoke --results "$RES" --merge
if [ ! -s "$RES/kv-cache-models.csv" ] || ! head -1 "$RES/kv-cache-models.csv" | grep -q '^experiment,spec_version,profile,variant,'; then
  echo "FAIL: run --merge did not write $RES/kv-cache-models.csv"; failures=$((failures + 1))
fi
grep -q '^kv-cache-models,1,smoke,deepseek-v3,' "$RES/kv-cache-models.csv" 2>/dev/null || { echo "FAIL: kv-cache-models.csv lacks deepseek-v3"; failures=$((failures + 1)); }
expect_ok "$BIN" merge kv-cache-models --profile smoke --results "$RES"
grep -q 'kv-cache-models.csv: .* rows (unchanged)' "$WORK/out" || { echo "FAIL: a second merge rewrote the CSV: $(cat "$WORK/out")"; failures=$((failures + 1)); }

# An x86-64 build for Haswell on a CPU without AVX2/FMA stops at start-up with a clear
# message (a /proc/cpuinfo without them, bind-mounted in a private mount namespace; needs root).
if [ "$(uname -m)" = x86_64 ] && printf 'flags\t\t: fpu sse sse2 avx\n' > "$WORK/cpuinfo" \
   && unshare -m true 2>/dev/null; then
  status=0
  unshare -m sh -c "mount --bind '$WORK/cpuinfo' /proc/cpuinfo && exec '$BIN' variants" > "$WORK/out" 2> "$WORK/err" || status=$?
  if [ "$status" -ne 2 ] || ! grep -q "lacks avx2, fma; rebuild for any x86-64 with: ATTNLAB_GENERIC_CPU=1" "$WORK/err"; then
    echo "FAIL: an AVX2-less CPU: exit $status, $(cat "$WORK/err")"; failures=$((failures + 1))
  fi
else
  echo "cli-check: skipped the CPU-feature check (needs x86-64 and unshare as root)"
fi

# A disk that fills up during a sweep (a 24 KiB tmpfs in a private mount namespace; needs
# root): the sweep stops at the first shard it cannot write, with a message, keeping the
# finished shards whole and leaving no partial one.
if unshare -m true 2>/dev/null; then
  mkdir -p "$WORK/tiny"
  status=0
  unshare -m sh -c "mount -t tmpfs -o size=24k tmpfs '$WORK/tiny' && '$BIN' run kv-cache-scaling --profile smoke --results '$WORK/tiny/results' > '$WORK/out' 2> '$WORK/err';
    s=\$?; find '$WORK/tiny' -name '*.tmp-*' > '$WORK/partial'; ls '$WORK/tiny/results/shards/kv-cache-scaling/smoke' | grep -c '\.csv\$' > '$WORK/count'; exit \$s" || status=$?
  if [ "$status" -eq 0 ] || ! grep -q "No space left on device; stopped the sweep after" "$WORK/err" || [ -s "$WORK/partial" ] \
     || [ "$(cat "$WORK/count")" -ge 12 ]; then
    echo "FAIL: a full disk during a sweep: exit $status, $(tail -2 "$WORK/err"), partial: $(cat "$WORK/partial"), shards $(cat "$WORK/count")"
    failures=$((failures + 1))
  fi
else
  echo "cli-check: skipped the full-disk check (needs unshare as root)"
fi

if [ "$failures" -gt 0 ]; then echo "cli-check: $failures failure(s)"; exit 1; fi
echo "cli-check: all command-line checks passed"
