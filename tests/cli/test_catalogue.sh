#!/usr/bin/env bash
# `mert embed` at catalogue scale: directories/lists/manifests with mirrored outputs, shards,
# resume after SIGKILL (bitwise-identical final outputs, never a partial file under a final
# name), thousands of files, unreadable files. Needs MERT_BIN and ORACLE_PYTHON.
set -uo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:?}"
W=$(mktemp -d)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
pass=0; fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }

"$MERT_BIN" init -o "$W/model" --preset tiny --seed 5 2>/dev/null || { echo "cannot create model"; exit 1; }
# A small collection: nested folders, two files with the same name, several rates.
mkdir -p "$W/music/rock" "$W/music/jazz/live"
i=0
for d in rock jazz jazz/live; do
  for k in 1 2 3 4; do
    i=$((i+1))
    "$MERT_BIN" gen-audio -o "$W/music/$d/track$k.wav" --sec "0.$((i % 9 + 1))$k" --seed $i --sr $([ $((i % 3)) = 0 ] && echo 44100 || echo 24000) 2>/dev/null
  done
done
"$MERT_BIN" gen-audio -o "$W/music/rock/long.wav" --sec 7 --seed 99 2>/dev/null
echo "junk" > "$W/music/rock/broken.wav"
echo "readme" > "$W/music/README.txt"
EMBED=("$MERT_BIN" embed -m "$W/model" --pool none --chunk-sec 2 --threads 1)

# 1. Reference run: directory input mirrors relative paths; the broken file is recorded.
"${EMBED[@]}" -o "$W/ref" "$W/music" 2>"$W/ref.log"; rc=$?
n_out=$(find "$W/ref" -name '*.npy' | wc -l)
if [ $rc -eq 1 ] && [ "$n_out" -eq 13 ] && [ -f "$W/ref/jazz/live/track1.npy" ] && [ -f "$W/ref/rock/track1.npy" ] \
   && grep -q "broken.wav" "$W/ref/failures.tsv" && ! grep -q README "$W/ref/failures.tsv"; then
  ok "directory: 13 outputs mirrored, broken file in failures.tsv, exit 1"
else bad "directory run (rc=$rc, $n_out outputs)"; cat "$W/ref.log"; fi

# 2. Rerun skips everything; changed settings are refused.
"${EMBED[@]}" -o "$W/ref" "$W/music" 2>"$W/rerun.log"
grep -q "0 ok, 1 failed, 13 skipped" "$W/rerun.log" && ok "rerun skips finished files" || { bad "rerun"; tail -2 "$W/rerun.log"; }
"$MERT_BIN" embed -m "$W/model" --pool mean -o "$W/ref" "$W/music" 2>"$W/chg.log"
[ $? -eq 1 ] && grep -q "different settings" "$W/chg.log" && ok "changed settings refused" || bad "changed settings accepted"

# 3. SIGKILL at random points, then finish: identical outputs, no partial file ever visible.
for attempt in 1 2 3 4 5 6; do
  "${EMBED[@]}" -o "$W/killed" "$W/music" 2>/dev/null &
  pid=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  for f in $(cd "$W/killed" 2>/dev/null && find . -name '*.npy'); do
    cmp -s "$W/killed/$f" "$W/ref/$f" || bad "after kill $attempt: $f differs from the reference (partial?)"
  done
done
# A kill can land inside any write: plant the temps of the settings file and failures.tsv that
# such a kill leaves (named after a dead pid), so that the clean-up is tested every time.
mkdir -p "$W/killed"
touch "$W/killed/mert-embed.json.tmp.999999" "$W/killed/failures.tsv.tmp.999999"
"${EMBED[@]}" -o "$W/killed" "$W/music" 2>/dev/null
diff <(cd "$W/ref" && find . -name '*.npy' | sort) <(cd "$W/killed" && find . -name '*.npy' | sort) >/dev/null \
  && ok "killed+resumed run has the same set of outputs" || bad "output sets differ after resume"
same=1
for f in $(cd "$W/ref" && find . -name '*.npy'); do cmp -s "$W/ref/$f" "$W/killed/$f" || { same=0; echo "  differs: $f"; }; done
[ $same = 1 ] && ok "killed+resumed outputs are byte-identical to the uninterrupted run" || bad "outputs differ after resume"
leftover=$(find "$W/killed" -name '*.tmp*' | wc -l)
[ "$leftover" -eq 0 ] && ok "no temp files left after the resumed run" || bad "$leftover temp files left: $(cd "$W/killed" && find . -name '*.tmp*' | head -3 | tr '\n' ' ')"

# 3b. The same with chunks of 4 consecutive files sharing batches of 6: outputs within float
# rounding of the ungrouped run, and kill/resume still byte-identical to an uninterrupted grouped run.
GEMBED=("${EMBED[@]}" --group-files 4 --batch 6)
"${GEMBED[@]}" -o "$W/gref" "$W/music" 2>/dev/null
"$ORACLE_PYTHON" - "$W/ref" "$W/gref" <<'PY' && ok "grouped batches match ungrouped outputs (rel. err <= 1e-4)" || bad "grouped outputs differ"
import numpy as np, pathlib, sys
a, b = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
files = sorted(p.relative_to(a) for p in a.rglob("*.npy"))
assert files and files == sorted(p.relative_to(b) for p in b.rglob("*.npy"))
worst = max(np.abs(np.load(a / f) - np.load(b / f)).max() / np.abs(np.load(a / f)).max() for f in files)
print("  worst grouped/ungrouped relative error %.2e" % worst)
assert worst <= 1e-4
PY
for attempt in 1 2 3 4; do
  "${GEMBED[@]}" -o "$W/gkilled" "$W/music" 2>/dev/null &
  pid=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done
