#!/usr/bin/env bash
# Real-world audio (issue 18, docs/RELIABILITY.md "Decoding policy"): files as they are found in
# collections must embed whole — streaming WAVs, VBR MP3 without a Xing/LAME header, Ogg Vorbis
# of odd lengths, with a granule quirk or without its end-of-stream flag, 8-bit and float PCM,
# 8 kHz to 192 kHz, 1 to 8 channels, long silence, DC offset, clipping — and copies cut at 10/50/90 %
# of their bytes must be refused wherever the container makes a cut detectable. Cuts that no
# container field reveals (MP3 without a Xing/LAME header, streaming WAV, FLAC without a sample
# count) are checked to decode what is there, as documented.
# Needs MERT_BIN and ORACLE_PYTHON; sox, lame, oggenc and flac (scripts/install-deps.sh).
set -uo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:?}"
for t in sox lame oggenc flac; do
  command -v $t >/dev/null || { echo "FAIL $t missing: run scripts/install-deps.sh"; exit 1; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0; fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }

"$MERT_BIN" init -o "$W/model" --preset tiny --seed 5 2>/dev/null || { echo "cannot create model"; exit 1; }
G="$W/gen"; A="$W/whole"; C="$W/cut"
mkdir -p "$G" "$A" "$C"
: > "$W/expected.tsv"
# expect <file in whole/> <seconds of audio> <tolerance in seconds> [warn]: the output must hold
# that much audio; files marked warn must be accepted with a warning line, the others without.
expect() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >> "$W/expected.tsv"; }
SOX=(sox -q -V1)

# Byte-level edits no encoder makes on purpose: WAV header sizes, FLAC's sample count, Ogg pages.
cat > "$W/patch.py" <<'PY'
import struct, sys
def wav(src, dst, riff=None, data=None):
    b = bytearray(open(src, 'rb').read())
    i = 12
    while b[i:i + 4] != b'data':
        i += 8 + struct.unpack('<I', b[i + 4:i + 8])[0]
    if riff is not None: b[4:8] = struct.pack('<I', riff)
    if data is not None: b[i + 4:i + 8] = struct.pack('<I', data)
    open(dst, 'wb').write(b)
def flac_no_total(src, dst):  # STREAMINFO total_samples = 0 ("unknown", as a streaming encoder writes)
    b = bytearray(open(src, 'rb').read())
    assert b[:4] == b'fLaC' and b[4] & 0x7f == 0
    x = int.from_bytes(b[18:26], 'big') & ~((1 << 36) - 1)
    b[18:26] = x.to_bytes(8, 'big')
    open(dst, 'wb').write(b)
TABLE = []
for n in range(256):
    r = n << 24
    for _ in range(8):
        r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
    TABLE.append(r & 0xFFFFFFFF)
def crc(data):
    c = 0
    for x in data:
        c = ((c << 8) & 0xFFFFFFFF) ^ TABLE[((c >> 24) ^ x) & 0xFF]
    return c
def ogg(src, dst, last_granule_add=0, clear_eos=False, granule_offset=0):
    b = bytearray(open(src, 'rb').read())
    pages, i = [], 0
    while i < len(b):
        assert b[i:i + 4] == b'OggS'
        n = b[i + 26]
        pages.append((i, 27 + n + sum(b[i + 27:i + 27 + n])))
        i += pages[-1][1]
    for k, (i, size) in enumerate(pages):
        g = struct.unpack('<q', b[i + 6:i + 14])[0]
        if granule_offset and g > 0: g += granule_offset
        if k == len(pages) - 1:
            g += last_granule_add
            if clear_eos: b[i + 5] &= ~4
        b[i + 6:i + 14] = struct.pack('<q', g)
        b[i + 22:i + 26] = b'\0\0\0\0'
        b[i + 22:i + 26] = struct.pack('<I', crc(b[i:i + size]))
    open(dst, 'wb').write(b)
