#!/usr/bin/env python3
"""`mert codec encode` against the independent PyTorch EnCodec of tests/oracle/encodec_oracle.py:
random weights, the small and the full 24 kHz shapes, all three weight layouts (HF safetensors
with weight_g/weight_v, HF pytorch_model.bin with parametrizations names, the original .th),
clips of awkward lengths (shorter than a conv's padding, not a multiple of the hop). Requires
>= 99.9 % identical codes (differences only at float ties) and EnCodec's frame count
ceil(n / hop). Then the refusals: unknown, missing and misshapen tensors, an unsupported
bandwidth. Env: MERT_BIN."""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import encodec_oracle as eo  # noqa: E402

MERT = os.environ.get("MERT_BIN", "build/mert")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


def run(*args, ok=True):
    p = subprocess.run([MERT, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"mert {' '.join(args)} failed:\n{p.stderr}")
    return p


def clip(n, sr, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / sr
    x = 0.3 * torch.sin(2 * math.pi * 0.11 * sr * t) + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return x.clamp(-1, 1).to(torch.float32)


def compare(w, name, cfg, layouts, lengths, kbps, threads="2", block_sec="0", batch="8"):
    torch.manual_seed(1)
    model = eo.Encodec(cfg).eval()
    eo.randomize(model, seed=7)
    hop = math.prod(cfg["upsampling_ratios"])
    waves = {}
    os.makedirs(f"{w}/{name}-wav", exist_ok=True)
    for i, n in enumerate(lengths):
        waves[f"c{i}"] = clip(n, cfg["sampling_rate"], i)
        torchaudio.save(f"{w}/{name}-wav/c{i}.wav", waves[f"c{i}"].view(1, -1), cfg["sampling_rate"],
                        encoding="PCM_F", bits_per_sample=32)
    want = {k: model.encode(x, kbps).numpy() for k, x in waves.items()}
    with torch.no_grad():
        want_emb = {k: model.encoder(x.view(1, 1, -1))[0].numpy() for k, x in waves.items()}
    for layout in layouts:
        src = eo.save(model, f"{w}/{name}-{layout}" + (".th" if layout == "original-th" else ""), layout)
        if layout == "original-th" and cfg is not eo.CONFIG_24KHZ:
            continue  # a bare .th carries no config: only the 24 kHz shape can be read from it
        out = f"{w}/{name}-{layout}-codes"
        run("codec", "encode", "-m", src, "-o", out, "--bandwidth", str(kbps), "--threads", threads, "--embeddings",
            "--block-sec", block_sec, "--batch", batch, f"{w}/{name}-wav")
        same = total = 0
        shapes_ok = True
        rel = max(float(np.abs(np.load(f"{out}/{k}.emb.npy") - e).max() / max(1e-30, np.abs(e).max()))
                  for k, e in want_emb.items())
        check(rel <= 1e-4, f"{name} {layout}: embeddings before quantization within {rel:.2e} relative (<= 1e-4)")
        for k, ref in want.items():
            got = np.load(f"{out}/{k}.npy")
            n = waves[k].numel()
            shapes_ok &= got.shape == ref.shape == (ref.shape[0], -(-n // hop)) and got.dtype == np.int64
            if got.shape == ref.shape:
                same += int((got == ref).sum())
                total += ref.size
        check(shapes_ok, f"{name} {layout}: shapes [n_q, ceil(n/{hop})] for lengths {lengths}")
        frac = same / max(1, total)
        check(frac >= 0.999, f"{name} {layout}: {same}/{total} codes identical ({100 * frac:.3f} %)")
    return model


def main():
    with tempfile.TemporaryDirectory() as w:
        layouts = ["hf-safetensors", "hf-bin-parametrizations", "original-th"]
        small = eo.CONFIG_SMALL
        compare(w, "small", small, layouts, [1, 7, 16, 17, 100, 999, 1600], kbps=1.6)
        full_lengths = [100, 320 * 10 - 1, 320 * 10, 320 * 10 + 1, 24000 * 2 + 77, 24000 * 3]
        # One file at a time, and all six encoded together (default --batch 8: one LSTM call for the
        # files whose blocks have equal frame counts).
        model = compare(w, "full", eo.CONFIG_24KHZ, layouts, full_lengths, kbps=6.0, batch="1")
        compare(w, "full-batched", eo.CONFIG_24KHZ, ["hf-safetensors"], full_lengths, kbps=6.0)
        # Streamed in 0.5 s blocks (the two longest clips span 5 and 6 blocks), three files at a time
        # (a finished file's slot takes the next one mid-run): the one-pass oracle's codes.
        compare(w, "full-streamed", eo.CONFIG_24KHZ, ["hf-safetensors"], full_lengths, kbps=6.0, block_sec="0.5",
                batch="3")

        # Labels on the model's grid at the boundary lengths: floor((n - 400) / 320) + 1 codes per
        # line (none below 400 samples), EnCodec's codes cropped.
        with open(f"{w}/full.tsv", "w") as f:
            f.write(f"{w}/full-wav\n" + "".join(f"c{i}.wav\t{n}\n" for i, n in enumerate(full_lengths)))
        run("label", "apply", "--teacher", "encodec", "--codec", f"{w}/full-hf-safetensors", "-o", f"{w}/labels",
            f"{w}/full.tsv")
        ok = True
        for q in range(8):
            lines = open(f"{w}/labels/full.encodec_{q}").read().split("\n")[:-1]
            ok &= len(lines) == len(full_lengths)
            for i, n in enumerate(full_lengths):
                frames = 0 if n < 400 else (n - 400) // 320 + 1
                codes = np.load(f"{w}/full-hf-safetensors-codes/c{i}.npy")[q, :frames]
                ok &= [int(x) for x in lines[i].split()] == codes.tolist()
        check(ok, f"labels at lengths {full_lengths}: model-frame counts, codes cropped, 8 streams")

        # Batches with bad entries: one whose manifest length is wrong and an empty file, both refused
        # before encoding (tests/teachers/test_label_batches.cpp covers a file the teacher refuses).
        # Those entries alone fail; the others in their batches are labelled, and the label files
        # wait for the bad ones to be fixed.
        import wave
        with wave.open(f"{w}/full-wav/empty.wav", "wb") as f:
            f.setnchannels(1), f.setsampwidth(2), f.setframerate(24000)
        entries = [(f"c{i}.wav", n + (5 if i == 2 else 0)) for i, n in enumerate(full_lengths)]
        entries.insert(4, ("empty.wav", 0))
        with open(f"{w}/bad.tsv", "w") as f:
            f.write(f"{w}/full-wav\n" + "".join(f"{name}\t{n}\n" for name, n in entries))
        p = run("label", "apply", "--teacher", "encodec", "--codec", f"{w}/full-hf-safetensors", "-o", f"{w}/bad-labels",
                "--batch", "4", "--block", "1", "--jobs", "1", f"{w}/bad.tsv", ok=False)
        failed = open(f"{w}/bad-labels/failures.tsv").read() if os.path.exists(f"{w}/bad-labels/failures.tsv") else ""
        failed = sorted(l.split("\t")[0].rsplit("/", 1)[-1] for l in failed.splitlines()[1:] if l)
        parts = sorted(os.listdir(f"{w}/bad-labels/.mert-parts/bad.encodec"))
        check(p.returncode != 0 and failed == ["c2.wav", "empty.wav"] and
              parts == sorted([f"part-{i}.txt" for i in (0, 1, 3, 5, 6)] + ["settings.json"]),
              f"bad files fail alone in their batches: failures {failed}, parts {parts}")

        # Refusals, each one line naming the problem.
        torch.manual_seed(1)
        m = eo.Encodec(small).eval()
        eo.randomize(m, 3)
        base = eo.hf_state_dict(m)
        cases = {
            "unknown": (dict(base, **{"encoder.layers.99.conv.weight_g": torch.ones(1)}), "encoder.layers.99.conv.weight_g"),
            "missing": ({k: v for k, v in base.items() if k != "quantizer.layers.0.codebook.embed"},
                        "quantizer.layers.0.codebook.embed"),
            "misshapen": (dict(base, **{"encoder.layers.0.conv.bias": torch.zeros(5)}), "encoder.layers.0.conv.bias"),
            "codebook-size": (dict(base, **{"quantizer.layers.1.codebook.embed": torch.zeros(32, 8)}),
                              "quantizer.layers.1.codebook.embed [32, 8] (expected [16, 8])"),
            "truncated": (base, "model.safetensors"),
        }
        for case, (sd, name) in cases.items():
            d = f"{w}/bad-{case}"
            os.makedirs(d)
            with open(f"{d}/config.json", "w") as f:
                json.dump(small, f)
            eo.write_safetensors(f"{d}/model.safetensors", sd, "F32")
            if case == "truncated":
                size = os.path.getsize(f"{d}/model.safetensors")
                os.truncate(f"{d}/model.safetensors", size // 2)
            p = run("codec", "encode", "-m", d, "-o", f"{w}/x", f"{w}/small-wav", ok=False)
            err = [l for l in p.stderr.splitlines() if "error" in l]
            check(p.returncode != 0 and len(err) == 1 and name in err[0], f"{case} tensor refused naming it: {err}")
        p = run("codec", "encode", "-m", f"{w}/small-hf-safetensors", "-o", f"{w}/x", "--bandwidth", "5",
                f"{w}/small-wav", ok=False)
        check(p.returncode != 0 and "not one this model supports (0.8, 1.6, 4)" in p.stderr,
              f"unsupported bandwidth refused: {p.stderr.strip().splitlines()[-1:]}")
    if failures:
        raise SystemExit(f"{failures} check(s) failed")
    print("all EnCodec checks passed")


if __name__ == "__main__":
    main()
