#!/usr/bin/env bash
# Demonstrates docs/adding-a-variant.md: in a scratch copy of the repository, add two
# mechanisms as the guide says (one file + two registry lines each): a preset of the
# softmax core (sliding-window MQA) and a mask change (StreamingLLM's attention sinks plus
# a recent window). Then check that nothing else needed editing, that the CLI lists them,
# that the whole test suite passes with them and that the smoke pipeline puts them in
# every results file, figure series and table.
# Leaves the repository untouched. About 15 minutes on 2 cores (two fresh builds).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/attnlab-extension.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" ls-files -z --cached --others --exclude-standard | (cd "$ROOT" && xargs -0 cp --parents -t "$WORK")
cd "$WORK"
# A repository of its own, so that the example's changes can be counted and the pipeline
# check (which copies the tracked tree) sees them.
git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -q -m base
export GIT_AUTHOR_NAME=check GIT_AUTHOR_EMAIL=check@localhost GIT_COMMITTER_NAME=check GIT_COMMITTER_EMAIL=check@localhost

# 1. The file: a descriptor only, since the mechanism is a setting of the softmax core.
cat > Sources/Attention/SlidingWindowMQA.swift <<'SWIFT'
import TensorCore

public enum SlidingWindowMQA: MechanismDescriptor {
    public static let summary = "sliding-window multi-query attention: one kv head, window w"
    public static let kvFormula = "2·d_h, at most w tokens"
    public static let displayName = "SWA-MQA"
    public static let knobs: [Knob] = [.window]
    public static let cacheGrowth = CacheGrowth.window
    public static let referenceFamily = ReferenceFamily.softmax

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        var c = base
        c.numKVHeads = 1
        return try SlidingWindowAttention.resolve(c)
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        SoftmaxAttention(variant: variant, config: config, rng: &rng)
    }
}
SWIFT

# 2. A mask change: sinks are part of AttentionMask, which every path applies (training op,
#    both prefill kernels, the cache, decode) and the reference states on its own.
cat > Sources/Attention/StreamingAttention.swift <<'SWIFT'
import TensorCore

public enum StreamingAttention: MechanismDescriptor {
    public static let summary = "StreamingLLM attention: a sliding window plus the first 4 tokens as attention sinks"
    public static let kvFormula = "2·n_kv·d_h, at most w + 4 tokens"
    public static let displayName = "Streaming"
    public static let knobs: [Knob] = [.kvHeads, .window]
    public static let cacheGrowth = CacheGrowth.window
    public static let referenceFamily = ReferenceFamily.softmax

    public static func resolve(_ base: AttentionConfig) throws -> AttentionConfig {
        var c = base
        c.attentionSinks = 4
        return try SlidingWindowAttention.resolve(c)
    }

    public static func make(variant: Variant, config: AttentionConfig, rng: inout Xoshiro256StarStar) -> any AttentionMechanism {
        SoftmaxAttention(variant: variant, config: config, rng: &rng)
    }
}
SWIFT