cmd = sys.argv[1]
if cmd == 'wav': wav(sys.argv[2], sys.argv[3], *(None if a == '-' else int(a, 0) for a in sys.argv[4:6]))
elif cmd == 'flac_no_total': flac_no_total(sys.argv[2], sys.argv[3])
elif cmd == 'ogg': ogg(sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:]))
PY
patch() { "$ORACLE_PYTHON" "$W/patch.py" "$@" || bad "patch $*"; }

# Sources: a music-like signal at 44.1 kHz (7.77 s, stereo) and 3.3 s for the high-rate/many-channel cases.
"$MERT_BIN" gen-audio -o "$G/m44.wav" --sec 7.77 --sr 44100 --seed 3 2>/dev/null
"$MERT_BIN" gen-audio -o "$G/short.wav" --sec 3.3 --sr 48000 --seed 4 2>/dev/null
"${SOX[@]}" "$G/m44.wav" -b 16 "$G/m44s.wav" channels 2 gain -1

# --- PCM WAV/AIFF: sample formats, rates, channels ---
"${SOX[@]}" "$G/m44s.wav" "$A/pcm16_44k_stereo.wav";                               expect pcm16_44k_stereo 7.77 0.02
"${SOX[@]}" "$G/m44.wav" -r 8000 -b 8 -e unsigned-integer "$A/u8_8k_mono.wav";      expect u8_8k_mono 7.77 0.02
"${SOX[@]}" "$G/m44s.wav" -r 48000 -b 32 -e floating-point "$A/f32_48k.wav";        expect f32_48k 7.77 0.02
"${SOX[@]}" "$G/m44.wav" -r 11025 -b 32 -e signed-integer "$A/s32_11k.wav";         expect s32_11k 7.77 0.02
"${SOX[@]}" "$G/short.wav" -r 96000 -b 24 "$A/s24_96k_6ch.wav" channels 6;          expect s24_96k_6ch 3.3 0.02
"${SOX[@]}" "$G/short.wav" -r 192000 -b 16 "$A/s16_192k_8ch.wav" channels 8;        expect s16_192k_8ch 3.3 0.02
"${SOX[@]}" "$G/m44s.wav" "$A/pcm16.aiff";                                          expect pcm16 7.77 0.02
# --- streaming WAVs: the recorder never wrote the sizes (or wrote placeholders) ---
patch wav "$A/pcm16_44k_stereo.wav" "$A/stream_data0.wav" - 0;                      expect stream_data0 7.77 0.02
patch wav "$A/pcm16_44k_stereo.wav" "$A/stream_riff0_data0.wav" 0 0;                expect stream_riff0_data0 7.77 0.02
patch wav "$A/pcm16_44k_stereo.wav" "$A/stream_dataFF.wav" - 0xFFFFFFFF;            expect stream_dataFF 7.77 0.02
patch wav "$A/pcm16_44k_stereo.wav" "$A/stream_riffFF_dataFF.wav" 0xFFFFFFFF 0xFFFFFFFF; expect stream_riffFF_dataFF 7.77 0.02
patch wav "$A/pcm16_44k_stereo.wav" "$A/stream_riffFF.wav" 0xFFFFFFFF -;            expect stream_riffFF 7.77 0.02
"${SOX[@]}" "$G/m44s.wav" -t wav - | cat > "$A/sox_pipe.wav";                       expect sox_pipe 7.77 0.02  # data size 0x7FFFF000
# --- odd signals ---
"${SOX[@]}" -n -r 8000 -c 1 -b 16 "$A/silence_5min.flac" trim 0 300;                expect silence_5min 300 0.02
"${SOX[@]}" "$G/m44s.wav" "$A/dc_offset.wav" gain -6 dcshift 0.4;                   expect dc_offset 7.77 0.02
"${SOX[@]}" "$G/m44s.wav" "$A/clipped.wav" gain 18;                                 expect clipped 7.77 0.02
# --- FLAC ---
"${SOX[@]}" "$G/m44s.wav" -b 24 "$A/flac24.flac";                                   expect flac24 7.77 0.02
patch flac_no_total "$A/flac24.flac" "$A/flac_no_total.flac";                       expect flac_no_total 7.77 0.02
# --- MP3: with the Xing/LAME header lengths are exact (gapless); without it the encoder's
# delay and padding stay in (< 0.1 s) ---
lame --silent -b 128 "$G/m44s.wav" "$A/mp3_cbr.mp3";                                 expect mp3_cbr 7.77 0.02
lame --silent -V2 "$G/m44s.wav" "$A/mp3_vbr.mp3";                                    expect mp3_vbr 7.77 0.02
lame --silent -V2 -t "$G/m44s.wav" "$A/mp3_vbr_noxing.mp3";                          expect mp3_vbr_noxing 7.77 0.12
"${SOX[@]}" -n -r 44100 -c 2 -b 16 "$G/quiet.wav" trim 0 2; "${SOX[@]}" "$G/quiet.wav" "$G/m44s.wav" "$G/quiet_start.wav"
lame --silent -V9 -t "$G/quiet_start.wav" "$A/mp3_vbr_noxing_quiet_start.mp3";       expect mp3_vbr_noxing_quiet_start 9.77 0.15
lame --silent -b 128 -t "$G/m44s.wav" "$A/mp3_cbr_noxing.mp3";                       expect mp3_cbr_noxing 7.77 0.12
lame --silent -m m --resample 22.05 -V5 --tt Title --ta Artist --add-id3v2 "$G/m44s.wav" "$A/mp3_mono_22k_id3.mp3"; expect mp3_mono_22k_id3 7.77 0.02
# --- Ogg Vorbis: odd lengths and channel counts, and the quirks of real files ---
oggenc -Q 2>/dev/null "$G/m44s.wav" -o "$A/ogg_stereo.ogg";                                     expect ogg_stereo 7.77 0.02
"${SOX[@]}" "$G/m44.wav" -r 22050 "$G/odd.wav" trim 0 0.771; oggenc -Q 2>/dev/null -q 1 "$G/odd.wav" -o "$A/ogg_mono_0.771s.ogg"; expect ogg_mono_0.771s 0.771 0.02
"${SOX[@]}" "$G/short.wav" "$G/short6.wav" channels 6; oggenc -Q 2>/dev/null "$G/short6.wav" -o "$A/ogg_6ch.ogg"; expect ogg_6ch 3.3 0.02
# the last granule position promises 4000 frames (0.09 s) more than the packets hold (the
# reported real-world case: refused at 99.94 %), and 1 s more: the stream still ends properly
patch ogg "$A/ogg_stereo.ogg" "$A/ogg_granule_quirk.ogg" 4000;                      expect ogg_granule_quirk 7.77 0.1 warn
patch ogg "$A/ogg_stereo.ogg" "$A/ogg_granule_quirk_1s.ogg" 44100;                  expect ogg_granule_quirk_1s 7.77 0.1 warn
patch ogg "$A/ogg_stereo.ogg" "$A/ogg_no_eos.ogg" 0 1;                              expect ogg_no_eos 7.77 0.02 warn
patch ogg "$A/ogg_stereo.ogg" "$A/ogg_granule_offset.ogg" 0 0 100000;               expect ogg_granule_offset 7.77 0.02  # cut from a live stream

