#!/usr/bin/env bash
# The main job: embeds music with the project's shipped trained model (models/mert-synth-small,
# pre-trained here with the MERT recipe on synthetic General MIDI music; docs/RESULTS.md) and shows
# what its features know, next to a random-init model of the same architecture and MFCC:
#   1. renders 200 pieces of 10 s with FluidSynth at known tempi (test split: another soundfont);
#   2. `mert embed` (no -m: the shipped model) writes one mean-pooled vector per hidden state of
#      the 20 test pieces, and the random-init twin does the same;
#   3. lists each test piece's nearest neighbour by cosine similarity, with both tempi;
#   4. a quick probe of tempo (the task where the model beats every hand feature in
#      docs/RESULTS.md) prints the shipped model's score beside its random twin's and MFCC's.
# A few minutes on 2 cores after the build. With a released checkpoint the same commands apply:
#   mert embed -m MERT-v1-95M -o feats song.wav
# Environment: THREADS [2]; OUT [demo].
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh mert_cli
MERT=build/mert
MODEL=models/mert-synth-small
THREADS=${THREADS:-2}
OUT=${OUT:-demo}
LAYER=${LAYER:-0}  # the hidden state listed in step 3 (0: where tempo is best, docs/RESULTS.md)
SF=/usr/share/sounds/sf2/FluidR3_GM.sf2
rm -rf "$OUT"
mkdir -p "$OUT"
step() { echo; echo "== $* =="; }

step "the shipped model ($MODEL)"
$MERT info -m "$MODEL"

step "1. music: 200 pieces x 10 s at known tempi, rendered from General MIDI (test split in another soundfont)"
$MERT synth beat -o "$OUT/music/beat" --count 200 --sec 10 --seed 3 --jobs "$THREADS" \
  --soundfont "$SF" --test-soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3

step "2. mert embed with the shipped model (no -m needed), and with its random-init twin"
$MERT embed -o "$OUT/features" --pool mean --threads "$THREADS" "$OUT/music/beat/test"
$MERT init -o "$OUT/random-init" --config "$MODEL/config.json" --seed 1 --normalize false
$MERT embed -m "$OUT/random-init" -o "$OUT/features-random" --pool mean --threads "$THREADS" "$OUT/music/beat/test"
echo "features: $(ls "$OUT"/features/*.npy | wc -l) files of [7 hidden states, 256] in $OUT/features"

step "3. nearest neighbours of the 20 test pieces (cosine, hidden state $LAYER)"
/usr/bin/python3 scripts/demo_neighbours.py "$OUT/music/beat/test" "$LAYER" \
  shipped="$OUT/features" random-init="$OUT/features-random"

step "4. what the features know: a quick tempo probe (160 train / 20 valid / 20 test pieces)"
P=(--task synth-tempo --data "$OUT/music/beat" --quick --threads "$THREADS")
echo "test score (R^2 of the tempo x 100; layer chosen on validation):"
for row in shipped random-init mfcc; do
  case $row in
    shipped) src=(--layers 0,wsum) ;;        # no -m: the shipped model
    random-init) src=(-m "$OUT/random-init" --layers 0,wsum) ;;
    mfcc) src=(--features mfcc) ;;           # mean and std over time of each coefficient
  esac
  line=$($MERT probe "${P[@]}" "${src[@]}" -o "$OUT/probe/$row" 2>"$OUT/probe-$row.log")
  printf '  %-12s %6s   (%s)\n' "$row" "$(sed 's/.*score \([0-9.-]*\).*/\1/' <<<"$line")" \
    "$(sed 's/.*| \(lr [^|]*\) |.*/\1/' <<<"$line")"
done
echo
echo "Small data and quick settings. On the full suite (docs/RESULTS.md) the shipped model is the best"
echo "row on tempo, and worse than its random-init twin on pitch, instrument and key: at this scale"
echo "the recipe learned rhythm, not the semitone."
echo "Outputs: $OUT/ (features, and per task results.md and layer_curve.svg under $OUT/probe/)"
