#!/usr/bin/env bash
# What OpenBLAS's kernel choice costs mert's fp32 inference, and what mert's own choice recovers
# (src/util/blas_kernels.h). Alternates, for ROUNDS rounds, `mert bench` fp32 under:
#   unset     OPENBLAS_CORETYPE unset (OpenBLAS's own CPU table, then mert's check);
#   haswell   OPENBLAS_CORETYPE=Haswell (as some hosts set it), which mert overrides;
#   kept      OPENBLAS_CORETYPE=Haswell with MERT_BLAS_KERNELS=keep (the kernels the host asked for).
# Usage: bench/blas_kernels.sh [mert binary] [reps per round] [rounds] [preset]
set -euo pipefail
MERT=${1:-build/mert}
REPS=${2:-5}
ROUNDS=${3:-3}
PRESET=${4:-v1-95m}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() {  # label, env assignments...
  local label=$1; shift
  env -u OPENBLAS_CORETYPE -u MERT_BLAS_KERNELS "$@" "$MERT" bench --preset "$PRESET" --threads 2 --sec 5 \
    --dtype fp32 --reps "$REPS" --format json 2>/dev/null | sed "s/^{/{\"setting\": \"$label\", /" >> "$OUT/rows.jsonl"
}
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  run unset
  run haswell OPENBLAS_CORETYPE=Haswell
  run kept OPENBLAS_CORETYPE=Haswell MERT_BLAS_KERNELS=keep
done
/usr/bin/python3 - "$OUT/rows.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{rows[0]['model']}, fp32, 5 s, 2 threads, {rows[0]['cpu']} ({rows[0]['isa']}), commit {rows[0]['commit']}")
print()
print("| setting | kernels | RTF median over rounds (min–max) | vs kept Haswell |")
print("|---|---|---|---|")
med = lambda s: statistics.median(r["rtf_median"] for r in rows if r["setting"] == s)
for s in ("unset", "haswell", "kept"):
    xs = [r["rtf_median"] for r in rows if r["setting"] == s]
    kernels = next(r["kernels"] for r in rows if r["setting"] == s)
    print(f"| {s} | {kernels} | {statistics.median(xs):.4f} ({min(xs):.4f}–{max(xs):.4f}) | {med('kept') / med(s):.2f}x |")
PY
