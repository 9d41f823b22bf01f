#!/usr/bin/python3
"""Oracle for the log-mel and MFCC teachers: `mert features --grid native` vs torchaudio.

Writes test signals as 32-bit float WAVs at 24 kHz, runs
    $MERT_BIN features --type mfcc|logmel --grid native -o OUT <wavs>
and compares every OUT/<stem>.npy (float32 [T, D]) with torchaudio run on the same float32
samples:
  logmel: torchaudio.transforms.MelSpectrogram(24000, n_fft=2048, win_length=2048, hop_length=320,
          f_min=30, f_max=12000, n_mels=229, power=2, center=True, pad_mode="constant",
          norm=None, mel_scale="htk") (periodic Hann window), then log(mel + 1e-6)      [T, 229]
  mfcc:   HuBERT's dump_mfcc_feature.py: torchaudio.compliance.kaldi.mfcc(x, sample_frequency=
          24000, use_energy=False) [T, 13], plus compute_deltas and delta-deltas       [T, 39]
          (Kaldi would refuse a signal shorter than one 600-sample window: we expect [0, 39];
          torch.stft refuses an empty signal: we expect one all-log(1e-6) log-mel frame).

Metric: relative max error max|ours - ref| / max|ref| <= TOL = 1e-4, with identical frame counts.
  * log-mel: over the whole [T, 229] matrix.
  * MFCC: separately over each 13-dim block (static, delta, delta-delta): the static block's scale
    is set by c0 (~sqrt(23) * mean log energy), far larger than the deltas', so one global max
    would hide errors in the deltas. A delta block's scale is floored at DELTA_FLOOR = 1e-3 times
    the static block's: for one or two frames (or a stationary input) the exact deltas are ~0
    and torchaudio's are float32 rounding noise of the statics (e.g. 4e-7 where ours are 0).
  * Float32-limited fallback: when a signal puts mel bands ~120 dB or more below the frame's
    peak (pure synthesis without any noise floor), those bands are float32 FFT rounding noise in
    torchaudio as much as in ours, and the two float32 results can differ by more than TOL. Such
    a comparison still passes, reported as "float32-limited", if against torchaudio run in
    float64 on the same samples our relative error is at most max(TOL, F32_FACTOR = 3 x
    torchaudio-float32's own error). Both numbers are printed. Realistic signals (any noise
    floor, real recordings) pass the primary 1e-4 test directly.

Run with Debian's interpreter (/usr/bin/python3: torch 1.13, torchaudio 0.13, numpy):
  MERT_BIN=build/mert /usr/bin/python3 tests/teachers/test_spectral_oracle.py [--keep DIR]
Exit status 0 = all comparisons passed, 1 = a mismatch, 2 = setup problem.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torchaudio
except ImportError as e:
    sys.stderr.write(f"test_spectral_oracle.py: needs numpy/torch/torchaudio ({sys.executable}): {e}\n"
                     "Use Debian's /usr/bin/python3.\n")
    sys.exit(2)

SR = 24000
TOL = 1e-4
DELTA_FLOOR = 1e-3  # see rel_errors
F32_FACTOR = 3.0    # see module doc: float32-limited fallback
MFCC_WINDOW = 600  # int(24000 * 25 * 0.001)


# ---------------------------------------------------------------------------------------------
# signals

def white_noise(n, seed, scale=0.1):
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


def music(seconds, seed, noise_floor=0.0):
    """Harmonic notes with attack/decay envelopes, overlapping, a little vibrato; optionally a
    white-noise floor (noise_floor = its standard deviation)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = np.zeros(n)
    onset = 0.0
    while onset < seconds:
        dur = rng.uniform(0.15, 0.8)
        f0 = 55.0 * 2 ** (rng.integers(0, 48) / 12)
        start, stop = int(onset * SR), min(n, int((onset + dur + 0.3) * SR))
        tt = t[start:stop] - onset
        env = np.minimum(tt / 0.01, 1.0) * np.exp(-tt * rng.uniform(2, 8))
        vib = 1 + 0.003 * np.sin(2 * np.pi * 5.5 * tt)
        for h in range(1, 16):
            if f0 * h >= SR / 2:
                break
            x[start:stop] += env * (0.3 / h ** 1.2) * np.sin(2 * np.pi * f0 * h * tt * vib + rng.uniform(0, 6.3))
        onset += rng.uniform(0.05, 0.4)
    x = 0.5 * x / np.max(np.abs(x))
    if noise_floor > 0:
        x += rng.standard_normal(n) * noise_floor
    return x.astype(np.float32)