# 3. The registry: for each, the case and its line in the exhaustive switch of `descriptor`.
for entry in swamqa:SlidingWindowMQA streaming:StreamingAttention; do
  id=${entry%%:*} type=${entry#*:}
  sed -i "0,/^    case mha, .*[a-z0-9]\$/s//&, $id/" Sources/Attention/Variant.swift
  sed -i "/public var descriptor/,/^    }/ s/^        switch self {\$/&\n        case .$id: return $type.self/" Sources/Attention/Variant.swift
  grep -q "case .$id: return $type.self" Sources/Attention/Variant.swift && grep -q "^    case mha, .*, $id\(,\|\$\)" Sources/Attention/Variant.swift \
    || { echo "check-adding-a-variant: could not add the registry lines of $id" >&2; exit 1; }
done
# Nothing else may need editing: git counts what changed.
git add -A >/dev/null
changed=$(git diff --cached --name-only | tr '\n' ' ')
count=$(git diff --cached --name-only | wc -l)
[ "$count" -eq 3 ] || { echo "check-adding-a-variant: the examples touched $count files ($changed), expected 3" >&2; exit 1; }
echo "check-adding-a-variant: the two examples are $count files: $changed"
git commit -q -m "add swamqa and streaming"

if ! swift build --build-tests > build.log 2>&1; then
  grep -E "error" build.log | head -20
  echo "check-adding-a-variant: build failed" >&2; exit 1
fi
if grep -q "SlidingWindowMQA.swift.*warning:" build.log; then
  echo "check-adding-a-variant: the new file compiles with warnings" >&2; exit 1
fi
for id in swamqa streaming; do
  .build/debug/attnlab variants | grep -q "^$id " || { echo "check-adding-a-variant: attnlab variants does not list $id" >&2; exit 1; }
done

# 4. The whole test suite, with the new ids among every mechanism the tests enumerate.
swift test --verbose > test.log 2>&1 || { grep -E "✘|error" test.log | head -30; echo "check-adding-a-variant: make test's suite failed with the examples" >&2; exit 1; }
grep -E "^✔ Test run with" test.log | tail -1
for id in swamqa streaming; do
  PASSED=$(grep -c "c → $id.* passed after" test.log || true)
  [ "$PASSED" -ge 14 ] || { echo "check-adding-a-variant: the conformance suite ran $id in only $PASSED test cases" >&2; exit 1; }
  echo "$id passed $PASSED conformance and reference test cases"
done

# 5. The smoke pipeline: both ids in every training experiment's results, every figure's
#    series, every per-mechanism table and the README summary; no claim broken by them.
KEEP=1 scripts/check-pipeline.sh .build/debug/attnlab > pipeline.log 2>&1 || { tail -30 pipeline.log; echo "check-adding-a-variant: the smoke pipeline failed with the examples" >&2; exit 1; }
tail -1 pipeline.log
kept=$(sed -n 's/^check-pipeline: keeping //p' pipeline.log)
out="$kept/out/smoke"   # where make PROFILE=smoke writes its outputs
for entry in swamqa:SWA-MQA streaming:Streaming; do
  id=${entry%%:*} name=${entry#*:}
  for e in mqar-recall recall-vs-cache passkey-distance copying selective-copying multikey-needle throughput kv-cache-scaling prefill-scaling decode-scaling; do
    grep -q ",$id," "$out/results/$e.csv" || { echo "check-adding-a-variant: $id missing from results/$e.csv" >&2; exit 1; }
  done
  grep -q "^SERIES = \".* $id" "$out/paper/generated/series.gp" || { echo "check-adding-a-variant: $id is not a figure series" >&2; exit 1; }
  for t in summary.md mqar.md copying.md selective-copying.md needle.tex; do
    grep -q "$name" "$out/paper/generated/$t" || { echo "check-adding-a-variant: $name missing from the $t table" >&2; exit 1; }
  done
  grep -q "$name" "$out/README.md" || { echo "check-adding-a-variant: $name missing from the README summary" >&2; exit 1; }
  for d in mqar-points needle-points rvc-points copying-points; do
    grep -q "^$id," "$out/paper/generated/$d.csv" || { echo "check-adding-a-variant: $id missing from the $d figure data" >&2; exit 1; }
  done
  # A new windowed mechanism is held to the window claims (their evidence names it);
  # smoke results support few claims, so whether they hold does not matter here.
  grep -q "^\[[a-zA-Z]*\] passkey-window-reach: .*$id" "$out/paper/generated/claims.txt" \
    || { echo "check-adding-a-variant: the passkey window claim did not check $id" >&2; cat "$out/paper/generated/claims.txt" >&2; exit 1; }
done
# The sinks reach the measured cache: beyond the window (w 1024 at context 4096) the
# streaming cache holds w + 4 rows where the sliding window's holds w.
bytes_at() { awk -F, -v id="$1" '$4 == id && $5 == 4096 && $9 == "measured_bytes" { print $10 }' "$out/results/kv-cache-scaling.csv"; }
swa=$(bytes_at swa) streaming=$(bytes_at streaming)
[ -n "$swa" ] && [ -n "$streaming" ] && [ $(( streaming * 1024 )) -eq $(( swa * 1028 )) ] \
  || { echo "check-adding-a-variant: streaming's measured cache ($streaming bytes) is not (w + 4)/w of swa's ($swa) at 4096" >&2; exit 1; }
rm -rf "$kept"
echo "check-adding-a-variant: swamqa and streaming added with one file and two registry lines each; make test's suite and the smoke pipeline pass with them in every results file, figure series and table"
