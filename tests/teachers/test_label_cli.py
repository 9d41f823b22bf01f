#!/usr/bin/env python3
"""CLI checks for `mert features` and `mert label`: frame counts on the model grid for lengths
around every boundary, label files in fairseq's format, resume after SIGKILL, shards, refusals.
Needs MERT_BIN; numpy only."""
import os, signal, struct, subprocess, sys, tempfile, time
import numpy as np

MERT = os.environ["MERT_BIN"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def write_wav(path, x, sr=24000):
    data = np.asarray(x, dtype="<f4").tobytes()
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 3, 1, sr, sr * 4, 4, 32))
        f.write(b"data" + struct.pack("<I", len(data)) + data)


def model_frames(n):  # the conv front end of MERT / HuBERT
    for k, s in zip([10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]):
        if n < k:
            return 0
        n = (n - k) // s + 1
    return n


def run(*args, check_rc=None):
    p = subprocess.run([MERT, *args], capture_output=True, text=True)
    if check_rc is not None and p.returncode != check_rc:
        print(p.stderr)
    return p


def music(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 24000.0
    x = np.zeros(n)
    for f in rng.uniform(80, 1000, size=3):
        x += 0.2 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    return x + 0.01 * rng.standard_normal(n)


tmp = tempfile.mkdtemp(prefix="mert_label_")
os.chdir(tmp)

# 1. Frame counts on the model grid around every boundary of the conv stack and of the features'
#    own framings (MFCC window 600, hop 240; CQT/log-mel hop 320).
lengths = [1, 399, 400, 401, 599, 600, 601, 719, 720, 721, 1039, 1040, 1041, 24000, 24319, 24320, 24321, 24400, 24401]
os.makedirs("short", exist_ok=True)
with open("short.tsv", "w") as f:
    f.write(os.path.join(tmp, "short") + "\n")
    for i, n in enumerate(lengths):
        write_wav(f"short/s{i:02d}.wav", music(n, i))
        f.write(f"s{i:02d}.wav\t{n}\n")
for ftype, dim in [("mfcc", 39), ("logmel", 229), ("chroma", 12), ("cqt", 336)]:
    p = run("features", "--type", ftype, "-o", f"f_{ftype}", "short", check_rc=0)
    check(p.returncode == 0, f"features --type {ftype} exit 0")
    bad = []
    for i, n in enumerate(lengths):
        a = np.load(f"f_{ftype}/s{i:02d}.npy")
        if a.shape != (model_frames(n), dim) or not np.isfinite(a).all():
            bad.append((n, a.shape))
    check(not bad, f"{ftype}: rows == model frames for {len(lengths)} boundary lengths {bad}")

# Native grid: CQT rows floor(S/320)+1; the model grid is its first T rows (MERT's alignment).
nat = run("features", "--type", "cqt", "--grid", "native", "-o", "f_cqt_native", "short/s13.wav")
a = np.load("f_cqt_native/s13.npy"); b = np.load("f_cqt/s13.npy")
check(a.shape[0] == 24000 // 320 + 1 and np.array_equal(a[: b.shape[0]], b), "cqt native frames and model-grid truncation")

# 2. Fit a codebook on MFCC, label the boundary manifest: one line per entry, model-frame counts.
p = run("label", "fit", "--feature", "mfcc", "--clusters", "8", "--sample-frames", "0", "-o", "mfcc.cb", "short.tsv", check_rc=0)
check(p.returncode == 0, "label fit mfcc")
p = run("label", "apply", "-c", "mfcc.cb", "-o", "lab", "short.tsv", check_rc=0)
check(p.returncode == 0, "label apply")
lines = open("lab/short.km").read().split("\n")
check(lines[-1] == "" and len(lines) - 1 == len(lengths), "one line per manifest entry")
counts = [len(l.split()) for l in lines[:-1]]
check(counts == [model_frames(n) for n in lengths], f"label counts equal model frames: {counts}")
ids = [int(v) for l in lines[:-1] for v in l.split()]
check(min(ids) >= 0 and max(ids) < 8, "ids within the codebook")
check(open("lab/dict.km.txt").read() == "".join(f"{i} 1\n" for i in range(8)), "dict.km.txt")

# Labels equal the nearest centroid of the dumped features (checked in numpy).
import json
feats = np.load("f_mfcc/s13.npy")
# read centroids from the safetensors codebook
raw = open("mfcc.cb", "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + hlen])
info = hdr["codebook.0"]
s, e = info["data_offsets"]
cent = np.frombuffer(raw[8 + hlen + s: 8 + hlen + e], dtype="<f4").reshape(info["shape"])
d = ((feats[:, None, :].astype(np.float64) - cent[None].astype(np.float64)) ** 2).sum(-1)
want = d.argmin(1)
got = np.array([int(v) for v in lines[13].split()])
check(np.array_equal(want, got), "labels are the nearest centroids of the features")
check(hdr["__metadata__"]["features"] == "mfcc" and hdr["__metadata__"]["format"] == "mert-codebook", "codebook metadata")

# 3. A bigger manifest: resume after SIGKILL and sharding give byte-identical label files.
os.makedirs("big", exist_ok=True)
with open("big.tsv", "w") as f:
    f.write(os.path.join(tmp, "big") + "\n")
    for i in range(40):
        n = 24000 * 4 + 997 * i
        write_wav(f"big/b{i:02d}.wav", music(n, 100 + i))
        f.write(f"b{i:02d}.wav\t{n}\n")
p = run("label", "fit", "--feature", "logmel+chroma", "--clusters", "16,6", "--sample-frames", "3000", "-o", "lc.cb", "big.tsv", check_rc=0)
check(p.returncode == 0, "label fit logmel+chroma (product codebook)")
p = run("label", "apply", "-c", "lc.cb", "-o", "ref", "--block", "4", "-j", "1", "big.tsv", check_rc=0)
check(p.returncode == 0 and os.path.exists("ref/big.km0") and os.path.exists("ref/big.km1"), "product codebook -> km0, km1")
ref0, ref1 = open("ref/big.km0").read(), open("ref/big.km1").read()

proc = subprocess.Popen([MERT, "label", "apply", "-c", "lc.cb", "-o", "kill", "--block", "4", "-j", "1", "big.tsv"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
parts = "kill/.mert-parts/big.km"
deadline = time.time() + 60
while time.time() < deadline:
    if os.path.isdir(parts) and sum(n.startswith("part-") and n.endswith(".txt") for n in os.listdir(parts)) >= 2:
        break
    time.sleep(0.05)
proc.send_signal(signal.SIGKILL); proc.wait()
done_before = sum(n.startswith("part-") and n.endswith(".txt") for n in os.listdir(parts))
check(2 <= done_before < 10 and not os.path.exists("kill/big.km0"), f"killed mid-run with {done_before}/10 blocks done, no label file yet")
p = run("label", "apply", "-c", "lc.cb", "-o", "kill", "--block", "4", "big.tsv", check_rc=0)
check(p.returncode == 0 and "already done" in p.stderr, "resume skips finished blocks")
check(open("kill/big.km0").read() == ref0 and open("kill/big.km1").read() == ref1, "resumed labels byte-identical")

for i in range(3):
    p = run("label", "apply", "-c", "lc.cb", "-o", "shard", "--block", "4", "--shard", f"{i}/3", "big.tsv", check_rc=0)
    check(p.returncode == 0, f"shard {i}/3 exit 0")
    check(os.path.exists("shard/big.km0") == (i == 2), f"label files appear only when the last shard finishes ({i})")
check(open("shard/big.km0").read() == ref0 and open("shard/big.km1").read() == ref1, "sharded labels byte-identical")

p = run("label", "apply", "-c", "lc.cb", "-o", "comb", "--combine", "big.tsv", check_rc=0)
a0 = [list(map(int, l.split())) for l in ref0.splitlines()]
a1 = [list(map(int, l.split())) for l in ref1.splitlines()]
comb = [list(map(int, l.split())) for l in open("comb/big.km").read().splitlines()]
check(comb == [[x * 6 + y for x, y in zip(r0, r1)] for r0, r1 in zip(a0, a1)], "--combine gives id0*K1 + id1")
check(len(open("comb/dict.km.txt").read().splitlines()) == 96, "--combine dict has K0*K1 entries")

# 4. Refusals and failures.
p = run("label", "apply", "-c", "mfcc.cb", "-o", "ref", "--block", "4", "big.tsv")
check(p.returncode == 1 and "different settings" in p.stderr, "another codebook into the same label dir is refused")
with open("badlen.tsv", "w") as f:
    f.write(os.path.join(tmp, "big") + "\n" + "b00.wav\t96001\nb01.wav\t96997\nmissing.wav\t1000\n")
p = run("label", "apply", "-c", "mfcc.cb", "-o", "bad", "badlen.tsv")
fail = open("bad/failures.tsv").read() if os.path.exists("bad/failures.tsv") else ""
check(p.returncode == 1 and not os.path.exists("bad/badlen.km"), "failed entries: exit 1 and no label file")
check("96001" in fail and "missing.wav" in fail, "failures.tsv names the length mismatch and the missing file")
p = run("label", "apply", "-c", "short.tsv", "-o", "x", "short.tsv")
check(p.returncode == 1 and "codebook" in p.stderr, "a non-codebook file is refused")
p = run("label", "fit", "--feature", "mfcc", "--clusters", "100000", "-o", "x.cb", "short/s13.wav")
check(p.returncode == 1 and "clusters" in p.stderr, "more clusters than frames is refused")
p = run("features", "--type", "pitch", "-o", "x", "short/s13.wav")
check(p.returncode == 1 and "unknown feature" in p.stderr, "unknown feature type refused")
p = run("features", "--type", "cqt", "--params", '{"cqt":{"nbins":3}}', "-o", "x", "short/s13.wav")
check(p.returncode == 1 and "nbins" in p.stderr, "unknown teacher parameter refused")

print(f"{len(failures)} failures" if failures else "all passed")
sys.exit(1 if failures else 0)
