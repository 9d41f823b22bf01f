#!/usr/bin/env bash
# The example run of docs/PRETRAIN.md: a synthetic corpus, MFCC k-means labels, the tiny preset
# for about 20 minutes on two cores. Usage: docs/examples/pretrain-tiny/run.sh [mert binary] [work dir]
set -euo pipefail
MERT=${1:-build/mert}
WORK=${2:-/tmp/mert-pretrain-tiny}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
cd "$WORK"
[ -f corpus/train.tsv ] || "$MERT" synth corpus -o corpus --hours 1 --sec 10 -j 2 -s 1
[ -f km.safetensors ] || "$MERT" label fit --feature mfcc --clusters 50 -o km.safetensors corpus/train.tsv
[ -f labels/dict.km.txt ] || "$MERT" label apply --codebook km.safetensors -o labels --name km corpus/train.tsv corpus/valid.tsv
"$MERT" pretrain --preset tiny --manifest corpus --labels labels --label-names km --out run --threads 2 \
  $( [ -f run/checkpoints/last.safetensors ] && echo --resume ) 2>&1 | tee -a console.txt
cp run/log.jsonl run/config.json "$HERE/"
