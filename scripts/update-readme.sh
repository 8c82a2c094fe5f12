#!/usr/bin/env bash
# Replaces the generated sections of README.md (between <!-- NAME:begin --> and
# <!-- NAME:end -->) with GENERATED_DIR/NAME.md and writes the result to OUTPUT
# (README.md itself by default; make's smoke and quick profiles write a copy under
# out/<profile>/ instead). Rewrites OUTPUT only when it changes, atomically: the new text is
# written to a dot-file next to it (.NAME.tmp-PID) and renamed over it, so a reader, or a run
# stopped by any signal, sees the old README or the new one. SIGTERM/SIGINT remove the
# temporary file; one left by SIGKILL is removed by the next run once a minute old.
#   scripts/update-readme.sh GENERATED_DIR [OUTPUT]
set -euo pipefail
gen="${1:?usage: update-readme.sh GENERATED_DIR [OUTPUT]}"
out="${2:-README.md}"
dir="$(dirname "$out")"
mkdir -p "$dir"
find "$dir" -maxdepth 1 -name ".$(basename "$out").tmp-*" -mmin +1 -delete 2>/dev/null || true
tmp="$dir/.$(basename "$out").tmp-$$"
trap 'rm -f "$tmp" "$tmp.new"' EXIT
trap 'echo "update-readme.sh: stopped by SIGTERM; $out is unchanged" >&2; exit 143' TERM
trap 'echo "update-readme.sh: stopped by SIGINT; $out is unchanged" >&2; exit 130' INT
cp README.md "$tmp"
for name in summary kv-models runtime perf peers; do
  src="$gen/$name.md"
  [ -f "$src" ] || { echo "update-readme.sh: $src is missing" >&2; exit 1; }
  grep -q "<!-- $name:begin -->" "$tmp" || { echo "update-readme.sh: README.md has no <!-- $name:begin --> marker" >&2; exit 1; }
  awk -v name="$name" -v src="$src" '
    $0 == "<!-- " name ":begin -->" { print; while ((getline line < src) > 0) print line; skip = 1; next }
    $0 == "<!-- " name ":end -->" { skip = 0 }
    !skip { print }
  ' "$tmp" > "$tmp.new"
  mv "$tmp.new" "$tmp"
done
if ! cmp -s "$tmp" "$out"; then
  # Signals held back from the rename to the message, so an update that happened is reported.
  trap '' TERM INT
  mv -f "$tmp" "$out"
  echo "$out: generated sections updated"
fi
touch "$out"
