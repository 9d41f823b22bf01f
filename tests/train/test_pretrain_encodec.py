#!/usr/bin/env python3
"""MERT-v1's recipe end to end at toy scale: a synthetic corpus -> EnCodec labels from a random-
weight 24 kHz EnCodec dir (`mert label apply --teacher encodec`) -> a tiny pre-training on the 8
streams (`--label-names 'encodec_*'`) whose loss falls. Also: the label files' layout (one line
per entry, one code per model frame, codes equal to `mert codec encode` cropped to the model's
frame count, 1024-line dicts) and a resumed label run. Needs MERT_BIN; torch for the oracle's
random EnCodec."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import encodec_oracle as eo  # noqa: E402
import torch  # noqa: E402

MERT = os.environ["MERT_BIN"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def must(*args):
    p = subprocess.run([MERT, *args], capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"setup failed: mert {' '.join(args)}")
    return p


os.chdir(tempfile.mkdtemp(prefix="mert_encodec_"))
must("synth", "corpus", "-o", "corpus", "--hours", "0.01", "--sec", "4", "--wav", "-s", "5")
torch.manual_seed(0)
codec = eo.Encodec(eo.CONFIG_24KHZ).eval()
eo.randomize(codec, seed=11)
eo.save(codec, "enc", "hf-safetensors")

p = must("label", "apply", "--teacher", "encodec", "--codec", "enc", "-o", "labels", "--jobs", "2",
         "corpus/train.tsv", "corpus/valid.tsv")
names = [f"encodec_{i}" for i in range(8)]
check(all(os.path.exists(f"labels/train.{n}") and os.path.exists(f"labels/dict.{n}.txt") for n in names),
      "train.encodec_0..7 and dict.encodec_0..7.txt written")
check(all(len(open(f"labels/dict.{n}.txt").read().splitlines()) == 1024 for n in names), "each dict has 1024 codes")

# Layout: one line per manifest entry, one code per model frame; codes = EnCodec's, cropped.
manifest = open("corpus/train.tsv").read().splitlines()
root, entries = manifest[0], [l.split("\t") for l in manifest[1:]]
lines = {n: open(f"labels/train.{n}").read().splitlines() for n in names}
frames = [(int(n) - 400) // 320 + 1 for _, n in entries]
check(all(len(lines[n]) == len(entries) for n in names), f"one line per entry ({len(entries)})")
check(all(len(lines[n][e].split()) == frames[e] for n in names for e in range(len(entries))),
      "one code per model frame: floor((n - 400) / 320) + 1")
first = os.path.join(root, entries[0][0])
must("codec", "encode", "-m", "enc", "-o", "codes", "--bandwidth", "6", first)
stem = os.path.splitext(os.path.basename(first))[0]
codes = np.load(f"codes/{stem}.npy")
labels0 = np.array([[int(x) for x in lines[n][0].split()] for n in names])
check(codes.shape[0] == 8 and codes.shape[1] >= frames[0] and np.array_equal(codes[:, : frames[0]], labels0),
      f"labels of entry 0 = mert codec encode's codes {codes.shape} cropped to {frames[0]} frames")

p = must("label", "apply", "--teacher", "encodec", "--codec", "enc", "-o", "labels", "corpus/train.tsv")
check("already done" in p.stderr and "0 computed" in p.stderr, "a rerun finds the labels done")
p = subprocess.run([MERT, "label", "apply", "--teacher", "encodec", "--codec", "enc", "--bandwidth", "3", "-o",
                    "labels", "corpus/train.tsv"], capture_output=True, text=True)
check(p.returncode != 0 and "settings" in p.stderr, "a rerun with another bandwidth is refused (--overwrite to redo)")

# Tiny pre-training on the 8 streams.
p = subprocess.run([MERT, "pretrain", "--preset", "tiny", "--manifest", "corpus", "--labels", "labels",
                    "--label-names", "encodec_*", "--crop-samples", "24000", "--min-samples", "24000",
                    "--batch-size", "4", "--warmup-steps", "5", "--lr", "2e-3", "--steps", "30", "--log-every", "1",
                    "--save-every", "30", "--valid-every", "0", "--out", "run", "--threads", "2"],
                   capture_output=True, text=True)
check(p.returncode == 0, "pretrain on encodec_* succeeds")
if p.returncode:
    print(p.stderr)
rows = [json.loads(l) for l in open("run/log.jsonl") if '"loss"' in l]
check(len(rows) == 30 and all(set(names) <= set(r["accuracy"]) for r in rows), "30 updates, accuracy per EnCodec stream")
if len(rows) == 30:
    early = np.mean([r["loss"] for r in rows[:5]])
    late = np.mean([r["loss"] for r in rows[-5:]])
    check(late < 0.9 * early, f"the loss falls: {early:.3f} (updates 1-5) -> {late:.3f} (26-30)")

if failures:
    raise SystemExit(f"{len(failures)} check(s) failed")
print("all checks passed")