def signals():
    """name -> float32 samples. Lengths around both framings' boundaries are included."""
    s = {
        "noise_3s": white_noise(3 * SR, 1),
        "music_4s": music(4.0, 2, noise_floor=1e-3),          # realistic: noise floor -66 dB below peak
        "music_quiet_floor_4s": music(4.0, 6, noise_floor=1e-5),  # stress: -86 dB floor
        "music_clean_2s": music(2.0, 3),                       # stress: pure synthesis, no noise
        "short_2400": white_noise(2400, 4, 0.3),
        # a stationary tone, 3 MFCC frames: its deltas are tiny, high cepstra near float32 noise
        "tone_1234": (0.4 * np.sin(2 * np.pi * 440 * np.arange(1234) / SR) + white_noise(1234, 5, 1e-4)).astype(
            np.float32),
    }
    for n in [0, 1, 100, 319, 320, 321, MFCC_WINDOW - 1, MFCC_WINDOW, MFCC_WINDOW + 1, MFCC_WINDOW + 239,
              MFCC_WINDOW + 240, 1023, 1024, 1025, 2047, 2048, 2049, 24000]:
        s[f"len_{n}"] = white_noise(n, 100 + n, 0.2)
    return s


def write_float_wav(path, x):
    """Mono 32-bit IEEE float WAV (format tag 3) with a fact chunk."""
    data = np.asarray(x, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHHH", 3, 1, SR, SR * 4, 4, 32, 0)
    fact = struct.pack("<I", len(x))
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", len(data)) + data)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


# ---------------------------------------------------------------------------------------------
# references

def _mel_transform():
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SR, n_fft=2048, win_length=2048, hop_length=320, f_min=30.0, f_max=12000.0, n_mels=229,
        power=2.0, center=True, pad_mode="constant", norm=None, mel_scale="htk", window_fn=torch.hann_window)


MEL = {torch.float32: _mel_transform(), torch.float64: _mel_transform().double()}


def ref_logmel(x, dtype=torch.float32):
    if len(x) == 0:  # torch.stft cannot take an empty signal; the zero-padded definition gives 1 frame
        return np.full((1, 229), np.log(np.float32(1e-6)), dtype=np.float32)
    with torch.no_grad():
        mel = MEL[dtype](torch.from_numpy(x).to(dtype))  # [229, T]
        return torch.log(mel + 1e-6).T.contiguous().numpy()


def ref_mfcc(x, dtype=torch.float32):
    """dump_mfcc_feature.py; dtype=float64 runs the same code in double precision."""
    if len(x) < MFCC_WINDOW:  # Kaldi asserts; our contract is zero frames
        return np.zeros((0, 39), dtype=np.float32)
    with torch.no_grad():
        w = torch.from_numpy(x).float().to(dtype).view(1, -1)
        mfccs = torchaudio.compliance.kaldi.mfcc(waveform=w, sample_frequency=SR, use_energy=False)  # [T, 13]
        mfccs = mfccs.transpose(0, 1)
        deltas = torchaudio.functional.compute_deltas(mfccs)
        ddeltas = torchaudio.functional.compute_deltas(deltas)
        return torch.cat([mfccs, deltas, ddeltas], dim=0).transpose(0, 1).contiguous().numpy()


# ---------------------------------------------------------------------------------------------
# comparison

def max_abs(a):
    return float(np.max(np.abs(a))) if a.size else 0.0


def blocks(kind):
    """Column blocks with their own scale: all 229 log-mel bands; MFCC static / delta / delta2."""
    if kind == "logmel":
        return [("logmel", slice(0, 229))]
    return [("static", slice(0, 13)), ("delta", slice(13, 26)), ("delta2", slice(26, 39))]


def rel_errors(kind, ours, ref):
    """max|ours - ref| / scale per block. scale = max|ref| over the block, floored for the MFCC
    delta blocks at DELTA_FLOOR * max|ref static| (a delta block of a one- or two-frame or
    stationary input is ~0 and its reference is pure float32 rounding noise of the statics)."""
    out = []
    static_scale = max_abs(ref[:, 0:13]) if kind == "mfcc" else 0.0
    for name, sl in blocks(kind):
        scale = max_abs(ref[:, sl])
        if name.startswith("delta"):
            scale = max(scale, DELTA_FLOOR * static_scale)
        err = max_abs(ours[:, sl].astype(np.float64) - ref[:, sl].astype(np.float64))
        out.append(err / scale if scale > 0 else err)
    return out


def fmt(kind, errs):
    return " ".join(f"{name} {e:.2e}" for (name, _), e in zip(blocks(kind), errs))


