#!/usr/bin/env bash
# Checks that `attnlab train` with nothing but the mechanism and the cell converges: MHA at
# its default width, learning rate and budget reaches 99 % on zoology's (64, 4) and (128, 8)
# MQAR cells at vocabulary 8192. Minutes per cell on one core, so it is not part of
# `make test`; its output is committed as results/bench/defaults.csv.
#   scripts/check-defaults.sh [path/to/attnlab] [out.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-.build/release/attnlab}"
OUT="${2:-results/bench/defaults.csv}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

COMMIT="$(git rev-parse --short HEAD)"  # the checkout when the script started
echo "seq_len,kv_pairs,seed,test_accuracy,steps,reached_99,commit" > "$TMP/out.csv"
status=0
for cell in "64 4" "128 8"; do
    set -- $cell
    for seed in 0 1; do
        "$BIN" train --variant mha --seq-len "$1" --kv-pairs "$2" --seed "$seed" --threads 1 > "$TMP/log" 2>"$TMP/err"
        test=$(sed -n 's/^test accuracy \([0-9.]*\).*/\1/p' "$TMP/log")
        steps=$(sed -n 's/.* after \([0-9]*\) steps.*/\1/p' "$TMP/log")
        if grep -q '^reached 99.0%' "$TMP/log"; then reached=1; else reached=0; status=1; fi
        echo "$1,$2,$seed,$test,$steps,$reached,$COMMIT" >> "$TMP/out.csv"
        echo "T=$1 N=$2 seed $seed: test accuracy $test after $steps steps, reached 99 %: $reached"
    done
done
mkdir -p "$(dirname "$OUT")"
mv "$TMP/out.csv" "$OUT"
exit $status
