#!/usr/bin/env bash
# Replaces the generated sections of README.md (between <!-- NAME:begin --> and
# <!-- NAME:end -->) with GENERATED_DIR/NAME.md and writes the result to OUTPUT
# (README.md itself by default; make's smoke and quick profiles write a copy under
# out/<profile>/ instead). Rewrites OUTPUT only when it changes.
#   scripts/update-readme.sh GENERATED_DIR [OUTPUT]
set -euo pipefail
gen="${1:?usage: update-readme.sh GENERATED_DIR [OUTPUT]}"
out="${2:-README.md}"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
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
mkdir -p "$(dirname "$out")"
if ! cmp -s "$tmp" "$out"; then cp "$tmp" "$out"; echo "$out: generated sections updated"; fi
touch "$out"
