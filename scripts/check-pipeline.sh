#!/usr/bin/env bash
# End-to-end check of the whole pipeline on the smoke profile, in a temporary copy of
# the tracked tree: every experiment's shards, merge, the report generator, every
# figure (PDF and PNG) and paper/report.pdf through the same Makefile rules as make all.
# Claims are not enforced for smoke results (they are listed on the report's first page);
# a tampered result must still fail the generator when claims are enforced.
#   scripts/check-pipeline.sh [path/to/attnlab]
set -euo pipefail
bin="$(realpath "${1:-.build/debug/attnlab}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
[ -n "${KEEP:-}" ] && echo "check-pipeline: keeping $work" || trap 'rm -rf "$work"' EXIT
cd "$root"
# The tracked files plus untracked, unignored ones (a checkout being developed).
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$work" 2>/dev/null || true
cd "$work"
rm -rf results/shards results/*.csv paper/generated paper/report.pdf
mkdir -p .build/release
ln -s "$bin" .build/release/attnlab
start=$(date +%s)
# make must not try to rebuild the binary here: the release target is replaced by the given one.
make --no-print-directory -o release -o deps -o deps-all experiments PROFILE=smoke >"$work/experiments.log" 2>&1 \
  || { tail -30 "$work/experiments.log"; echo "check-pipeline: experiments failed" >&2; exit 1; }
make --no-print-directory -o release -o deps -o deps-all paper/report.pdf figures >"$work/report.log" 2>&1 \
  || { tail -40 "$work/report.log"; echo "check-pipeline: report failed" >&2; exit 1; }
for e in kv-cache-models kv-cache-scaling prefill-scaling decode-scaling mqar-recall recall-vs-cache passkey-distance copying selective-copying throughput multikey-needle; do
  [ -s "results/$e.csv" ] || { echo "check-pipeline: results/$e.csv missing" >&2; exit 1; }
done
pages=$(pdfinfo paper/report.pdf 2>/dev/null | awk '/^Pages:/ {print $2}' || true)
[ -s paper/report.pdf ] || { echo "check-pipeline: no paper/report.pdf" >&2; exit 1; }
grep -q "Overfull" paper/build/report.log && { grep -A2 "Overfull" paper/build/report.log | head -20; echo "check-pipeline: overfull boxes in the report" >&2; exit 1; }
# A second make does nothing: every target is up to date.
targets="paper/report.pdf $(ls paper/generated/figures/*.png)"
if make --no-print-directory -q -o release -o deps -o deps-all $targets; then :; else
  echo "check-pipeline: a second make would rebuild something:" >&2
  make -n -o release -o deps -o deps-all $targets | head >&2; exit 1
fi
# Claims are checked: a results file that stops supporting one fails the generator, naming it.
"$bin" report --enforce-claims --results results --out "$work/claims-before" >"$work/before.log" 2>&1 || true
grep -q "deepseek-v3-57x" "$work/before.log" && { echo "check-pipeline: deepseek-v3-57x fails on untouched data" >&2; cat "$work/before.log" >&2; exit 1; }
sed -i 's/^\(kv-cache-models,.*,deepseek-v3,.*,mla_reduction_vs_mha,\)[^,]*,/\110.0,/' results/kv-cache-models.csv
if "$bin" report --enforce-claims --results results --out "$work/claims-after" >"$work/after.log" 2>&1; then
  echo "check-pipeline: the generator accepted a tampered DeepSeek-V3 reduction" >&2; exit 1
fi
grep -q "deepseek-v3-57x" "$work/after.log" || { echo "check-pipeline: the failing claim was not named:" >&2; cat "$work/after.log" >&2; exit 1; }
echo "check-pipeline: ok — smoke experiments, figures and paper/report.pdf${pages:+ ($pages pages)} in $(( $(date +%s) - start )) s"