# 1. Whole files: no refusal, the full length, warnings exactly where expected.
"$MERT_BIN" embed -m "$W/model" -o "$W/out_whole" --pool none --threads 1 "$A" 2>"$W/whole.log"; rc=$?
n_in=$(wc -l < "$W/expected.tsv")
rows() { [ -f "$1" ] && tail -n +2 "$1" | wc -l || echo 0; }  # failures.tsv rows under its header
if [ $rc -eq 0 ] && [ "$(rows "$W/out_whole/failures.tsv")" -eq 0 ] && grep -q "done: $n_in ok, 0 failed" "$W/whole.log"; then
  ok "$n_in whole real-world files: 0 refusals"
else
  bad "whole files refused (rc=$rc)"; grep -E "FAILED|done" "$W/whole.log"
fi
grep "^warning " "$W/whole.log" | sed 's/^/  /'
"$ORACLE_PYTHON" - "$W/expected.tsv" "$W/out_whole" "$W/whole.log" <<'PY' && ok "every whole file embedded at its full length; warnings exactly on the quirky files" || bad "lengths or warnings"
import numpy as np, sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
log = open(sys.argv[3]).read()
def frames(n, chunk=30 * 24000):  # mert embed --chunk-sec 30: frames per chunk, concatenated
    t = (n // chunk) * ((chunk - 400) // 320 + 1)
    r = n % chunk
    return t + ((r - 400) // 320 + 1 if r >= 400 else 0)
bad = 0
for name, sec, tol, warn in rows:
    a = np.load(f"{sys.argv[2]}/{name}.npy", mmap_mode='r')
    got, want = a.shape[1], frames(round(float(sec) * 24000))
    lo, hi = frames(round((float(sec) - float(tol)) * 24000)), frames(round((float(sec) + float(tol)) * 24000))
    warned = f"warning {sys.argv[2].rsplit('/', 1)[0]}/whole/{name}." in log
    fine = np.isfinite(a).all()
    if not (lo <= got <= hi) or warned != (warn == 'warn') or not fine:
        bad += 1
        print(f"  {name}: {got} frames, expected {want} (range {lo}..{hi}); warned={warned}, expected {warn == 'warn'}; finite={fine}")
sys.exit(1 if bad else 0)
PY

# 2. Copies cut at 10/50/90 % of their bytes (a partial download).
detectable=(pcm16_44k_stereo.wav u8_8k_mono.wav f32_48k.wav pcm16.aiff flac24.flac mp3_cbr.mp3 mp3_vbr.mp3 mp3_mono_22k_id3.mp3 ogg_stereo.ogg ogg_mono_0.771s.ogg)
undetectable=(mp3_vbr_noxing.mp3 mp3_cbr_noxing.mp3 stream_data0.wav stream_dataFF.wav flac_no_total.flac)
for f in "${detectable[@]}" "${undetectable[@]}"; do
  size=$(stat -c %s "$A/$f")
  for pct in 10 50 90; do head -c $((size * pct / 100)) "$A/$f" > "$C/cut${pct}_$f"; done
done
"$MERT_BIN" embed -m "$W/model" -o "$W/out_cut" --pool none --threads 1 "$C" 2>"$W/cut.log"; rc=$?
missed=0
for f in "${detectable[@]}"; do
  for pct in 10 50 90; do
    if ! grep -q "/cut${pct}_$f	" "$W/out_cut/failures.tsv" 2>/dev/null; then
      echo "  not refused: cut${pct}_$f"; missed=$((missed+1))
    fi
  done
done
[ $rc -eq 1 ] && [ $missed -eq 0 ] && ok "${#detectable[@]} formats cut at 10/50/90 %: all $(( ${#detectable[@]} * 3 )) copies refused" \
  || bad "$missed cut copies accepted"
tail -n +2 "$W/out_cut/failures.tsv" | cut -f2 | sed -E 's/[0-9]+(\.[0-9]+)?/N/g' | sort | uniq -c | sed 's/^/  /'
# Undetectable by design: no header promises a length, so a cut copy is a shorter valid file.
# It must still decode to what is there (never a crash, never more than the whole file).
"$ORACLE_PYTHON" - "$W/out_cut" "$W/out_whole" "${undetectable[@]}" <<'PY' && ok "cuts no header reveals (${#undetectable[@]} kinds) decode to the shorter audio, as documented" || bad "undetectable cuts"
import numpy as np, os, sys
out, whole, names = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = 0
for name in names:
    stem = name.rsplit('.', 1)[0]
    full = np.load(f"{whole}/{stem}.npy", mmap_mode='r').shape[1]
    for pct in (10, 50, 90):
        p = f"{out}/cut{pct}_{stem}.npy"
        if not os.path.exists(p):
            print(f"  cut{pct}_{name}: refused (now detectable? update docs/RELIABILITY.md)"); bad += 1; continue
        t = np.load(p, mmap_mode='r').shape[1]
        if not (0 < t < full and abs(t / full - pct / 100) < 0.1):
            print(f"  cut{pct}_{name}: {t} of {full} frames"); bad += 1
sys.exit(1 if bad else 0)
PY

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
