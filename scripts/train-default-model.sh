#!/usr/bin/env bash
# Trains the project's default model from nothing, as issue 15 asks: renders a synthetic corpus
# with FluidSynth, fits the acoustic teacher (k-means on MFCC and chroma frames), pre-trains the `small` preset with
# the MERT objective (k-means labels + log-compressed CQT target + in-batch mixup), exports it,
# and probes it on the synthetic suite next to a random-init model of the same shape and the hand
# features. Every stage skips what is finished and pre-training resumes from its last
# checkpoint, so after a kill (or a session's end) rerun the same command.
#
# Usage: scripts/train-default-model.sh [work dir]        (default: runs/default-model)
# Environment (defaults in brackets; record any change with the results):
#   MERT [build/mert]  THREADS [2]  HOURS [4] corpus hours  STEPS [2000] updates
#   TEACHER [mfcc+chroma] k-means features ('+' list: one label stream each)
#   CLUSTERS [100,24] k-means classes per feature  SEED [1] corpus and training seed
#   PRETRAIN_ARGS [] extra `mert pretrain` settings, e.g. "--mixup-prob 0" for an ablation
#   PROBE [1] run the probes (0: stop after export)
#   FRAME [1] also the frame-level probes synth-beat and synth-chords (0: the clip-level suite only)
#   ROWS [model random mfcc logmel cqt chroma] probe rows to run (an ablation needs only "model";
#   its other rows are those of the default run: same data, seeds and protocol)
# Outputs in the work dir: corpus/, km.safetensors, labels/, run/ (log.jsonl, checkpoints kept
# every 500 updates), model/ (fp32) and model-bf16/, suite/ (probe data), probe/<row>/ with
# summary.md per row, and comparison.md (every row side by side; comparison-frame.md for the
# frame-level tasks).
set -euo pipefail
MERT=$(realpath "${MERT:-build/mert}")
WORK=${1:-runs/default-model}
THREADS=${THREADS:-2}
HOURS=${HOURS:-4}
STEPS=${STEPS:-2000}
TEACHER=${TEACHER:-mfcc+chroma}
CLUSTERS=${CLUSTERS:-100,24}
SEED=${SEED:-1}
PRETRAIN_ARGS=${PRETRAIN_ARGS:-}
PROBE=${PROBE:-1}
FRAME=${FRAME:-1}
ROWS=${ROWS:-model random mfcc logmel cqt chroma}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SF=/usr/share/sounds/sf2/FluidR3_GM.sf2
TEST_SF=/usr/share/sounds/sf3/MuseScore_General_Lite.sf3
mkdir -p "$WORK"
cd "$WORK"
stage() { echo "== $(date '+%F %T') $*" >&2; }
stage "work dir $(pwd), mert $("$MERT" --version 2>/dev/null | head -n 1)"

# 1. The pre-training corpus: unlabelled 10 s pieces, 95/5 train/valid.
if [[ ! -f corpus/train.tsv ]]; then
  stage "corpus: $HOURS h"
  "$MERT" synth corpus -o corpus --hours "$HOURS" --sec 10 --jobs "$THREADS" --seed "$SEED" --soundfont "$SF"
fi

# 2. The acoustic teacher: k-means on the training split, labels for both splits (one stream
# per feature: km, or km0, km1, ... for a '+' list).
IFS=+ read -r -a features <<< "$TEACHER"
if (( ${#features[@]} == 1 )); then streams=km; else
  streams=$(for i in "${!features[@]}"; do printf 'km%d,' "$i"; done); streams=${streams%,}; fi
if [[ ! -f km.safetensors ]]; then
  stage "teacher: $TEACHER k-means, $CLUSTERS clusters"
  "$MERT" label fit --feature "$TEACHER" --clusters "$CLUSTERS" --seed "$SEED" -o km.safetensors corpus/train.tsv
fi
if [[ ! -f labels/dict.${streams##*,}.txt ]]; then
  stage "labels"
  "$MERT" label apply --codebook km.safetensors -o labels --name km corpus/train.tsv corpus/valid.tsv
fi

# 3. Pre-training; --resume starts the run the first time and continues it after a kill.
stage "pre-training: preset small, $STEPS updates, $THREADS threads"
# shellcheck disable=SC2086
"$MERT" pretrain --preset small --manifest corpus --labels labels --label-names "$streams" --out run \
  --threads "$THREADS" --steps "$STEPS" --seed "$SEED" $PRETRAIN_ARGS --resume

# 4. Export: fp32 for the probes, bf16 for shipping (half the size).
"$MERT" export run model
"$MERT" export run model-bf16 --weight-dtype bf16
[[ $PROBE == 1 ]] || exit 0

# 5. Probe data: the synthetic suite, test split in another soundfont.
for spec in pitch:2000:0 key:400:20 tags:500:10 beat:500:10 chords:500:10; do
  IFS=: read -r task count sec <<< "$spec"
  [[ -f suite/$task/synth_info.json ]] && continue
  stage "probe data: $task ($count items)"
  "$MERT" synth "$task" -o "suite/$task" --count "$count" $([[ $sec == 0 ]] || echo --sec "$sec") \
    --soundfont "$SF" --test-soundfont "$TEST_SF" --jobs "$THREADS" --seed 0
done

# 6. Rows, all through the same protocol and seed: the model, its random-init twin (same
# architecture and preprocessing), the hand features.
[[ -d random ]] || "$MERT" init -o random --config model/config.json --seed "$SEED" --normalize false
probe() {  # row name, then the model or feature arguments
  local row=$1; shift
  stage "probe: $row"
  "$MERT" probe --suite synth --data suite -o "probe/$row" --threads "$THREADS" "$@" > "probe/$row.log" 2>&1 ||
    { tail -n 5 "probe/$row.log" >&2; return 1; }
  # The frame-level tasks (beats on the tempo task's pieces, chords), when FRAME=1.
  [[ $FRAME == 1 ]] || return 0
  stage "probe: $row, frame level"
  "$MERT" probe --task synth-beat,synth-chords --data suite -o "probe/$row-frame" --threads "$THREADS" "$@" \
    > "probe/$row-frame.log" 2>&1 || { tail -n 5 "probe/$row-frame.log" >&2; return 1; }
}
mkdir -p probe
for row in $ROWS; do
  case $row in
    model) probe model -m model ;;
    random) probe random -m random ;;
    mfcc|logmel|cqt|chroma) probe "$row" --features "$row" --jobs "$THREADS" ;;
    *) echo "unknown probe row '$row' (model random mfcc logmel cqt chroma)" >&2; exit 2 ;;
  esac
done
# shellcheck disable=SC2086
/usr/bin/python3 "$HERE/bench/probe_table.py" $(printf 'probe/%s ' $ROWS) | tee comparison.md
# shellcheck disable=SC2086
[[ $FRAME != 1 ]] || /usr/bin/python3 "$HERE/bench/probe_table.py" $(printf 'probe/%s-frame ' $ROWS) | tee comparison-frame.md