"${GEMBED[@]}" -o "$W/gkilled" "$W/music" 2>/dev/null
same=1
for f in $(cd "$W/gref" && find . -name '*.npy'); do cmp -s "$W/gref/$f" "$W/gkilled/$f" || { same=0; echo "  differs: $f"; }; done
[ "$(find "$W/gkilled" -name '*.npy' | wc -l)" -eq 13 ] && [ $same = 1 ] \
  && ok "grouped: killed+resumed outputs byte-identical to the uninterrupted grouped run" || bad "grouped resume differs"

# 4. Shards: disjoint, and together exactly the full set.
for s in 0 1 2; do "${EMBED[@]}" -o "$W/sharded" --shard $s/3 "$W/music" 2>/dev/null; done
diff <(cd "$W/ref" && find . -name '*.npy' | sort) <(cd "$W/sharded" && find . -name '*.npy' | sort) >/dev/null \
  && ok "three shards together = the full set" || bad "shards do not cover the set"
total=0; for s in 0 1 2; do
  c=$("${EMBED[@]}" -o "$W/shard_count_$s" --shard $s/3 "$W/music" 2>&1 | grep -o '[0-9]* inputs' | cut -d' ' -f1); total=$((total + c)); done
[ "$total" -eq 14 ] && ok "shards are disjoint (14 inputs in all)" || bad "shard inputs sum to $total, expected 14"
ls "$W/sharded"/failures.shard-*-of-3.tsv >/dev/null 2>&1 && ok "per-shard failures files" || bad "no per-shard failures file"

# 5. A fairseq manifest and a list file mirror their relative paths.
{ echo "$W/music"; echo -e "rock/track1.wav\t1"; echo -e "jazz/live/track2.wav\t1"; } > "$W/train.tsv"
"${EMBED[@]}" -o "$W/from_tsv" "$W/train.tsv" 2>/dev/null
[ -f "$W/from_tsv/rock/track1.npy" ] && [ -f "$W/from_tsv/jazz/live/track2.npy" ] && cmp -s "$W/from_tsv/rock/track1.npy" "$W/ref/rock/track1.npy" \
  && ok "manifest input mirrors relpaths" || bad "manifest input"
printf '%s\n' "$W/music/jazz/track3.wav" "# comment" "$W/music/jazz/live/track3.wav" > "$W/list.txt"
"${EMBED[@]}" -o "$W/from_list" --list "$W/list.txt" 2>/dev/null
[ -f "$W/from_list/track3.npy" ] && [ -f "$W/from_list/live/track3.npy" ] && ok "list input strips the common folder" || { bad "list input"; find "$W/from_list"; }
"${EMBED[@]}" -o "$W/flat" "$W/music/rock/track1.wav" "$W/music/jazz/track1.wav" 2>"$W/flat.log"
[ $? -eq 1 ] && grep -q "already produced by" "$W/flat.log" && [ -f "$W/flat/track1.npy" ] && ok "same-name files given flat: second refused, first written" || bad "flat collision"

# 6. Thousands of files in one directory (plus a few bad ones): all done, bad ones reported.
mkdir -p "$W/many"
"$MERT_BIN" gen-audio -o "$W/many/seed.wav" --sec 0.05 2>/dev/null
for k in $(seq 1 1500); do ln "$W/many/seed.wav" "$W/many/f$k.wav"; done
for k in 1 2 3; do echo bad > "$W/many/bad$k.mp3"; done
"$MERT_BIN" embed -m "$W/model" -o "$W/many_out" --threads 1 "$W/many" 2>"$W/many.log"
grep -q "1501 ok, 3 failed, 0 skipped" "$W/many.log" && [ "$(find "$W/many_out" -name '*.npy' | wc -l)" -eq 1501 ] \
  && ok "1504-file directory: 1501 ok, 3 failed" || { bad "many files"; tail -3 "$W/many.log"; }

# 7. An unreadable file (as an unprivileged user: root reads everything).
cp "$W/music/rock/track1.wav" "$W/secret.wav"; chmod 000 "$W/secret.wav"
cp "$W/music/rock/track2.wav" "$W/open.wav"; chmod 644 "$W/open.wav"
mkdir -p "$W/perm_out"; chmod 777 "$W/perm_out"; chmod -R a+rX "$W/model"
RUN=(); if [ "$(id -u)" -eq 0 ]; then RUN=(runuser -u nobody --); fi
"${RUN[@]}" "$MERT_BIN" embed -m "$W/model" -o "$W/perm_out" "$W/secret.wav" "$W/open.wav" 2>"$W/perm.log"; rc=$?
[ $rc -eq 1 ] && grep -q "secret.wav: cannot open (Permission denied)" "$W/perm.log" && [ -f "$W/perm_out/open.npy" ] \
  && ok "unreadable file reported, the rest done" || { bad "unreadable file (rc=$rc)"; cat "$W/perm.log"; }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
