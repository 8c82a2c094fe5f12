#!/usr/bin/env bash
# libFuzzer runs of attnlab-fuzz's targets (Sources/attnlab-fuzz, docs/reliability.md):
# builds the fuzzer (debug, AddressSanitizer), then runs each target for FUZZ_SECONDS on a
# scratch copy of its seeds in fuzz/corpus/<target>/ (the committed seeds are not touched),
# writes crashing inputs to the findings directory and one row per target to the CSV.
# Exits non-zero if any target crashed (naming the input that did) or could not run.
#
#   FUZZ_SECONDS=60 scripts/fuzz.sh                 every target, 60 s each (make fuzz-smoke: 20)
#   FUZZ_TARGETS="safetensors" scripts/fuzz.sh      some targets only (the CSV's other rows are kept)
#   FUZZ_CSV=/tmp/fuzz.csv scripts/fuzz.sh          the CSV elsewhere (default results/bench/fuzz.csv)
#
# Reproduce a finding: SWIFT_BACKTRACE=enable=no ATTNLAB_FUZZ_TARGET=<target> .build-fuzz/debug/attnlab-fuzz <file>
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT="${SWIFT:-swift}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
ALL_TARGETS="safetensors attention-config published-model experiment-spec"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
BUILD=.build-fuzz
BIN="$BUILD/debug/attnlab-fuzz"
SCRATCH="$BUILD/corpus"
FINDINGS="${FUZZ_FINDINGS:-$BUILD/findings}"
LOGS="$BUILD/logs"
CSV="${FUZZ_CSV:-results/bench/fuzz.csv}"
# A unit slower than this many seconds, or a process above this many MB, is a finding too.
TIMEOUT="${FUZZ_TIMEOUT:-25}"
RSS_MB="${FUZZ_RSS_MB:-2048}"

case "$SECONDS_EACH" in ''|*[!0-9]*|0) echo "FUZZ_SECONDS='$SECONDS_EACH' is invalid: use a positive number of seconds" >&2; exit 2 ;; esac
for t in $TARGETS; do
  case "$t" in
    safetensors|attention-config|published-model|experiment-spec) ;;
    *) echo "unknown fuzz target '$t'; valid: safetensors, attention-config, published-model, experiment-spec" >&2; exit 2 ;;
  esac
done

# Debug on purpose: it keeps the assertions as well as the overflow and precondition traps,
# which are most of what the fuzzer finds (docs/reliability.md).
"$SWIFT" build --build-path "$BUILD" --product attnlab-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DATTNLAB_FUZZ

commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- Sources Package.swift fuzz 2>/dev/null; then commit="$commit-dirty"; fi
mkdir -p "$(dirname "$CSV")" "$LOGS"
rows="target,seconds,executions,corpus_files,crashes,date,commit"
failed=()

for t in $TARGETS; do
  corpus="$SCRATCH/$t"
  found="$FINDINGS/$t"
  log="$LOGS/$t.log"
  rm -rf "$corpus" "$found"
  mkdir -p "$corpus" "$found"
  cp fuzz/corpus/"$t"/* "$corpus"/
  echo "fuzzing $t for $SECONDS_EACH s (log: $log)"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  status=0
  # SWIFT_BACKTRACE: Swift's own crash reporter reads memory in ways AddressSanitizer reports
  # as a crash of its own, hiding the real one; off, libFuzzer prints the trap's stack.
  SWIFT_BACKTRACE=enable=no ATTNLAB_FUZZ_TARGET="$t" "$BIN" "$corpus" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -dict=fuzz/json.dict -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -artifact_prefix="$found/" >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  files="$(find "$corpus" -type f | wc -l)"
  # Inputs that crashed, leaked, timed out or ran out of memory (not slow-unit-*: a slow input is not a failure).
  artifacts=()
  while IFS= read -r a; do artifacts+=("$a"); done < <(find "$found" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  rows+=$'\n'"$t,$SECONDS_EACH,${execs:-0},$files,${#artifacts[@]},$date,$commit"
  echo "  $t: ${execs:-?} executions, $files corpus files, ${#artifacts[@]} crashes"
  for a in "${artifacts[@]}"; do
    failed+=("$t: $a")
    grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|Fatal error|fatal error' "$log" | sed 's/^/    /' || true
  done
  if [ "${#artifacts[@]}" -eq 0 ] && [ "$status" -ne 0 ]; then
    failed+=("$t: attnlab-fuzz exited with status $status and left no input; see $log")
  fi
done

# Rows of targets not run this time are kept, so FUZZ_TARGETS=… updates only its own rows;
# rows are in the order of ALL_TARGETS.
declare -A row
while IFS= read -r line; do row["${line%%,*}"]="$line"; done < <(printf '%s\n' "$rows")
if [ -f "$CSV" ]; then
  while IFS= read -r line; do
    t="${line%%,*}"
    case " $TARGETS " in *" $t "*) ;; *) row["$t"]="$line" ;; esac
  done < "$CSV"
fi
{
  echo "target,seconds,executions,corpus_files,crashes,date,commit"
  for t in $ALL_TARGETS; do [ -z "${row[$t]:-}" ] || echo "${row[$t]}"; done
} > "$CSV"
echo "wrote $CSV"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found problems (reproduce: SWIFT_BACKTRACE=enable=no ATTNLAB_FUZZ_TARGET=<target> $BIN <input>):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
