#!/usr/bin/env bash
# Times pre-training updates of MERT-v1-95M: `mert pretrain --preset mert-v1-95m` against the same
# update written in PyTorch (bench/pytorch_pretrain_step.py), in the same session, per dtype, and
# prints a markdown table. Usage: bench/compare_pretrain_step.sh [mert binary] [steps]
#   Batch 4 x 5 s at 24 kHz, 2 threads, K=1 label stream of 100 k-means classes, CQT head on.
#   The first WARMUP (default 2) updates of each run are not counted; STEPS (default 5) are.
#   Data loading is excluded from the PyTorch side (random tensors made before the clock starts);
#   mert's ms include its `data` phase (waiting for the background loader, masks, mixup), so the
#   table also gives mert without it. mert's loader thread computes the next batch's CQT target
#   while the update runs, on the same two cores.
#   PyTorch runs with the settings of bench/compare_pytorch.sh (OPENBLAS_CORETYPE=SkylakeX
#   OPENBLAS_NUM_THREADS=1; for a training step they made no measurable difference to either
#   side in a 3-update check); MERT_ENV (default none) is mert's environment.
#   LayerDrop skips whole layers at random, so one update's time varies with how many of the 12
#   layers ran (the PyTorch JSON lists them; mert does not log it): LAYERDROP=0 on both sides
#   gives a steadier comparison than the config's 0.05.
# Other knobs (smoke tests): DTYPES ("fp32 bf16"), WARMUP (2), PRESET (mert-v1-95m), MERT_ARGS
# (extra `mert pretrain` settings), PY_ARGS (extra PyTorch script arguments), KEEP=1 keeps the
# work dir.
set -euo pipefail
MERT=$(realpath "${1:-build/mert}")
STEPS=${2:-5}
WARMUP=${WARMUP:-2}
DTYPES=${DTYPES:-fp32 bf16}
PRESET=${PRESET:-mert-v1-95m}
MERT_ARGS=${MERT_ARGS:-}
PY_ARGS=${PY_ARGS:-}
MERT_ENV=${MERT_ENV:-}
LAYERDROP=${LAYERDROP:-0.05}
PY_ENV="OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1"
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
if [[ ${KEEP:-0} == 1 ]]; then echo "work dir: $W" >&2; else trap 'rm -rf "$W"' EXIT; fi

# A small corpus of 6 s clips (every crop is the full 5 s) and k-means labels on it.
"$MERT" synth corpus -o "$W/corpus" --hours 0.05 --sec 6 --wav > "$W/synth.log" 2>&1
"$MERT" label fit --feature mfcc --clusters 100 -o "$W/km.safetensors" --threads 2 --jobs 1 \
  "$W/corpus/train.tsv" > "$W/label.log" 2>&1
"$MERT" label apply --codebook "$W/km.safetensors" -o "$W/labels" --name km \
  "$W/corpus/train.tsv" "$W/corpus/valid.tsv" >> "$W/label.log" 2>&1

for dt in $DTYPES; do
  echo "mert pretrain $dt: $((WARMUP + STEPS)) updates ..." >&2
  # shellcheck disable=SC2086  # MERT_ENV and MERT_ARGS are word lists
  if ! env $MERT_ENV "$MERT" pretrain --preset "$PRESET" --manifest "$W/corpus" --labels "$W/labels" --label-names km \
      --out "$W/run_$dt" --threads 2 --steps $((WARMUP + STEPS)) --log-every 1 --valid-every 0 \
      --save-every 1000000 --batch-size 4 --dtype "$dt" --layerdrop "$LAYERDROP" $MERT_ARGS > "$W/mert_$dt.log" 2>&1; then
    echo "mert pretrain --dtype $dt failed: $(tail -n 1 "$W/mert_$dt.log")" >&2
    tail -n 1 "$W/mert_$dt.log" > "$W/mert_$dt.failed"
  fi
  echo "PyTorch $dt: $((WARMUP + STEPS)) updates ..." >&2
  # shellcheck disable=SC2086
  env $PY_ENV /usr/bin/python3 "$HERE/pytorch_pretrain_step.py" --dtype "$dt" --threads 2 --steps "$STEPS" \
    --warmup "$WARMUP" --layerdrop "$LAYERDROP" $PY_ARGS > "$W/pytorch_$dt.json" 2> "$W/pytorch_$dt.log"
done

/usr/bin/python3 - "$W" "$WARMUP" "$DTYPES" "$MERT_ENV" "$PY_ENV" "$LAYERDROP" <<'PY'
import json, os, statistics, sys
d, warmup, dtypes, mert_env, py_env, layerdrop = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), *sys.argv[4:]
med = statistics.median
def span(v):
    return f"{med(v):.0f} ({min(v):.0f}–{max(v):.0f})"
print(f"mert env: {mert_env or '(none)'}; PyTorch env: {py_env}; warm-up updates skipped: {warmup}; "
      f"layerdrop {layerdrop}")
print()
print("| dtype | mert ms/update median (min–max) | mert without data phase | mert fwd / bwd / optim | "
      "PyTorch ms/update median (min–max) | PyTorch fwd / bwd / optim | mert speed-up (PyTorch ms ÷ mert ms) | "
      "mert audio-s/s | PyTorch audio-s/s |")
print("|---|---|---|---|---|---|---|---|---|")
for dt in dtypes:
    t = json.loads(open(f"{d}/pytorch_{dt}.json").read().strip().splitlines()[-1])
    torch_cells = (f"{t['ms_median']:.0f} ({t['ms_min']:.0f}–{t['ms_max']:.0f})",
                   f"{t['ms_forward_median']:.0f} / {t['ms_backward_median']:.0f} / {t['ms_optim_median']:.0f}")
    torch_aps = t["batch"] * t["sec"] / (t["ms_median"] / 1000)
    print(f"PyTorch {dt}: layers run per timed update {t['layers_run']}, masked fraction {t['masked_fraction']:.3f}",
          file=sys.stderr)
    if os.path.exists(f"{d}/mert_{dt}.failed"):
        err = open(f"{d}/mert_{dt}.failed").read().strip().replace("|", "/")
        print(f"| {dt} | failed: {err} | | | {torch_cells[0]} | {torch_cells[1]} | | | {torch_aps:.2f} |")
        continue
    rows = [json.loads(l) for l in open(f"{d}/run_{dt}/log.jsonl")]
    rows = [r for r in rows if "ms" in r and r["update"] > warmup]
    total = [r["ms"]["total"] for r in rows]
    no_data = [r["ms"]["total"] - r["ms"]["data"] for r in rows]
    phases = " / ".join(f"{med(r['ms'][k] for r in rows):.0f}" for k in ("forward", "backward", "optim"))
    audio = med(r["audio_sec_per_sec"] for r in rows)
    print(f"| {dt} | {span(total)} | {span(no_data)} | {phases} | {torch_cells[0]} | {torch_cells[1]} | "
          f"{t['ms_median'] / med(total):.2f}x | {audio:.2f} | {torch_aps:.2f} |")
PY
