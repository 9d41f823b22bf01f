#!/usr/bin/env bash
# Output that cannot be written (full disk, file-size limit, read-only dir) must stop a run with
# exit code 3, one error line and one line of advice, keep every output finished before the
# failure complete and loadable, leave no temp files, and a rerun without the limit must finish
# the job, skipping what was kept.
# The limit comes from `ulimit -f` (RLIMIT_FSIZE, per file, EFBIG once SIGXFSZ is ignored) so the
# test needs no privileges; when this user may mount a tmpfs, a real ENOSPC and a read-only
# directory are checked too.
# Needs: MERT_BIN, ORACLE_PYTHON (set by ctest).
set -uo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:?}"
W=$(mktemp -d)
MNT=""
cleanup() {
  if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null; fi
  rm -rf "$W"
}
trap cleanup EXIT
pass=0; fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; [ -f "$W/err.txt" ] && sed 's/^/     | /' "$W/err.txt" | tail -5; fail=$((fail+1)); }
M() { timeout 120 "$MERT_BIN" "$@"; }

# limited <KiB> <command...>: runs with a per-file size limit; SIGXFSZ ignored so writes fail
# with EFBIG instead of killing the process.
limited() {
  local kib=$1; shift
  ( trap '' XFSZ; ulimit -f "$kib"; "$@" ) >"$W/out.txt" 2>"$W/err.txt"
}

# expect_stop <name> <output dir>: the last command stopped as an output failure should.
expect_stop() {
  local name=$1 rc=$2 dir=$3
  if [ "$rc" -ne 3 ]; then bad "$name: exit code $rc (expected 3)"; return 1; fi
  if [ "$(grep -c 'error:' "$W/err.txt")" -ne 1 ]; then bad "$name: expected one error line"; return 1; fi
  if ! grep -q "rerun the same command" "$W/err.txt"; then bad "$name: no advice line"; return 1; fi
  local temps
  temps=$(find "$dir" -name '*.tmp.*' | wc -l)
  if [ "$temps" -ne 0 ]; then bad "$name: $temps temp files left"; return 1; fi
  ok "$name: stopped with code 3: $(grep 'error:' "$W/err.txt" | cut -c1-110)"
}

# npy_ok <files...>: every file loads with numpy and holds finite values.
npy_ok() {
  "$ORACLE_PYTHON" - "$@" <<'EOF'
import sys, numpy as np
for p in sys.argv[1:]:
    a = np.load(p)
    assert a.size > 0 and np.isfinite(a).all(), p
EOF
}

M init -o "$W/model" --preset tiny --seed 1 2>/dev/null || { echo "cannot create model"; exit 1; }
mkdir -p "$W/in"
# Two short clips first, then a long one whose output alone passes the limit.
M gen-audio -o "$W/in/a.wav" --sec 1 --seed 1 2>/dev/null
M gen-audio -o "$W/in/b.wav" --sec 1 --seed 2 2>/dev/null
M gen-audio -o "$W/in/c.wav" --sec 6 --seed 3 2>/dev/null
M gen-audio -o "$W/in/d.wav" --sec 1 --seed 4 2>/dev/null

# largest_kib <dir>: half the size of the largest .npy a complete run writes, in KiB (≥ 1).
half_largest_kib() {
  local max
  max=$(find "$1" -name '*.npy' -printf '%s\n' | sort -n | tail -1)
  echo $(( max / 2048 > 1 ? max / 2048 : 1 ))
}

# 1. embed, frames (streamed writer) and per-chunk means (whole-file writer; 1 s chunks so
# output sizes differ like the frames').
for pool in none chunks; do
  EA=(--pool "$pool" --chunk-sec 1 --group-files 1)
  M embed -m "$W/model" -o "$W/ref_$pool" "${EA[@]}" "$W/in" >/dev/null 2>&1
  lim=$(half_largest_kib "$W/ref_$pool")
  out="$W/emb_$pool"
  limited "$lim" "$MERT_BIN" embed -m "$W/model" -o "$out" "${EA[@]}" "$W/in"
  rc=$?
  if expect_stop "embed --pool $pool under a ${lim} KiB file limit" "$rc" "$out"; then
    kept=$(find "$out" -name '*.npy' | sort)
    if [ -f "$out/a.npy" ] && [ -f "$out/b.npy" ] && [ ! -f "$out/c.npy" ] && npy_ok $kept; then
      ok "embed --pool $pool: outputs before the failure kept and loadable"
    else
      bad "embed --pool $pool: kept outputs wrong: $(echo $kept | tr '\n' ' ')"
    fi
    M embed -m "$W/model" -o "$out" "${EA[@]}" "$W/in" >"$W/out.txt" 2>"$W/err.txt"
    rc=$?
    if [ $rc -eq 0 ] && grep -q "2 skipped" "$W/err.txt" && cmp -s "$out/c.npy" "$W/ref_$pool/c.npy" \
      && cmp -s "$out/d.npy" "$W/ref_$pool/d.npy"; then
      ok "embed --pool $pool: rerun finishes the job, skips the kept two, same bytes"
    else
      bad "embed --pool $pool: rerun (rc $rc)"
    fi
  fi
done

