#!/usr/bin/env bash
# Fault tests (run by `make test` after the build; docs/reliability.md, "Fault tests"):
#  1. Two concurrent sweeps on one results directory: two `make run-<experiment>...` (the
#     per-experiment targets `make experiments` is made of, PROFILE=smoke) at once on six
#     experiments (training, published configs and a timed one) run every run exactly once,
#     leave every shard once and no claim or temporary file, and merge to the same CSVs as
#     one process does (wall-time metrics and the date column aside).
#  2. SIGTERM and SIGKILL at many points during `attnlab merge` (committed paper shards, one
#     value changed per experiment), `attnlab report` (committed results, one value changed)
#     and scripts/update-readme.sh: every output is afterwards byte-identical to its previous
#     version or to the new one an uninterrupted run writes, never truncated or missing; the
#     report's files are all old or all new after SIGTERM; SIGTERM prints a message and exits
#     143 and leaves no temporary file; SIGKILL leaves at most dot-named `.NAME.tmp-*` files,
#     which the next run removes once stale.
#   scripts/check-faults.sh [path/to/attnlab]      (KEEP=1 keeps the work directory)
set -Eeuo pipefail
# A command that fails outside a test (set -e) names its line instead of ending the script silently.
trap '[ "$BASHPID" = "$$" ] && echo "check-faults: line $LINENO: a command failed (exit $?)" >&2' ERR
bin="$(realpath "${1:-.build/debug/attnlab}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/attnlab-faults.XXXXXX")"
# Only the script's own shell removes it: a background subshell that a kill point's signal
# reaches before it execs the writer runs the EXIT trap it inherited.
[ -n "${KEEP:-}" ] && echo "check-faults: keeping $work" || trap '[ "$BASHPID" = "$$" ] && rm -rf "$work"' EXIT
cd "$root"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
now_ms() { date +%s%3N; }
start=$(now_ms)

# Rows of a merged CSV as compared between processes: without the date column, and with the
# values of wall-time metrics blanked (their rows must still be there, once). A run adopted
# from another experiment's identical run (reused_run_seconds) counts as one trained here
# (run_seconds): which process trains it first and which adopts it depends on timing. Also
# fails on a row whose identity (everything before the value) appears twice.
cat >"$work/normalize.py" <<'PY'
import csv, sys
time_metrics = {"train_seconds", "train_tokens_per_second", "run_seconds", "median_seconds_per_step", "tokens_per_second"}
rows = list(csv.reader(open(sys.argv[1], newline="")))
header, body = rows[0], rows[1:]
metric, value, date = header.index("metric"), header.index("value"), header.index("date")
ids = [tuple(r[:value]) for r in body]
if len(set(ids)) != len(ids):
    sys.exit(f"{sys.argv[1]}: {len(ids) - len(set(ids))} duplicated row(s)")
for r in body:
    if r[metric] == "reused_run_seconds": r[metric] = "run_seconds"
    if r[metric] in time_metrics: r[value] = "<time>"
    del r[date]
out = csv.writer(sys.stdout, lineterminator="\n")
for r in sorted(body): out.writerow(r)
PY

