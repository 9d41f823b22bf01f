#!/usr/bin/env bash
# Bad input to the CLI: every case must exit with status 1 or 2 (never a signal/crash), print
# exactly one error line naming the problem on stderr, and leave no partial output.
# Needs: MERT_BIN, ORACLE_PYTHON, MERT_SOURCE_DIR (set by ctest).
set -uo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:?}" "${MERT_SOURCE_DIR:?}"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0; fail=0

# expect_error <name> <regex the error line must match> <command...>
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$@" >"$W/out.txt" 2>"$W/err.txt"
  local rc=$?
  local errlines
  errlines=$(grep -c -E "error|FAILED" "$W/err.txt")
  if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then
    echo "FAIL $name: exit code $rc (expected 1 or 2)"; cat "$W/err.txt"; fail=$((fail+1)); return
  fi
  if ! grep -q -E -- "$pattern" "$W/err.txt"; then
    echo "FAIL $name: stderr does not match /$pattern/:"; cat "$W/err.txt"; fail=$((fail+1)); return
  fi
  if [ "$errlines" -ne 1 ]; then
    echo "FAIL $name: expected one error line, got $errlines:"; cat "$W/err.txt"; fail=$((fail+1)); return
  fi
  echo "ok   $name: $(grep -E 'error|FAILED' "$W/err.txt" | head -1)"
  pass=$((pass+1))
}

# A valid tiny model and clip to break in different ways.
"$MERT_BIN" init -o "$W/good" --preset tiny --seed 3 2>/dev/null || { echo "cannot create model"; exit 1; }
"$MERT_BIN" gen-audio -o "$W/clip.wav" --sec 2 2>/dev/null
copy_model() { rm -rf "$W/$1"; cp -r "$W/good" "$W/$1"; }
embed() { "$MERT_BIN" embed -m "$1" -o "$W/feat_$(basename "$1")" "${@:2}"; }

expect_error missing-model-dir "does not exist" "$MERT_BIN" info -m "$W/nope"
expect_error model-dir-is-file "not a directory" "$MERT_BIN" info -m "$W/clip.wav"
copy_model nocfg; rm "$W/nocfg/config.json"
expect_error missing-config "missing config.json" "$MERT_BIN" info -m "$W/nocfg"
copy_model badjson; echo '{"hidden_size": 128,,}' > "$W/badjson/config.json"
expect_error malformed-config "malformed JSON" "$MERT_BIN" info -m "$W/badjson"
copy_model badtype; sed -i 's/"hidden_size": 128/"hidden_size": "128"/' "$W/badtype/config.json"
expect_error config-wrong-type "hidden_size.*wrong type" "$MERT_BIN" info -m "$W/badtype"
copy_model cqt; sed -i 's/"feature_extractor_cqt": false/"feature_extractor_cqt": true/' "$W/cqt/config.json"
expect_error config-cqt-refused "feature_extractor_cqt" "$MERT_BIN" info -m "$W/cqt"
copy_model nopre; rm "$W/nopre/preprocessor_config.json"
expect_error missing-preprocessor "preprocessor_config.json" "$MERT_BIN" info -m "$W/nopre"
copy_model noweights; rm "$W/noweights/model.safetensors"
expect_error missing-weights "no weights found" "$MERT_BIN" info -m "$W/noweights"

size=$(stat -c %s "$W/good/model.safetensors")
for cut in 4 100 $((size / 2)) $((size - 1)); do
  copy_model trunc; head -c "$cut" "$W/good/model.safetensors" > "$W/trunc/model.safetensors"
  expect_error "truncated-safetensors-$cut" "model.safetensors" "$MERT_BIN" info -m "$W/trunc"
done
copy_model corrupt; printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$W/corrupt/model.safetensors" bs=1 seek=0 conv=notrunc 2>/dev/null
expect_error corrupt-safetensors-header "model.safetensors" "$MERT_BIN" info -m "$W/corrupt"
copy_model corrupt2; printf 'XXXXXXXX' | dd of="$W/corrupt2/model.safetensors" bs=1 seek=20 conv=notrunc 2>/dev/null
expect_error corrupt-safetensors-json "model.safetensors" "$MERT_BIN" info -m "$W/corrupt2"

copy_model shape; sed -i 's/"intermediate_size": 512/"intermediate_size": 256/' "$W/shape/config.json"
expect_error wrong-shape "intermediate_dense.weight' has shape \[512, 128\], the config expects \[256, 128\]" "$MERT_BIN" info -m "$W/shape"
copy_model missing; sed -i 's/"num_hidden_layers": 4/"num_hidden_layers": 5/' "$W/missing/config.json"
expect_error missing-tensor "missing tensor.*encoder.layers.4" "$MERT_BIN" info -m "$W/missing"
copy_model extra; sed -i 's/"num_hidden_layers": 4/"num_hidden_layers": 3/' "$W/extra/config.json"
expect_error unexpected-tensor "unexpected tensor.*encoder.layers.3" "$MERT_BIN" info -m "$W/extra"

