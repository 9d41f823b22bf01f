#!/usr/bin/python3
"""How far into GELU's nonlinear range each conv layer of a model's front end works.

    bench/conv_scale.py --audio 'suite/pitch/nsynth-valid/audio/*.flac' MODEL_DIR [MODEL_DIR ...]

For the HF "group" feature extractor (conv 0 -> GroupNorm -> GELU, conv 1.. -> GELU, no conv
bias), prints per model the standard deviation of each layer's GELU input, and the RMS of the
front end's output, on the first --count files (first --sec seconds of each, mono). Near 0,
GELU(x) ~ x/2: small values mean the layer is close to linear. Reads model.safetensors with
the test oracle's reader (any float dtype); computes with torch in float32. docs/RESULTS.md, "Diagnosis, continued", uses it.
"""
import argparse
import glob
import json
import os
import sys

import torch
import torchaudio

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
from make_model import read_safetensors_numpy  # noqa: E402  (the oracle's independent reader)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--audio", required=True, help="glob of audio files at the models' sample rate")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--sec", type=float, default=2.0)
    a = ap.parse_args()
    files = sorted(glob.glob(a.audio))[:a.count]
    if not files:
        raise SystemExit(f"no files match {a.audio}")
    torch.set_num_threads(1)
    for model in a.models:
        cfg = json.load(open(f"{model}/config.json"))
        if cfg.get("feat_extract_norm") != "group" or cfg.get("conv_bias"):
            raise SystemExit(f"{model}: only the 'group' extractor without conv bias is handled")
        n = int(a.sec * cfg.get("sample_rate", 24000))
        clips = [torchaudio.load(f)[0].mean(0)[:n] for f in files]
        if any(c.numel() < n for c in clips):
            raise SystemExit(f"some files are shorter than {a.sec} s")
        x = torch.stack(clips).unsqueeze(1)
        w = {k: torch.from_numpy(v) for k, v in read_safetensors_numpy(f"{model}/model.safetensors").items()}
        stds = []
        with torch.no_grad():
            for i, stride in enumerate(cfg["conv_stride"]):
                x = torch.nn.functional.conv1d(x, w[f"feature_extractor.conv_layers.{i}.conv.weight"], stride=stride)
                if i == 0:
                    x = torch.nn.functional.group_norm(x, x.shape[1],
                                                       w["feature_extractor.conv_layers.0.layer_norm.weight"],
                                                       w["feature_extractor.conv_layers.0.layer_norm.bias"])
                stds.append(x.std().item())
                x = torch.nn.functional.gelu(x)
        print(f"{model}: GELU input std per conv layer " + " ".join(f"{v:.3g}" for v in stds) +
              f" | output RMS {x.pow(2).mean().sqrt().item():.3g}")


if __name__ == "__main__":
    main()