# --- 1. Two sweeps at once ---------------------------------------------------------------
exps="kv-cache-models copying selective-copying recall-vs-cache mqar-recall throughput"
sweep() {  # sweep RESULTS MERGED_DIR: the Makefile's run-<experiment> targets, smoke profile
  make --no-print-directory -o release -o deps PROFILE=smoke BIN="$bin" RESULTS="$1" CSV_DIR="$2" \
    $(for e in $exps; do printf 'run-%s ' "$e"; done)
}
t0=$(now_ms)
sweep "$work/shared" "$work/shared-merged" >"$work/sweep-a.log" 2>&1 & pa=$!
sweep "$work/shared" "$work/shared-merged" >"$work/sweep-b.log" 2>&1 & pb=$!
sa=0; wait $pa || sa=$?
sb=0; wait $pb || sb=$?
t1=$(now_ms)
sweep "$work/single" "$work/single-merged" >"$work/sweep-single.log" 2>&1 || fail "the single sweep failed: $(tail -3 "$work/sweep-single.log")"
[ "$sa" -eq 0 ] && [ "$sb" -eq 0 ] || fail "concurrent sweeps exited $sa and $sb: $(tail -3 "$work/sweep-a.log") / $(tail -3 "$work/sweep-b.log")"
ran_a=0; ran_b=0; total=0
for e in $exps; do
  dir="$work/shared/shards/$e/smoke"
  runs=$("$bin" run "$e" --profile smoke --results "$work/shared" --dry-run | grep -c '^done ' || true)
  todo=$("$bin" run "$e" --profile smoke --results "$work/shared" --dry-run | grep -c '^todo ' || true)
  shards=$(find "$dir" -maxdepth 1 -name '*.csv' ! -name '.*' | wc -l)
  other=$(find "$dir" -mindepth 1 -maxdepth 1 \( -name '.*' -o ! -name '*.csv' \) -printf '%f ')
  [ "$todo" -eq 0 ] && [ "$shards" -eq "$runs" ] || fail "$e: $shards shards for $runs done and $todo missing runs"
  [ -z "$other" ] || fail "$e: files besides the shards left: $other"
  # Each run executed (trained, or adopted from another experiment's identical run) by
  # exactly one of the two processes.
  na=$(grep -cE "^\[[0-9]*/[0-9]*\] $e .*: (done in|reused) " "$work/sweep-a.log" || true)
  nb=$(grep -cE "^\[[0-9]*/[0-9]*\] $e .*: (done in|reused) " "$work/sweep-b.log" || true)
  [ $((na + nb)) -eq "$runs" ] || fail "$e: the two processes executed $na + $nb runs, not $runs"
  ran_a=$((ran_a + na)); ran_b=$((ran_b + nb)); total=$((total + runs))
  if python3 "$work/normalize.py" "$work/shared-merged/$e.csv" >"$work/$e.shared.rows" 2>"$work/$e.err" \
     && python3 "$work/normalize.py" "$work/single-merged/$e.csv" >"$work/$e.single.rows" 2>>"$work/$e.err"; then
    cmp -s "$work/$e.shared.rows" "$work/$e.single.rows" \
      || fail "$e: the merged CSV of two processes differs from one process's: $(diff "$work/$e.shared.rows" "$work/$e.single.rows" | head -4)"
  else
    fail "$e: $(cat "$work/$e.err")"
  fi
done
left=$(find "$work/shared/shards" -mindepth 1 -maxdepth 1 -name '.*' ! -name .machine.lock -printf '%f ')
[ -z "$left" ] || fail "files left in shards/: $left"
echo "check-faults: two concurrent sweeps: $total runs of $(echo $exps | wc -w) experiments, $ran_a + $ran_b executed by the two processes" \
  "($(( (t1 - t0) / 1000 )) s), every shard once, merged CSVs equal to one process's"

