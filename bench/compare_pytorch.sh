#!/usr/bin/env bash
# Runs `mert bench` and the PyTorch script on the same shapes, alternating them for ROUNDS rounds
# so that both see the same machine (shared cloud cores drift by ±20% over minutes), and prints
# per dtype the median over rounds of each side's median RTF and of the per-round speed ratio.
# Usage: bench/compare_pytorch.sh [mert binary] [reps per round] [rounds] [preset]
#   preset v1-95m (default; PyTorch side: torchaudio hubert_base) or v1-330m (hubert_large).
#   PyTorch is measured with its best settings here: OPENBLAS_CORETYPE=SkylakeX and
#   OPENBLAS_NUM_THREADS=1 (Debian's OpenBLAS 0.3.21 does not recognise newer CPUs, and its
#   own thread pool fights libtorch's), fp32 and pure bf16 (model and input cast).
set -euo pipefail
MERT=${1:-build/mert}
REPS=${2:-5}
ROUNDS=${3:-3}
PRESET=${4:-v1-95m}
DTYPES=${DTYPES:-fp32,bf16}
# PyTorch runs its float dtypes (its best is pure bf16); mert's int8 is compared with that best.
TORCH_DTYPES=$(echo "$DTYPES" | tr ',' '\n' | grep -v int8 | paste -sd, -)
TORCH_DTYPES=${TORCH_DTYPES:-bf16}
case "$PRESET" in
  v1-95m) TORCH_MODEL=base ;;
  v1-330m) TORCH_MODEL=large ;;
  *) echo "preset must be v1-95m or v1-330m" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS: mert" >&2
  "$MERT" bench --preset "$PRESET" --threads 2 --sec 5 --dtype "$DTYPES" --reps "$REPS" --format json \
    2>/dev/null | sed "s/^{/{\"round\": $r, /" >> "$OUT/mert.jsonl"
  echo "round $r/$ROUNDS: pytorch" >&2
  OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$HERE/pytorch_hubert.py" \
    --model "$TORCH_MODEL" --dtype "$TORCH_DTYPES" --threads 2 --sec 5 --reps "$REPS" \
    | sed "s/^{/{\"round\": $r, /" >> "$OUT/pytorch.jsonl"
done
/usr/bin/python3 - "$OUT" "$PRESET" <<'PY'
import json, statistics, sys
d, preset = sys.argv[1], sys.argv[2]
ours = [json.loads(l) for l in open(f"{d}/mert.jsonl")]
torch = [json.loads(l) for l in open(f"{d}/pytorch.jsonl")]
rounds = sorted({r["round"] for r in ours})
dtypes = [r["dtype"] for r in ours if r["round"] == rounds[0]]
def rtf(rows, dt, rnd): return next(r["rtf_median"] for r in rows if r["dtype"] == dt and r["round"] == rnd)
def fmt(xs): return f"{statistics.median(xs):.4f} ({min(xs):.4f}–{max(xs):.4f})"
torch_dtypes = sorted({r["dtype"] for r in torch})
best = [min(rtf(torch, dt, r) for dt in torch_dtypes) for r in rounds]  # PyTorch's best config per round
print(f"{preset}, 5 s, batch 1, 2 threads; {len(rounds)} alternating rounds; median (min–max) over rounds")
print()
print("| dtype | mert RTF | PyTorch RTF (same dtype) | speed-up vs PyTorch same dtype | vs PyTorch's best config | mert peak RSS MiB | min layer cosine vs fp32 |")
print("|---|---|---|---|---|---|---|")
for dt in dtypes:
    o = [rtf(ours, dt, r) for r in rounds]
    t = [rtf(torch, dt, r) for r in rounds] if dt in torch_dtypes else None
    ratio = [b / a for a, b in zip(o, t)] if t else None
    vs_best = [b / a for a, b in zip(o, best)]
    rss = max(r["peak_rss_mib"] for r in ours if r["dtype"] == dt)
    cos = min(r["min_layer_cosine_vs_fp32"] for r in ours if r["dtype"] == dt)
    same = f"{statistics.median(ratio):.2f}x ({min(ratio):.2f}–{max(ratio):.2f})" if ratio else "—"
    print(f"| {dt} | {fmt(o)} | {fmt(t) if t else '—'} | {same} | "
          f"{statistics.median(vs_best):.2f}x ({min(vs_best):.2f}–{max(vs_best):.2f}) | {rss:.0f} | {cos:.6f} |")
commit = ours[0].get("commit", "?")
print()
print(f"mert commit {commit}, CPU {ours[0].get('cpu', '?')}, ISA {ours[0].get('isa', '?')}")
PY