def compare(kind, name, x, ours, ref_fn):
    """Returns (status, message); status is 'ok', 'f32' (float32-limited, see module doc) or 'FAIL'."""
    ref = ref_fn(x)
    head = f"{kind:6s} {name:20s}"
    if ours.ndim != 2 or ours.shape != ref.shape:
        return "FAIL", f"{head} shape {ours.shape} != reference {ref.shape}  FAIL"
    if ours.shape[0] == 0:
        return "ok", f"{head} [0, {ours.shape[1]}] (no frames, as expected)"
    if not np.all(np.isfinite(ours)):
        return "FAIL", f"{head} non-finite values  FAIL"
    errs = rel_errors(kind, ours, ref)
    msg = f"{head} T={ours.shape[0]:4d} rel max err {fmt(kind, errs)}"
    if max(errs) <= TOL:
        return "ok", msg
    # Fallback: is the disagreement float32 noise? Compare both against float64 torchaudio.
    ref64 = ref_fn(x, torch.float64)
    ours64 = rel_errors(kind, ours, ref64)
    theirs64 = rel_errors(kind, ref, ref64)
    ok = all(o <= max(TOL, F32_FACTOR * t) for o, t in zip(ours64, theirs64))
    msg += (f"\n{'':27s} vs float64 torchaudio: ours {fmt(kind, ours64)} | torchaudio float32 "
            f"{fmt(kind, theirs64)}  -> {'float32-limited (ok)' if ok else 'FAIL'}")
    return ("f32" if ok else "FAIL"), msg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", help="work in this directory and keep it (default: a temp dir)")
    args = ap.parse_args()
    mert_bin = os.environ.get("MERT_BIN")
    if not mert_bin or not os.access(mert_bin, os.X_OK):
        sys.stderr.write(f"test_spectral_oracle.py: set MERT_BIN to the mert executable (got {mert_bin!r})\n")
        return 2

    tmp = None
    if args.keep:
        work = args.keep
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mert_spectral_oracle_")
        work = tmp.name
    audio_dir = os.path.join(work, "audio")
    os.makedirs(audio_dir, exist_ok=True)
    sigs = signals()
    paths = {}
    for name, x in sigs.items():
        paths[name] = os.path.join(audio_dir, name + ".wav")
        write_float_wav(paths[name], x)
    # An empty file goes in its own run: the CLI may refuse it as undecodable ("no audio"), which
    # is its input policy, not a feature error (LogMel/Mfcc on S = 0 are covered by the gtests).
    batches = [[n for n in sigs if len(sigs[n]) > 0], [n for n in sigs if len(sigs[n]) == 0]]

    failures = limited = 0
    for kind, ref_fn in (("logmel", ref_logmel), ("mfcc", ref_mfcc)):
        out = os.path.join(work, "out_" + kind)
        for batch in batches:
            if not batch:
                continue
            empty_batch = len(sigs[batch[0]]) == 0
            cmd = [mert_bin, "features", "--type", kind, "--grid", "native", "--overwrite", "-o", out]
            proc = subprocess.run(cmd + [paths[n] for n in batch], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
            if proc.returncode != 0:
                if empty_batch and all(not os.path.exists(os.path.join(out, n + ".npy")) for n in batch):
                    why = [l for l in proc.stderr.splitlines() if "FAILED" in l or "rror" in l]
                    print(f"{kind:6s} {'(empty input)':20s} refused by the CLI, not compared: "
                          f"{why[0].strip() if why else proc.stderr.strip()}")
                    continue
                print(f"{kind}: '{' '.join(cmd)} ...' exited with {proc.returncode}:\n{proc.stderr.strip()}")
                failures += 1
            for name in batch:
                x = sigs[name]
                npy = os.path.join(out, name + ".npy")
                if not os.path.exists(npy):
                    print(f"{kind:6s} {name:20s} missing output {npy}  FAIL")
                    failures += 1
                    continue
                ours = np.load(npy)
                if ours.dtype != np.float32:
                    print(f"{kind:6s} {name:20s} dtype {ours.dtype}, expected float32  FAIL")
                    failures += 1
                    continue
                status, msg = compare(kind, name, x, ours, ref_fn)
                print(msg)
                failures += status == "FAIL"
                limited += status == "f32"
    print(f"{'PASS' if failures == 0 else 'FAIL'}: {failures} failure(s), {limited} comparison(s) passed only as "
          f"float32-limited; tolerance {TOL:g}")
    if tmp:
        tmp.cleanup()
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