# --- 2. Signals while writing outputs ----------------------------------------------------
# kill_points NAME SIGNAL DELAYS...: for each delay (seconds), restore_NAME puts the previous
# outputs back, start_NAME starts the writer in the background (stdout/stderr to $work/NAME.err),
# the writer gets SIGNAL after the delay (start_NAME execs the writer, so $! is its pid; called
# in a subshell elsewhere), and check_NAME SIGNAL STATUS judges what it left.
# The check functions add to the counters below.
declare -A count whole_set
kill_points() {
  local name="$1" sig="$2"; shift 2
  local d pid status
  for d in "$@"; do
    "restore_$name"
    "start_$name" & pid=$!
    sleep "$d"
    kill -s "$sig" "$pid" 2>/dev/null || true
    status=0; wait "$pid" 2>/dev/null || status=$?  # (no "Killed" job notice)
    count[$name.$sig.points]=$(( ${count[$name.$sig.points]:-0} + 1 ))
    "check_$name" "$sig" "$status" "$d"
  done
}
# increasing N T: N delays from 0 to 1.2 T in equal steps (T in milliseconds).
increasing() { awk -v n="$1" -v t="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%.3f ", 1.2 * t * i / (n - 1) / 1000 }'; }
# judge NAME SIG STATUS DELAY OLD NEW DIR FILES...: every file in DIR is OLD's or NEW's version,
# whole; counts all-old, all-new and mixed outcomes; SIGTERM: exit 143 with the message, or 0
# when it finished first, and no temporary file; SIGKILL: only .NAME.tmp-* files besides.
judge() {
  local name="$1" sig="$2" status="$3" d="$4" old="$5" new="$6" dir="$7"; shift 7
  local f olds=0 news=0 bad=""
  for f in "$@"; do
    if cmp -s "$old/$f" "$new/$f"; then  # the same in both versions: only whole
      cmp -s "$dir/$f" "$old/$f" || bad+="$f$([ -e "$dir/$f" ] || echo ' (missing)') "
    elif cmp -s "$dir/$f" "$old/$f"; then olds=$((olds + 1))
    elif cmp -s "$dir/$f" "$new/$f"; then news=$((news + 1))
    else bad+="$f$([ -e "$dir/$f" ] || echo ' (missing)') "; fi
  done
  [ -z "$bad" ] || fail "$name, $sig after ${d}s: neither the old nor the new version: $bad"
  if [ "$news" -eq 0 ]; then count[$name.$sig.old]=$(( ${count[$name.$sig.old]:-0} + 1 ))
  elif [ "$olds" -eq 0 ]; then count[$name.$sig.new]=$(( ${count[$name.$sig.new]:-0} + 1 ))
  else count[$name.$sig.mixed]=$(( ${count[$name.$sig.mixed]:-0} + 1 )); fi
  local temps unknown
  temps=$(find "$dir" -mindepth 1 -maxdepth 1 -name '.*.tmp-*' -printf '%f ')
  unknown=$(find "$dir" -mindepth 1 -maxdepth 1 ! -type d ! -name '.*.tmp-*' -printf '%f\n' | grep -vxF -f <(printf '%s\n' "$@") | tr '\n' ' ' || true)
  [ -z "$unknown" ] || fail "$name, $sig after ${d}s: unexpected files: $unknown"
  case "$sig:$status" in
    TERM:0|KILL:0) count[$name.$sig.finished]=$(( ${count[$name.$sig.finished]:-0} + 1 ));;
    TERM:143)
      # Before the handler is installed (start-up), SIGTERM kills silently, before any write.
      if grep -q "stopped by SIGTERM" "$work/$name.err"; then count[$name.TERM.message]=$(( ${count[$name.TERM.message]:-0} + 1 ))
      elif [ "$news" -gt 0 ] || [ -n "$temps" ]; then fail "$name, SIGTERM after ${d}s: killed without a message after it had written"
      else count[$name.TERM.silent]=$(( ${count[$name.TERM.silent]:-0} + 1 )); fi;;
    KILL:137) ;;
    *) fail "$name, $sig after ${d}s: exit status $status: $(tail -2 "$work/$name.err")";;
  esac
  if [ -n "$temps" ]; then
    [ "$sig" = KILL ] || fail "$name, $sig after ${d}s: temporary files left: $temps"
    count[$name.$sig.temps]=$(( ${count[$name.$sig.temps]:-0} + $(echo $temps | wc -w) ))
    find "$dir" -mindepth 1 -maxdepth 1 -name '.*.tmp-*' -exec cp -a {} "$work/leftovers-$name/" \;
  fi
  if [ -n "${whole_set[$name]:-}" ] && [ "$sig" = TERM ] && [ "$olds" -gt 0 ] && [ "$news" -gt 0 ]; then
    fail "$name, SIGTERM after ${d}s: $olds old and $news new files: a set published by halves"
  fi
}
# stale_cleanup NAME DIR MESSAGE: temporary files as a SIGKILL leaves them (those the kill
# points left, or a made-up one if they left none), made two minutes old, are removed by the
# next uninterrupted run, which says so.
stale_cleanup() {
  local name="$1" dir="$2" message="$3"
  [ -n "$(ls -A "$work/leftovers-$name")" ] || touch "$work/leftovers-$name/.$(cd "$dir" && set -- *; echo "$1").tmp-99999-made-up"
  "restore_$name"
  cp -a "$work/leftovers-$name"/.*.tmp-* "$dir/"
  touch -d '2 minutes ago' "$dir"/.*.tmp-*
  ("start_$name") || fail "$name: the run after the kills failed: $(tail -2 "$work/$name.err")"
  [ -z "$(find "$dir" -maxdepth 1 -name '.*.tmp-*')" ] || fail "$name: the next run left stale temporary files: $(ls -A "$dir" | grep tmp-)"
  [ -z "$message" ] || grep -q "$message" "$work/$name.err" || fail "$name: the next run did not say it removed temporary files"
}
summary() {  # summary NAME SIG
  local n="$1" s="$2" extra=""
  [ "$s" = TERM ] && extra=" ${count[$n.TERM.message]:-0} killed with the message, ${count[$n.TERM.silent]:-0} silently during start-up (before any write);"
  echo "check-faults: $n, SIG$s: ${count[$n.$s.points]:-0} kill points: ${count[$n.$s.old]:-0} left the old outputs," \
    "${count[$n.$s.new]:-0} the new (${count[$n.$s.finished]:-0} finished before the signal), ${count[$n.$s.mixed]:-0} some old and some new;$extra" \
    "${count[$n.$s.temps]:-0} temporary file(s) left"
  [ "$s" = KILL ] || [ "${count[$n.TERM.message]:-0}" -gt 0 ] || fail "$n: no SIGTERM kill point got the message (killed too early or too late every time)"
}

