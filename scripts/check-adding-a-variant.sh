#!/usr/bin/env bash
# Demonstrates docs/adding-a-variant.md: in a scratch copy of the repository, add a
# mechanism as the guide says (one file + the registry lines), then check that the CLI
# lists it and that the conformance suite runs on it and passes. Leaves the repo untouched.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/attnlab-extension.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" ls-files -z --cached --others --exclude-standard | (cd "$ROOT" && xargs -0 cp --parents -t "$WORK")
cd "$WORK"

# 1. The file: a descriptor only, since the mechanism is a setting of the softmax core.
cat > Sources/Attention/SlidingWindowMQA.swift <<'SWIFT'
import TensorCore

public enum SlidingWindowMQA: MechanismDescriptor {
    public static let summary = "sliding-window multi-query attention: one kv head, window w"
    public static let kvFormula = "2·d_h, at most w tokens"

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

# 2. The registry: the case and its line in the exhaustive switch.
sed -i 's/case mha, gqa, mqa, swa, linear, mla$/case mha, gqa, mqa, swa, linear, mla, swamqa/' Sources/Attention/Variant.swift
sed -i 's/        case .mla: return MultiHeadLatentAttention.self/&\n        case .swamqa: return SlidingWindowMQA.self/' Sources/Attention/Variant.swift
# The exhaustive switches elsewhere that the compiler now flags: the reference dispatch
# and the accounting test's expectations (a window: flat decode cost beyond w).
sed -i 's/    case .mha, .gqa, .mqa, .swa:$/    case .mha, .gqa, .mqa, .swa, .swamqa:/' Tests/AttentionTests/ReferenceAgreementTests.swift
sed -i 's/        case .swa:$/        case .swa, .swamqa:/; s/        case .linear, .swa: #expect(d1 == d2)/        case .linear, .swa, .swamqa: #expect(d1 == d2)/' Tests/AttentionTests/ConformanceTests.swift
git diff --no-index --stat "$ROOT/Sources/Attention/Variant.swift" Sources/Attention/Variant.swift || true

if ! swift build --build-tests > build.log 2>&1; then
  grep -E "error" build.log | head -20
  echo "check-adding-a-variant: build failed" >&2; exit 1
fi
if grep -q "SlidingWindowMQA.swift.*warning:" build.log; then
  echo "check-adding-a-variant: the new file compiles with warnings" >&2; exit 1
fi
.build/debug/attnlab variants | grep -q '^swamqa ' || { echo "check-adding-a-variant: attnlab variants does not list swamqa" >&2; exit 1; }
swift test --verbose --filter 'Conformance|ReferenceAgreement' > test.log 2>&1 || { tail -30 test.log; echo "check-adding-a-variant: suite failed" >&2; exit 1; }
tail -1 test.log
# The new id must have been among the arguments of the suite, and passed.
PASSED=$(grep -c 'c → swamqa.* passed after' test.log || true)
[ "$PASSED" -ge 13 ] || { echo "check-adding-a-variant: the conformance suite ran swamqa in only $PASSED test cases" >&2; exit 1; }
echo "swamqa passed $PASSED conformance and reference test cases"
echo "check-adding-a-variant: swamqa added with one file and the registry lines; listed by attnlab variants; conformance suite passed on it"
