#!/usr/bin/env bash
# Runs `mert bench` and the PyTorch script on the same shapes in the same session and prints
# the speed ratio per dtype. Usage: bench/compare_pytorch.sh [mert binary] [reps]
#   PyTorch is measured with its best settings here: OPENBLAS_CORETYPE=SkylakeX and
#   OPENBLAS_NUM_THREADS=1 (Debian's OpenBLAS 0.3.21 does not recognise newer CPUs, and its
#   own thread pool fights libtorch's), fp32 and pure bf16 (model and input cast).
set -euo pipefail
MERT=${1:-build/mert}
REPS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
"$MERT" bench --preset v1-95m --threads 2 --sec 5 --dtype fp32,bf16 --reps "$REPS" --format json > "$OUT/mert.jsonl"
OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$HERE/pytorch_hubert.py" \
  --dtype fp32,bf16 --threads 2 --sec 5 --reps "$REPS" > "$OUT/pytorch.jsonl"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
ours = {r["dtype"]: r for r in map(json.loads, open(f"{d}/mert.jsonl"))}
torch = {r["dtype"]: r for r in map(json.loads, open(f"{d}/pytorch.jsonl"))}
best_torch = min(r["rtf_median"] for r in torch.values())
print("| dtype | mert RTF | PyTorch RTF (same dtype) | speed-up | vs PyTorch's best config (%.4f) | mert peak RSS MiB | min layer cosine vs fp32 |" % best_torch)
print("|---|---|---|---|---|---|---|")
for dt in ("fp32", "bf16"):
    o, t = ours[dt], torch[dt]
    print(f"| {dt} | {o['rtf_median']:.4f} | {t['rtf_median']:.4f} | {t['rtf_median']/o['rtf_median']:.2f}x | "
          f"{best_torch/o['rtf_median']:.2f}x | {o['peak_rss_mib']:.0f} | {o['min_layer_cosine_vs_fp32']:.6f} |")
PY
