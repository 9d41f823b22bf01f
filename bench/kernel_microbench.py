#!/usr/bin/python3
"""Single-kernel timings behind the design choices of the inference path (docs/BENCHMARKS.md,
"Inference speed vs PyTorch"): the same libtorch 1.13 kernels mert calls, through Debian's
python3-torch, at MERT-v1-95M's shapes for a 5 s clip (374 frames, 24000 layer-0 frames).

    /usr/bin/python3 bench/kernel_microbench.py [--threads 2] [--reps 20]

Prints one line per measurement: median milliseconds and, for products, GFLOP/s.
"""
import argparse
import time

import torch


def bench(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2] * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    T, H, C = 374, 768, 512
    line = lambda what, ms, flop=None: print(f"{what:58s} {ms:8.2f} ms" + (f"  {flop / ms / 1e6:6.0f} GFLOP/s" if flop else ""))
    with torch.inference_mode():
        # The bound: a bare Linear, the model's largest product.
        for dt in (torch.bfloat16, torch.float32):
            x, w = torch.randn(T, H, dtype=dt), torch.randn(4 * H, H, dtype=dt)
            line(f"linear {T}x{H}->{4 * H} {dt}", bench(lambda: torch.nn.functional.linear(x, w), a.reps), 2 * T * H * 4 * H)
        # Dynamic int8 Linear (oneDNN engine, VNNI) on the model's three Linear shapes.
        if "onednn" in torch.backends.quantized.supported_engines:
            torch.backends.quantized.engine = "onednn"
            for k, n in ((H, 4 * H), (4 * H, H), (H, H)):
                lin = torch.nn.Linear(k, n)
                q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
                x = torch.randn(T, k)
                cos = torch.nn.functional.cosine_similarity(q(x), lin(x), dim=-1).mean().item()
                line(f"int8 dynamic linear {T}x{k}->{n} (cosine {cos:.5f})", bench(lambda: q(x), a.reps), 2 * T * k * n)
        # bf16 layer norm: libtorch's bf16 kernel vs float32 and back.
        y, g, b = torch.randn(1, T, H, dtype=torch.bfloat16), torch.ones(H, dtype=torch.bfloat16), torch.zeros(H, dtype=torch.bfloat16)
        line("layer_norm 374x768 bf16 kernel", bench(lambda: torch.nn.functional.layer_norm(y, (H,), g, b), a.reps))
        line("layer_norm 374x768 in float32, cast back",
             bench(lambda: torch.nn.functional.layer_norm(y.float(), (H,), g.float(), b.float()).bfloat16(), a.reps))
        # Positional conv (16 groups, kernel 128): channels-first conv1d vs channels-last conv2d
        # on the time-major input.
        for dt in (torch.bfloat16, torch.float32):
            x, w = torch.randn(1, T, H, dtype=dt), torch.randn(H, H // 16, 128, dtype=dt) * 0.02
            w4 = w.unsqueeze(2).contiguous(memory_format=torch.channels_last)
            flop = 2 * T * H * (H // 16) * 128
            line(f"pos conv {dt} channels-first conv1d",
                 bench(lambda: torch.nn.functional.conv1d(x.transpose(1, 2), w, padding=64, groups=16), a.reps), flop)
            line(f"pos conv {dt} channels-last conv2d (mert)",
                 bench(lambda: torch.nn.functional.conv2d(x.transpose(1, 2).unsqueeze(2), w4, padding=(0, 64), groups=16),
                       a.reps), flop)
        # Front-end layers 1..6 on time-major input: GEMMs over strided views vs oneDNN's conv on
        # the channels-last view (what ConvGemm chooses between per dtype).
        for dt in (torch.bfloat16, torch.float32):
            n_in = 24000
            for k in (3, 3, 3, 3, 2, 2):
                n = (n_in - k) // 2 + 1
                xt, w = torch.randn(n_in, C, dtype=dt), torch.randn(C, C, k, dtype=dt)
                wm = w.permute(2, 1, 0).reshape(k * C, C).contiguous()
                w4 = w.unsqueeze(2).contiguous(memory_format=torch.channels_last)

                def gemms():
                    o = torch.mm(xt.as_strided((n, 2 * C), (2 * C, 1)), wm[:2 * C])
                    if k == 3:
                        o.addmm_(xt.as_strided((n, C), (2 * C, 1), 2 * C), wm[2 * C:])
                    return o

                conv = lambda: torch.nn.functional.conv2d(xt.t().unsqueeze(0).unsqueeze(2), w4, stride=(1, 2))
                flop = 2 * n * C * C * k
                line(f"front-end k={k} -> {n} frames {dt} GEMMs", bench(gemms, max(3, a.reps // 4)), flop)
                line(f"front-end k={k} -> {n} frames {dt} channels-last conv", bench(conv, max(3, a.reps // 4)), flop)
                n_in = n


if __name__ == "__main__":
    main()