# The released format: pytorch_model.bin (written by torch.save through the oracle script).
if "$ORACLE_PYTHON" "$MERT_SOURCE_DIR/tests/oracle/make_model.py" --out "$W/binmodel" --size tiny --formats bin >/dev/null 2>&1; then
  bsize=$(stat -c %s "$W/binmodel/pytorch_model.bin")
  for cut in 10 $((bsize / 3)) $((bsize - 30)); do
    rm -rf "$W/bintrunc"; cp -r "$W/binmodel" "$W/bintrunc"
    head -c "$cut" "$W/binmodel/pytorch_model.bin" > "$W/bintrunc/pytorch_model.bin"
    expect_error "truncated-bin-$cut" "pytorch_model.bin" "$MERT_BIN" info -m "$W/bintrunc"
  done
  rm -rf "$W/bincorrupt"; cp -r "$W/binmodel" "$W/bincorrupt"
  # Overwrite the middle of the pickle / central directory region with garbage.
  printf 'garbagegarbagegarbage' | dd of="$W/bincorrupt/pytorch_model.bin" bs=1 seek=$((bsize - 200)) conv=notrunc 2>/dev/null
  expect_error corrupt-bin "pytorch_model.bin" "$MERT_BIN" info -m "$W/bincorrupt"
  # mert convert: .bin dir -> safetensors dir with identical features; refuses to overwrite.
  if "$MERT_BIN" convert "$W/binmodel" "$W/converted" 2>/dev/null && [ -f "$W/converted/model.safetensors" ] \
     && [ ! -e "$W/converted/pytorch_model.bin" ]; then
    embed "$W/binmodel" --pool none "$W/clip.wav" >/dev/null 2>&1
    embed "$W/converted" --pool none "$W/clip.wav" >/dev/null 2>&1
    if cmp -s "$W/feat_binmodel/clip.npy" "$W/feat_converted/clip.npy"; then
      echo "ok   convert: safetensors copy gives byte-identical features"; pass=$((pass+1))
    else echo "FAIL convert: features differ after conversion"; fail=$((fail+1)); fi
  else echo "FAIL convert did not produce model.safetensors"; fail=$((fail+1)); fi
  expect_error convert-no-overwrite "already holds model.safetensors" "$MERT_BIN" convert "$W/binmodel" "$W/converted"
  echo "not a zip archive at all" > "$W/bincorrupt/pytorch_model.bin"
  expect_error garbage-bin "pytorch_model.bin" "$MERT_BIN" info -m "$W/bincorrupt"
else
  echo "FAIL could not build a pytorch_model.bin fixture with $ORACLE_PYTHON"; fail=$((fail+1))
fi

# Unreadable audio: each fails alone, reported, no .npy left behind, exit 1.
echo "this is not audio" > "$W/garbage.wav"
: > "$W/empty.wav"
head -c 30 "$W/clip.wav" > "$W/truncated_header.wav"
"$MERT_BIN" gen-audio -o "$W/short.wav" --sec 0.01 2>/dev/null    # 240 samples < 400
"$MERT_BIN" gen-audio -o "$W/sr44.wav" --sec 1 --sr 44100 2>/dev/null
echo "not audio either" > "$W/notes.txt"
for f in garbage.wav empty.wav truncated_header.wav missing.wav short.wav notes.txt; do
  rm -rf "$W/feat_good"
  expect_error "audio-$f" "FAILED .*$f" embed "$W/good" "$W/$f"
  if ls "$W/feat_good"/*.npy "$W/feat_good"/*.tmp* >/dev/null 2>&1; then echo "FAIL audio-$f left output: $(ls "$W/feat_good")"; fail=$((fail+1)); fi
  if ! grep -q "$f" "$W/feat_good/failures.tsv"; then echo "FAIL audio-$f not in failures.tsv"; fail=$((fail+1)); fi
done
# Another sample rate is resampled, not refused: 1 s at 44.1 kHz -> 74 frames at 24 kHz.
rm -rf "$W/feat_good"
if embed "$W/good" --pool none "$W/sr44.wav" >/dev/null 2>&1 && \
   "$ORACLE_PYTHON" -c "import numpy as np,sys; a=np.load(sys.argv[1]); assert a.shape==(5,74,128), a.shape" "$W/feat_good/sr44.npy"; then
  echo "ok   resampled-44k: 44.1 kHz input embedded at 24 kHz"; pass=$((pass+1))
else echo "FAIL resampled-44k"; fail=$((fail+1)); fi
# A bad file among good ones: the good one is written, exit code still 1.
rm -rf "$W/feat_good"
embed "$W/good" "$W/garbage.wav" "$W/clip.wav" >/dev/null 2>&1; rc=$?
if [ $rc -eq 1 ] && [ -f "$W/feat_good/clip.npy" ] && [ ! -e "$W/feat_good/garbage.npy" ]; then
  echo "ok   mixed-batch: good file written, bad one reported, exit 1"; pass=$((pass+1))
else echo "FAIL mixed-batch (rc=$rc)"; ls "$W/feat_good"; fail=$((fail+1)); fi

# Bad options.
expect_error bad-layers "out of range" embed "$W/good" --layers 0,9 "$W/clip.wav"
expect_error bad-pool "--pool" embed "$W/good" --pool max "$W/clip.wav"
expect_error bad-chunk "chunk-sec" embed "$W/good" --chunk-sec -1 "$W/clip.wav"
expect_error unknown-option "unknown option" "$MERT_BIN" info -m "$W/good" --frobnicate
expect_error unknown-command "unknown command" "$MERT_BIN" frobnicate

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
