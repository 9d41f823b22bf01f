#!/usr/bin/env bash
# `mert synth` tests: render a task at small size and check its labels against the audio
# (check_labels.py), determinism across --jobs, and bad input. Usage: test_synth.sh <case>
set -euo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:=/usr/bin/python3}" "${MERT_SOURCE_DIR:?}"
CHECK="$ORACLE_PYTHON $MERT_SOURCE_DIR/tests/synth/check_labels.py"
TIM=/usr/share/sounds/sf2/TimGM6mb.sf2
FLUID=/usr/share/sounds/sf2/FluidR3_GM.sf2
MUSE=/usr/share/sounds/sf3/MuseScore_General_Lite.sf3
for f in $TIM $FLUID; do
  [ -f "$f" ] || { echo "missing $f (scripts/install-deps.sh installs the soundfonts)"; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
case="$1"

run() { "$MERT_BIN" synth "$@" --wav 2>&1 | tail -1; }

case "$case" in
  pitch)   # test split on another soundfont (SF3) to exercise the generalisation split
    run pitch -o "$T/d" --count 40 --soundfont $TIM --test-soundfont $MUSE --jobs 2
    $CHECK pitch "$T/d" ;;
  key)     run key -o "$T/d" --count 24 --sec 20 --soundfont $FLUID --jobs 2; $CHECK key "$T/d" ;;
  chords)  run chords -o "$T/d" --count 12 --sec 12 --soundfont $TIM --jobs 2; $CHECK chords "$T/d" ;;
  beat)    run beat -o "$T/d" --count 16 --sec 12 --soundfont $FLUID --jobs 2; $CHECK beat "$T/d" ;;
  tags)    run tags -o "$T/d" --count 16 --sec 8 --soundfont $TIM --jobs 2; $CHECK tags "$T/d" ;;
  stems)   run stems -o "$T/d" --count 4 --sec 8 --soundfont $TIM --jobs 2; $CHECK stems "$T/d" ;;
  corpus)  run corpus -o "$T/d" --hours 0.01 --sec 6 --soundfont $TIM --jobs 2; $CHECK corpus "$T/d" ;;
  determinism)
    # Same task/count/seed/soundfont => byte-identical files (FLAC included), whatever --jobs.
    for j in 1 2; do
      "$MERT_BIN" synth key -o "$T/j$j" --count 8 --sec 6 --seed 7 --soundfont $TIM --jobs $j 2>/dev/null
      "$MERT_BIN" synth stems -o "$T/s$j" --count 3 --sec 4 --seed 7 --soundfont $TIM --jobs $j 2>/dev/null
    done
    for p in j s; do
      for t in train valid test; do  # manifests: the root line names the output dir
        tail -n +2 "$T/${p}1/$t.tsv" > "$T/${p}1/$t.tsv.body"; rm "$T/${p}1/$t.tsv"
        tail -n +2 "$T/${p}2/$t.tsv" > "$T/${p}2/$t.tsv.body"; rm "$T/${p}2/$t.tsv"
      done
      diff -r "$T/${p}1" "$T/${p}2" || { echo "FAIL: output differs between --jobs 1 and --jobs 2"; exit 1; }
    done
    n=$(find "$T/j1" -name '*.flac' | wc -l)
    [ "$n" -eq 8 ] || { echo "FAIL: expected 8 FLAC files, got $n"; exit 1; }
    "$MERT_BIN" synth key -o "$T/seed8" --count 8 --sec 6 --seed 8 --soundfont $TIM 2>/dev/null
    if cmp -s "$T/j1/train/key_000000.flac" "$T/seed8/train/key_000000.flac"; then echo "FAIL: seed has no effect"; exit 1; fi
    echo "determinism ok" ;;
  bad-input)
    expect_fail() {  # expect_fail <message fragment> <args...>
      local want="$1"; shift
      if out=$("$MERT_BIN" synth "$@" 2>&1); then echo "FAIL: succeeded: mert synth $*"; exit 1; fi
      echo "$out" | grep -q -- "$want" || { echo "FAIL: 'mert synth $*' said: $out (wanted: $want)"; exit 1; }
      [ "$(echo "$out" | grep -c error)" -eq 1 ] || { echo "FAIL: not one error line: $out"; exit 1; }
    }
    expect_fail "unknown task" dance -o "$T/x"
    expect_fail "expected exactly one task" -o "$T/x"
    expect_fail "missing -o" key
    expect_fail "soundfont '/nonexistent.sf2' not found" key -o "$T/x" --soundfont /nonexistent.sf2
    expect_fail "could not be loaded" key -o "$T/x" --soundfont "$MERT_SOURCE_DIR/README.md" --count 3
    expect_fail "count must be between" key -o "$T/x" --count 1
    expect_fail "count must be between" key -o "$T/x" --count 99999999999
    expect_fail "non-negative integers" key -o "$T/x" --count -5
    expect_fail "non-negative integers" key -o "$T/x" --count lots
    expect_fail "hours must be in" corpus -o "$T/x" --hours 0
    expect_fail "jobs must be between" key -o "$T/x" --jobs 0
    expect_fail "sec must be between" key -o "$T/x" --sec 0.5
    touch "$T/file"
    expect_fail "cannot create output dir" key -o "$T/file/sub" --count 3 --soundfont $TIM
    mkdir "$T/ro"; chmod 500 "$T/ro"
    expect_fail "cannot create output dir" key -o /proc/mert_synth_test --count 3 --soundfont $TIM
    if [ "$(id -u)" -ne 0 ]; then expect_fail "synth_info.json" key -o "$T/ro" --count 3 --soundfont $TIM; fi
    echo "bad input ok" ;;
  *) echo "unknown case $case"; exit 2 ;;
esac