# 2a. attnlab merge: the experiments whose paper shards are all committed, into the results
# directory itself (as make does), after one value of one shard of each changed.
merge_exps=$("$bin" list | awk '/^[^ ]/ && $1 != "experiment" && NF >= 9 { n = $(NF-2); d = $(NF-1); sub(/\(/, "", d); if (n == d && n > 0) print $1 }')
[ "$(echo $merge_exps | wc -w)" -ge 3 ] || fail "fewer than 3 experiments with every paper shard committed: $merge_exps"
M="$work/merge"
for e in $merge_exps; do mkdir -p "$M/shards/$e"; cp -r "results/shards/$e/paper" "$M/shards/$e/"; done
"$bin" merge $merge_exps --profile paper --results "$M" >/dev/null
mkdir -p "$work/merge-old" "$work/merge-new/results" "$work/leftovers-merge"
merge_files=$(for e in $merge_exps; do printf '%s.csv ' "$e"; done)
for f in $merge_files; do cp "$M/$f" "$work/merge-old/"; done
for e in $merge_exps; do
  shards=("$M/shards/$e/paper/"*.csv); shard="${shards[0]}"  # (not ls | head: SIGPIPE under pipefail)
  python3 - "$shard" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
v = rows[0].index("value")
rows[1][v] = str(float(rows[1][v]) * 1.5 + 1)
csv.writer(open(sys.argv[1], "w", newline=""), lineterminator="\n").writerows(rows)
PY
done
cp -r "$M/shards" "$work/merge-new/results/"
"$bin" merge $merge_exps --profile paper --results "$work/merge-new/results" >/dev/null
for f in $merge_files; do
  cp "$work/merge-new/results/$f" "$work/merge-new/"
  cmp -s "$work/merge-old/$f" "$work/merge-new/$f" && fail "merge: changing a shard did not change $f"
done
restore_merge() { for f in $merge_files; do cp "$work/merge-old/$f" "$M/$f"; done; find "$M" -maxdepth 1 -name '.*.tmp-*' -delete; }
start_merge() { exec "$bin" merge $merge_exps --profile paper --results "$M" >"$work/merge.err" 2>&1; }
check_merge() { judge merge "$1" "$2" "$3" "$work/merge-old" "$work/merge-new" "$M" $merge_files; }
restore_merge; t0=$(now_ms); (start_merge); t=$(( $(now_ms) - t0 ))
for sig in TERM KILL; do kill_points merge $sig 0 0.01 0.05 0.2 $(increasing 12 "$t"); done
stale_cleanup merge "$M" "removed a temporary file left by an interrupted merge"
for sig in TERM KILL; do summary merge $sig; done
echo "check-faults: (merge of $(echo $merge_exps | wc -w) experiments: $t ms uninterrupted)"

