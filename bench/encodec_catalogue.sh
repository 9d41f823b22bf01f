#!/usr/bin/env bash
# EnCodec labels at catalogue scale: `mert label apply --teacher encodec` (fp32, 6 kbps) over a
# manifest of generated files, once per --batch value (files each job encodes together), with the
# default jobs (one per core). Random full-size 24 kHz weights (tests/oracle/encodec_oracle.py;
# the speed does not depend on their values). Prints one row per batch: wall time, real-time
# factor, peak RSS of the whole command, and how many codes differ from the first batch value's
# labels (batched GEMMs round differently).
# Usage: bench/encodec_catalogue.sh [mert binary] [files] [seconds per file] [batches]
#        (default: build/mert 16 60 "1 8 16")
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
MERT=$(realpath "${1:-$HERE/build/mert}")
FILES=${2:-16}
SEC=${3:-60}
BATCHES=${4:-1 8 16}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 "$HERE/tests/oracle/encodec_oracle.py" make "$W/enc" --seed 1 > /dev/null
mkdir -p "$W/audio"
echo "$W/audio" > "$W/train.tsv"
for i in $(seq 1 "$FILES"); do
  "$MERT" gen-audio -o "$W/audio/c$i.wav" --sec "$SEC" --sr 24000 --seed "$i" > /dev/null 2>&1
  printf 'c%d.wav\t%d\n' "$i" $((SEC * 24000)) >> "$W/train.tsv"
done
header=0
for batch in $BATCHES; do
  rm -rf "$W/labels"
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$W/rss" "$MERT" label apply --teacher encodec --codec "$W/enc" -o "$W/labels" \
    --batch "$batch" "$W/train.tsv" 2> "$W/log"
  end=$(date +%s.%N)
  if [[ $header == 0 ]]; then
    grep "^system:\|^label apply" "$W/log" >&2 || true
    printf '| files | batch | wall s | x real time | peak RSS MiB | codes differing from batch %s |\n|---|---|---|---|---|---|\n' "${BATCHES%% *}"
    header=1
  fi
  [[ -d $W/first ]] || cp -r "$W/labels" "$W/first"
  diff=$(cat "$W"/first/train.encodec_* | tr ' ' '\n' > "$W/a"; cat "$W"/labels/train.encodec_* | tr ' ' '\n' > "$W/b"
         paste -d' ' "$W/a" "$W/b" | awk '$1 != $2 { d++ } END { printf "%d of %d", d, NR }')
  awk -v f="$FILES" -v s="$SEC" -v b="$batch" -v a="$start" -v e="$end" -v r="$(cat "$W/rss")" -v d="$diff" \
    'BEGIN { printf "| %d x %d s | %d | %.1f | %.0f | %.0f | %s |\n", f, s, b, e - a, f * s / (e - a), r / 1024, d }'
done
