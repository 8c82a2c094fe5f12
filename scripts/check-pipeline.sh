#!/usr/bin/env bash
# End-to-end check of the whole pipeline on the smoke profile, in a temporary copy of
# the tracked tree: every experiment's shards, merge, the report generator, every
# figure (PDF and PNG), the README copy and the report through the same Makefile rules as
# make all. PROFILE=smoke writes its outputs under out/smoke/; the committed outputs
# (results/*.csv, README.md, docs/figures/*.png, paper/report.pdf, and anything else under
# results/, docs/ and paper/ but the shards) must come out of it byte-identical, with no
# file added.
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
# Fresh smoke shards (they live in results/shards/<experiment>/smoke/ whatever the profile).
rm -rf results/shards out paper/generated paper/build paper/build.log
mkdir -p .build/release
ln -s "$bin" .build/release/attnlab
out=out/smoke
# Checksums of every committed output: everything under results/ (but the shards), docs/
# and paper/, and README.md. A file changed, added or removed there shows as a difference.
committed() {
  find results docs paper README.md -path results/shards -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
}
committed >"$work/committed-before.sha256"
for f in README.md paper/report.pdf $(ls results/*.csv docs/figures/*.png); do
  grep -q "  $f\$" "$work/committed-before.sha256" || { echo "check-pipeline: committed output $f missing from the copy" >&2; exit 1; }
done
start=$(date +%s)
# make must not try to rebuild the binary here: the release target is replaced by the given one.
mk() { make --no-print-directory -o release -o deps -o deps-all PROFILE=smoke "$@"; }
mk experiments >"$work/experiments.log" 2>&1 \
  || { tail -30 "$work/experiments.log"; echo "check-pipeline: experiments failed" >&2; exit 1; }
mk figures report >"$work/report.log" 2>&1 \
  || { tail -40 "$work/report.log"; echo "check-pipeline: report failed" >&2; exit 1; }
for e in kv-cache-models kv-cache-scaling prefill-scaling decode-scaling mqar-recall mqar-one-head recall-vs-cache passkey-distance copying selective-copying throughput multikey-needle; do
  [ -s "$out/results/$e.csv" ] || { echo "check-pipeline: $out/results/$e.csv missing" >&2; exit 1; }
  ls results/shards/"$e"/smoke/*.csv >/dev/null 2>&1 || { echo "check-pipeline: no shards in results/shards/$e/smoke/" >&2; exit 1; }
done
pages=$(pdfinfo "$out/paper/report.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}' || true)
[ -s "$out/paper/report.pdf" ] || { echo "check-pipeline: no $out/paper/report.pdf" >&2; exit 1; }
grep -q "Overfull" "$out/paper/build/report.log" && { grep -A2 "Overfull" "$out/paper/build/report.log" | head -20; echo "check-pipeline: overfull boxes in the report" >&2; exit 1; }
# LaTeX ran in out/smoke/paper, so report.tex read out/smoke/paper/generated/.
grep -qx "PWD $work/$out/paper" "$out/paper/build/report.fls" \
  || { echo "check-pipeline: the report was not built in $out/paper:" >&2; grep '^PWD' "$out/paper/build/report.fls" >&2; exit 1; }
grep -qF '\newcommand{\ResultsProfile}{smoke}' "$out/paper/generated/numbers.tex" \
  || { echo "check-pipeline: $out/paper/generated/numbers.tex is not about the smoke profile" >&2; exit 1; }
[ -s "$out/README.md" ] && ls "$out"/docs/figures/*.png >/dev/null 2>&1 \
  || { echo "check-pipeline: no README copy or headline figures in $out/" >&2; exit 1; }
# make says where the outputs went.
where="smoke-profile outputs are in $out/ (report: $out/paper/report.pdf); the committed results were not touched"
grep -qxF "$where" "$work/report.log" || { echo "check-pipeline: make did not say: $where" >&2; tail -5 "$work/report.log" >&2; exit 1; }
# The committed outputs are untouched, and nothing was added next to them.
committed >"$work/committed-after.sha256"
if ! cmp -s "$work/committed-before.sha256" "$work/committed-after.sha256"; then
  echo "check-pipeline: PROFILE=smoke changed the committed outputs:" >&2
  diff "$work/committed-before.sha256" "$work/committed-after.sha256" >&2 || true
  exit 1
fi
# A second make does nothing: every target is up to date.
targets="$out/paper/report.pdf $out/README.md $(ls "$out"/paper/generated/figures/*.png "$out"/docs/figures/*.png)"
if mk -q $targets; then :; else
  echo "check-pipeline: a second make would rebuild something:" >&2
  mk -n $targets | head >&2; exit 1
fi
# Claims are checked: a results file that stops supporting one fails the generator, naming it.
"$bin" report --enforce-claims --results "$out/results" --bench results/bench --out "$work/claims-before" >"$work/before.log" 2>&1 || true
grep -q "deepseek-v3-57x" "$work/before.log" && { echo "check-pipeline: deepseek-v3-57x fails on untouched data" >&2; cat "$work/before.log" >&2; exit 1; }
sed -i 's/^\(kv-cache-models,.*,deepseek-v3,.*,mla_reduction_vs_mha,\)[^,]*,/\110.0,/' "$out/results/kv-cache-models.csv"
if "$bin" report --enforce-claims --results "$out/results" --bench results/bench --out "$work/claims-after" >"$work/after.log" 2>&1; then
  echo "check-pipeline: the generator accepted a tampered DeepSeek-V3 reduction" >&2; exit 1
fi
grep -q "deepseek-v3-57x" "$work/after.log" || { echo "check-pipeline: the failing claim was not named:" >&2; cat "$work/after.log" >&2; exit 1; }
echo "check-pipeline: ok — smoke experiments, figures and $out/paper/report.pdf${pages:+ ($pages pages)} in $(( $(date +%s) - start )) s; committed outputs unchanged"
