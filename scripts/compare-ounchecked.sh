#!/usr/bin/env bash
# Does -Ounchecked make the kernels faster? Builds the release binaries twice, with -O (the
# default) and with ATTNLAB_OUNCHECKED=1 (-Ounchecked on the hot modules, in
# .build-ounchecked), then times both in ROUNDS interleaved rounds on one thread: training
# steps (attnlab-bench train) and prefill at 4096 / decode at 32768 tokens (attnlab-bench
# attention). Writes results/bench/ounchecked/<bench>-<O|Ounchecked>-<round>.csv and prints
# the median time per benchmark and flavour and their ratio. Run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
OUT=results/bench/ounchecked
swift build -c release --product attnlab-bench
ATTNLAB_OUNCHECKED=1 swift build -c release --product attnlab-bench --build-path .build-ounchecked
mkdir -p "$OUT"
for r in $(seq 1 "$ROUNDS"); do
  for flavour in O Ounchecked; do
    bin=.build/release/attnlab-bench
    [ "$flavour" = Ounchecked ] && bin=.build-ounchecked/release/attnlab-bench
    "$bin" train --threads 1 --variants mha,gqa,linear,mla --steps 8 --out "$OUT/train-$flavour-$r.csv" > /dev/null
    "$bin" attention --threads 1 --prefill 4096 --decode 32768 --variants mha,gqa,mqa,mla-absorbed \
      --out "$OUT/attention-$flavour-$r.csv" > /dev/null
  done
done
# Median over rounds of each benchmark's median time, per flavour; ratio -O / -Ounchecked.
for f in "$OUT"/*-O-*.csv "$OUT"/*-Ounchecked-*.csv; do
  flavour=$(basename "$f" .csv | sed 's/^[a-z]*-//; s/-[0-9]*$//')
  awk -F, -v fl="$flavour" 'NR > 1 && ($8 == "median_step_seconds" || $10 == "median_seconds") {
      if ($1 == "train") print $1 " " $2, fl, $9; else print $1 " " $2 " " $3, fl, $11 }' "$f"
done | sort | awk '
  { key = $1 " " $2 (NF == 5 ? " " $3 : ""); fl = $(NF - 1); v[key, fl, ++n[key, fl]] = $NF; keys[key] = 1 }
  function median(key, fl,   i, j, t, a, m) {
    m = n[key, fl]; for (i = 1; i <= m; i++) a[i] = v[key, fl, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
  END { for (k in keys) { o = median(k, "O"); u = median(k, "Ounchecked"); printf "%-28s %12.5g %12.5g %8.3f\n", k, o, u, o / u } }' \
  | sort | { printf "%-28s %12s %12s %8s\n" "benchmark" "-O (s)" "-Ounchecked" "ratio"; cat; }