# 2b. attnlab report: committed results/*.csv and bench, DeepSeek-V3's cache bytes per token and
# MLA reduction doubled (numbers.tex, the tables and the README sections change). Its files are
# one set: after SIGTERM all old or all new.
whole_set[report]=1
R="$work/report"
mkdir -p "$R/results" "$work/leftovers-report"
cp results/*.csv "$R/results/"; cp -r results/bench "$R/results/"
"$bin" report --no-claims --results "$R/results" --out "$work/report-old" >/dev/null
python3 - "$R/results/kv-cache-models.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
h = rows[0]
for r in rows[1:]:
    if r[h.index("variant")] == "deepseek-v3" and r[h.index("metric")] in ("bytes_per_token", "mla_reduction_vs_mha"):
        r[h.index("value")] = str(float(r[h.index("value")]) * 2)
csv.writer(open(sys.argv[1], "w", newline=""), lineterminator="\n").writerows(rows)
PY
"$bin" report --no-claims --results "$R/results" --out "$work/report-new" >/dev/null
report_files=$(ls "$work/report-old")
[ "$(ls "$work/report-new")" = "$report_files" ] || fail "report: the two runs wrote different sets of files"
changed=$(for f in $report_files; do cmp -s "$work/report-old/$f" "$work/report-new/$f" || echo "$f"; done | wc -l)
[ "$changed" -gt 0 ] || fail "report: changing kv-cache-models.csv changed no output"
restore_report() { rm -rf "$R/gen"; cp -a "$work/report-old" "$R/gen"; }
start_report() { exec "$bin" report --no-claims --results "$R/results" --out "$R/gen" >"$work/report.err" 2>&1; }
check_report() { judge report "$1" "$2" "$3" "$work/report-old" "$work/report-new" "$R/gen" $report_files; }
restore_report; t0=$(now_ms); (start_report); t=$(( $(now_ms) - t0 ))
for sig in TERM KILL; do kill_points report $sig 0 0.01 0.05 0.2 $(increasing 12 "$t"); done
stale_cleanup report "$R/gen" "removed a temporary file left by an interrupted report"
for sig in TERM KILL; do summary report $sig; done
echo "check-faults: (report: $(echo $report_files | wc -w) files, $changed of them changed; $t ms uninterrupted)"

# 2c. scripts/update-readme.sh: README.md's generated sections, from the old then the new report.
U="$work/readme"
mkdir -p "$U" "$work/readme-old" "$work/readme-new" "$work/leftovers-readme"
cp README.md "$U/"
(cd "$U" && "$root/scripts/update-readme.sh" "$work/report-old" >/dev/null && cp README.md "$work/readme-old/")
(cd "$U" && "$root/scripts/update-readme.sh" "$work/report-new" >/dev/null && cp README.md "$work/readme-new/")
cmp -s "$work/readme-old/README.md" "$work/readme-new/README.md" && fail "update-readme: the new report did not change README.md"
restore_readme() { cp "$work/readme-old/README.md" "$U/README.md"; find "$U" -maxdepth 1 -name '.*.tmp-*' -delete; }
start_readme() { cd "$U" && exec "$root/scripts/update-readme.sh" "$work/report-new" >"$work/readme.err" 2>&1; }
check_readme() { judge readme "$1" "$2" "$3" "$work/readme-old" "$work/readme-new" "$U" README.md; }
restore_readme; t0=$(now_ms); (start_readme); t=$(( $(now_ms) - t0 ))
for sig in TERM KILL; do kill_points readme $sig 0 0.002 0.005 0.01 $(increasing 12 "$t"); done
stale_cleanup readme "$U" ""
for sig in TERM KILL; do summary readme $sig; done
echo "check-faults: (update-readme.sh: $t ms uninterrupted)"

if [ "$failures" -gt 0 ]; then echo "check-faults: $failures failure(s)"; exit 1; fi
echo "check-faults: all fault checks passed in $(( ($(now_ms) - start) / 1000 )) s"
