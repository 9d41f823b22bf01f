#!/usr/bin/env python3
"""The EnCodec 24 kHz encoder's layers one by one, as libtorch runs them (2 threads, fp32, one
2 s block): time and GFLOP/s of each conv, of the LSTM per file at several batch widths, and the
machine's sgemm rate, which bounds the whole encoder; then how many codes bf16 would keep (the
independent oracle, random weights, 20 s of harmonics and noise, under CPU autocast)
(docs/BENCHMARKS.md, "EnCodec teacher"). Usage: bench/encodec_layers.py [threads]"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(THREADS)
BLOCK = 48000  # 2 s at 24 kHz
FRAMES = BLOCK // 320


def timed(f, reps=20):
    f()
    f()
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def conv_layers():
    """(name, C_in, C_out, kernel, stride, input rate divisor) for num_filters 32, ratios 2 4 5 8."""
    layers = [("conv 1->32 k7", 1, 32, 7, 1, 1)]
    ch, div = 32, 1
    for r in (2, 4, 5, 8):
        layers += [(f"res {ch}->{ch // 2} k3", ch, ch // 2, 3, 1, div), (f"res {ch // 2}->{ch} k1", ch // 2, ch, 1, 1, div),
                   (f"shortcut {ch} k1", ch, ch, 1, 1, div), (f"down {ch}->{2 * ch} k{2 * r} s{r}", ch, 2 * ch, 2 * r, r, div)]
        ch, div = 2 * ch, div * r
    layers.append(("conv 512->128 k7", 512, 128, 7, 1, div))
    return layers


def main():
    print(f"threads {THREADS}, one {BLOCK // 24000} s block at 24 kHz, fp32")
    print("| layer | ms | GFLOP/s |\n|---|---|---|")
    total_ms = total_flop = 0.0
    for name, cin, cout, k, s, div in conv_layers():
        n = BLOCK // div
        x = torch.randn(1, cin, n + k - s)
        w = torch.randn(cout, cin, k)
        b = torch.randn(cout)
        t = timed(lambda: F.conv1d(x, w, b, stride=s))
        flop = 2 * cin * cout * k * (n // s)
        total_ms += t * 1e3
        total_flop += flop
        print(f"| {name} | {t * 1e3:.2f} | {flop / t / 1e9:.0f} |")
    print(f"| all convs | {total_ms:.1f} | {total_flop / total_ms / 1e6:.0f} |")
    lstm = torch.nn.LSTM(512, 512, 2).eval()
    print("\n| LSTM batch width | ms per block | ms per file |\n|---|---|---|")
    for width in (1, 4, 8, 16):
        x = torch.randn(FRAMES, width, 512)
        with torch.no_grad():
            t = timed(lambda: lstm(x), reps=5)
        print(f"| {width} | {t * 1e3:.1f} | {t * 1e3 / width:.1f} |")
    a = torch.randn(2048, 2048)
    t = timed(lambda: a @ a, reps=5)
    peak = 2 * 2048 ** 3 / t / 1e9
    flop_per_sec = total_flop / (BLOCK / 24000) + 2 * 2 * 4 * 512 * 1024 * 75  # convs + LSTM per audio-second
    print(f"\nsgemm 2048x2048: {peak:.0f} GFLOP/s; encoder {flop_per_sec / 1e9:.2f} GFLOP per audio-second"
          f" -> at most {peak * 1e9 / flop_per_sec:.0f}x real time in fp32 if every op ran at that rate")


def bf16_codes():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
    import encodec_oracle as eo
    torch.manual_seed(1)
    model = eo.Encodec(eo.CONFIG_24KHZ).eval()
    eo.randomize(model, 7)
    t = torch.arange(20 * 24000) / 24000
    wave = sum(0.1 / h * torch.sin(2 * math.pi * 220 * h * t) for h in range(1, 6)) + 0.05 * torch.randn(t.numel())
    with torch.no_grad():
        ref = model.encode(wave, 6.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            emb = model.encoder(wave.view(1, 1, -1))
        codes = model.quantizer.encode(emb.float(), 6.0)[0]
    print(f"bf16 (autocast) keeps {100 * (codes == ref).double().mean():.1f} % of the fp32 codes")


if __name__ == "__main__":
    main()
    bf16_codes()