# 2. features: a per-item writer inside the worker pool.
M features --type cqt -o "$W/ref_feat" "$W/in" >/dev/null 2>&1
lim=$(half_largest_kib "$W/ref_feat")
limited "$lim" "$MERT_BIN" features --type cqt -o "$W/feat" --jobs 1 "$W/in"
rc=$?
if expect_stop "features under a ${lim} KiB file limit" "$rc" "$W/feat"; then
  if [ -f "$W/feat/a.npy" ] && [ ! -f "$W/feat/c.npy" ] && [ ! -f "$W/feat/failures.tsv" ]; then
    ok "features: earlier outputs kept, the disk failure not recorded as a bad input"
  else
    bad "features: kept outputs / failures.tsv wrong"
  fi
  if M features --type cqt -o "$W/feat" --jobs 1 "$W/in" >/dev/null 2>&1 && cmp -s "$W/feat/c.npy" "$W/ref_feat/c.npy"; then
    ok "features: rerun finishes the job"
  else
    bad "features: rerun"
  fi
fi

# 3. label apply: parts and the assembled label file.
printf '%s\n' "$W/in" > "$W/train.tsv"
for f in a:24000 b:24000 c:144000 d:24000; do  # gen-audio writes exactly sec x 24 kHz
  printf '%s.wav\t%s\n' "${f%%:*}" "${f##*:}" >> "$W/train.tsv"
done
M label fit --feature mfcc --clusters 4 -o "$W/km.safetensors" --sample-frames 500 "$W/train.tsv" >/dev/null 2>&1
M label apply --codebook "$W/km.safetensors" -o "$W/lab_ref" --name km "$W/train.tsv" >/dev/null 2>&1
labsize=$(stat -c %s "$W/lab_ref/train.km")
lim=1
if [ "$labsize" -gt 1024 ]; then
  limited "$lim" "$MERT_BIN" label apply --codebook "$W/km.safetensors" -o "$W/lab" --name km "$W/train.tsv"
  rc=$?
  if expect_stop "label apply under a ${lim} KiB file limit" "$rc" "$W/lab"; then
    if M label apply --codebook "$W/km.safetensors" -o "$W/lab" --name km "$W/train.tsv" >/dev/null 2>&1 \
      && cmp -s "$W/lab/train.km" "$W/lab_ref/train.km"; then
      ok "label apply: rerun finishes with the same labels"
    else
      bad "label apply: rerun"
    fi
  fi
else
  bad "label apply: reference label file only $labsize bytes; cannot set a limit below it"
fi

# 4. pretrain: a checkpoint that cannot be written stops training; --resume continues.
mkdir -p "$W/pt"
cp "$W/train.tsv" "$W/pt/train.tsv"
PT=(pretrain --preset tiny --manifest "$W/pt" --labels "$W/lab_ref" --label-names km --crop-samples 16000
    --min-samples 16000 --batch-size 2 --warmup-steps 1 --log-every 1 --save-every 2 --valid-every 0
    --threads 1 --steps 4)
M "${PT[@]}" --out "$W/run_ref" >/dev/null 2>&1
ck=$(stat -c %s "$W/run_ref/checkpoints/last.safetensors" 2>/dev/null || echo 0)
lim=$(( ck / 2048 > 1 ? ck / 2048 : 1 ))
limited "$lim" "$MERT_BIN" "${PT[@]}" --out "$W/run" --resume
rc=$?
if expect_stop "pretrain with a checkpoint over a ${lim} KiB file limit" "$rc" "$W/run"; then
  if M "${PT[@]}" --out "$W/run" --resume >/dev/null 2>&1 && [ -f "$W/run/checkpoints/last.safetensors" ] \
    && [ "$(grep -c '"update"' "$W/run/log.jsonl")" -eq "$(grep -c '"update"' "$W/run_ref/log.jsonl")" ]; then
    ok "pretrain: --resume after freeing space finishes the run, log complete"
  else
    bad "pretrain: --resume after the failure"
  fi
fi

# 5. A real full disk (ENOSPC) and a read-only directory, where a tmpfs can be mounted.
MNT="$W/mnt"
mkdir -p "$MNT"
# Room for the two 1 s clips' frames (2 x 188 KiB), not for the 6 s one's.
if mount -t tmpfs -o size=512k tmpfs "$MNT" 2>/dev/null; then
  M embed -m "$W/model" -o "$MNT/emb" --pool none --group-files 1 "$W/in" >"$W/out.txt" 2>"$W/err.txt"
  rc=$?
  if expect_stop "embed onto a 512 KiB tmpfs that fills up" "$rc" "$MNT/emb"; then
    if [ -f "$MNT/emb/a.npy" ] && [ -f "$MNT/emb/b.npy" ] && [ ! -f "$MNT/emb/c.npy" ] \
      && npy_ok "$MNT/emb/a.npy" "$MNT/emb/b.npy" && cmp -s "$MNT/emb/a.npy" "$W/ref_none/a.npy"; then
      ok "full tmpfs: the outputs that fitted are kept, complete"
    else
      bad "full tmpfs: kept outputs wrong: $(ls "$MNT/emb" | tr '\n' ' ')"
    fi
  fi
  umount "$MNT"
  mount -t tmpfs -o size=1m,ro tmpfs "$MNT"
  M features --type cqt -o "$MNT" "$W/in" >"$W/out.txt" 2>"$W/err.txt"
  rc=$?
  if [ $rc -ne 0 ] && [ "$(grep -c 'error:' "$W/err.txt")" -eq 1 ]; then
    ok "read-only output dir refused in one line (code $rc)"
  else
    bad "read-only output dir (rc $rc)"
  fi
  umount "$MNT"
else
  echo "skip tmpfs cases: cannot mount here"
fi
MNT=""

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
