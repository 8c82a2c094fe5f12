#!/usr/bin/env bash
# Replaces the generated sections of README.md (between <!-- NAME:begin --> and
# <!-- NAME:end -->) with paper/generated/NAME.md; rewrites README.md only when it changes.
#   scripts/update-readme.sh GENERATED_DIR
set -euo pipefail
gen="${1:?usage: update-readme.sh GENERATED_DIR}"
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
if ! cmp -s "$tmp" README.md; then cp "$tmp" README.md; echo "README.md: generated sections updated"; fi
touch README.md
