#!/usr/bin/python3
"""PyTorch side of the inference comparison: torchaudio's hubert_base, which has exactly
MERT-v1-95M's compute at 24 kHz (same conv front end, 12 x 768 post-LN transformer; a 5 s clip at
24 kHz is 120,000 samples -> 374 frames). Random weights; eval mode; no grad.

Prints one JSON line per configuration: {"impl": "pytorch", "dtype", "threads", "sec", "batch",
"rtf_median", "rtf_min", "rtf_max", "reps", "env"}.
Run with Debian's interpreter: /usr/bin/python3 bench/pytorch_hubert.py --dtype fp32,bf16
"""
import argparse, json, os, statistics, sys, time

import torch
import torchaudio


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="fp32", help="fp32, bf16 (model and input cast), comma list")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--sec", default="5")
    ap.add_argument("--batch", default="1")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--model", default="base", help="base (= v1-95M compute) or large (= v1-330M)")
    a = ap.parse_args()
    torch.manual_seed(0)
    model = (torchaudio.models.hubert_base() if a.model == "base" else torchaudio.models.hubert_large()).eval()
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}
    for dt in a.dtype.split(","):
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dt]
        m = model.to(dtype)
        for th in map(int, a.threads.split(",")):
            torch.set_num_threads(th)
            for sec in map(float, a.sec.split(",")):
                for b in map(int, a.batch.split(",")):
                    x = (0.1 * torch.randn(b, int(sec * 24000))).to(dtype)
                    times = []
                    with torch.inference_mode():
                        m.extract_features(x)  # warm-up
                        for _ in range(a.reps):
                            t0 = time.perf_counter()
                            m.extract_features(x)
                            times.append(time.perf_counter() - t0)
                    rtf = [t / (sec * b) for t in times]
                    print(json.dumps({"impl": "pytorch", "model": a.model, "dtype": dt, "threads": th, "sec": sec,
                                      "batch": b, "rtf_median": statistics.median(rtf), "rtf_min": min(rtf),
                                      "rtf_max": max(rtf), "reps": a.reps, "torch": torch.__version__, "env": env}))
                    sys.stdout.flush()


if __name__ == "__main__":
    main()
