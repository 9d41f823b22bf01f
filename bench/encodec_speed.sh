#!/usr/bin/env bash
# EnCodec teacher speed and memory: `mert codec encode` (fp32, 6 kbps = 8 codebooks) on generated
# clips of several lengths with random full-size 24 kHz weights (tests/oracle/encodec_oracle.py;
# the speed does not depend on the weights' values). One process per clip, so each peak RSS is
# that length's. Prints one row per length: real-time factor and peak RSS.
# Usage: bench/encodec_speed.sh [mert binary] [threads] [seconds ...]   (default: build/mert 2 10 60 120)
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
MERT=$(realpath "${1:-$HERE/build/mert}")
THREADS=${2:-2}
shift $(( $# > 2 ? 2 : $# ))
LENGTHS=${*:-10 60 120}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 "$HERE/tests/oracle/encodec_oracle.py" make "$W/enc" --seed 1 > /dev/null
printf '| audio | threads | wall s | x real time | peak RSS MiB |\n|---|---|---|---|---|\n'
for sec in $LENGTHS; do
  "$MERT" gen-audio -o "$W/c$sec.wav" --sec "$sec" --sr 24000 > /dev/null 2>&1
  "$MERT" codec encode -m "$W/enc" -o "$W/out" --threads "$THREADS" "$W/c$sec.wav" 2> "$W/log" > /dev/null  # warm file cache
  start=$(date +%s.%N)
  "$MERT" codec encode -m "$W/enc" -o "$W/out" --threads "$THREADS" "$W/c$sec.wav" 2> "$W/log"
  end=$(date +%s.%N)
  [[ $sec == "${LENGTHS%% *}" ]] && echo "$(head -n 1 "$W/log")" >&2
  rss=$(sed -n 's/.*peak RSS \([0-9]*\) MiB.*/\1/p' "$W/log")
  awk -v s="$sec" -v t="$THREADS" -v a="$start" -v b="$end" -v r="$rss" \
    'BEGIN { printf "| %d s | %d | %.2f | %.0f | %s |\n", s, t, b - a, s / (b - a), r }'
done
