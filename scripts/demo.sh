#!/usr/bin/env bash
# The main job, as a demo until the project ships a trained model.
# DEMO ONLY: the model has RANDOM weights and the audio is GENERATED; the features it writes
# have no musical meaning. It shows the whole path a real checkpoint takes: a Hugging Face-layout
# model dir -> `mert info` -> `mert embed` -> .npy features.
# With a released checkpoint, the same commands apply: mert embed -m MERT-v1-95M -o feats song.wav
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh mert_cli
MERT=build/mert
OUT=demo
rm -rf "$OUT"
mkdir -p "$OUT/audio"

echo "== [DEMO] random-weight tiny model (same architecture as MERT-v1-95M, smaller) =="
$MERT init -o "$OUT/model-random-tiny" --preset tiny --seed 1
echo "== [DEMO] generated music clips (24 kHz) =="
$MERT gen-audio -o "$OUT/audio/clip_a.wav" --sec 12 --seed 1
$MERT gen-audio -o "$OUT/audio/clip_b.wav" --sec 45 --seed 2
echo "== mert info =="
$MERT info -m "$OUT/model-random-tiny"
echo "== mert embed: every frame of every hidden state, whole file in one pass =="
$MERT embed -m "$OUT/model-random-tiny" -o "$OUT/features-frames" --pool none --chunk-sec 0 "$OUT/audio/clip_a.wav"
echo "== mert embed: mean-pooled layers 0,2,4 over 30 s chunks =="
$MERT embed -m "$OUT/model-random-tiny" -o "$OUT/features-mean" --pool mean --layers 0,2,4 --chunk-sec 30 \
  "$OUT/audio/clip_a.wav" "$OUT/audio/clip_b.wav"
echo "== [DEMO] outputs (random model: values are meaningless) =="
ls -l "$OUT"/features-*/
