#!/usr/bin/env python3
"""An independent PyTorch EnCodec encoder + residual vector quantizer (the test oracle for
`mert codec encode`), written from the published description of Hugging Face transformers'
EncodecModel (models/encodec) and facebookresearch/encodec: torch.nn.Conv1d under
torch.nn.utils.weight_norm, nn.LSTM, F.pad(mode="reflect"), the padding arithmetic in Python
floats as Hugging Face writes it. Module names follow Hugging Face's, so state_dict() gives its
key names.

As a tool: encodec_oracle.py make OUT_DIR [--small] [--seed N] [--layout hf-safetensors|
hf-bin-parametrizations|original-th]  -> a random-weight EnCodec in that layout.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model import write_safetensors  # noqa: E402

CONFIG_24KHZ = {
    "model_type": "encodec", "sampling_rate": 24000, "audio_channels": 1, "num_filters": 32,
    "num_residual_layers": 1, "upsampling_ratios": [8, 5, 4, 2], "kernel_size": 7, "last_kernel_size": 7,
    "residual_kernel_size": 3, "dilation_growth_rate": 2, "compress": 2, "num_lstm_layers": 2,
    "hidden_size": 128, "codebook_dim": 128, "codebook_size": 1024, "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
    "norm_type": "weight_norm", "pad_mode": "reflect", "use_causal_conv": True, "normalize": False,
    "chunk_length_s": None, "overlap": None, "use_conv_shortcut": True,
}
# A small model with the same structure, for fast tests: 4 x 2 x 2 = hop 16.
CONFIG_SMALL = dict(CONFIG_24KHZ, num_filters=4, upsampling_ratios=[4, 2, 2], hidden_size=8, codebook_dim=8,
                    codebook_size=16, sampling_rate=1600, target_bandwidths=[0.8, 1.6, 4.0])


class CausalConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1):
        super().__init__()
        self.conv = nn.utils.weight_norm(nn.Conv1d(cin, cout, k, stride=stride, dilation=dilation))
        self.k_eff = (k - 1) * dilation + 1
        self.stride = stride
        self.padding_total = self.k_eff - stride

    def forward(self, x):
        length = x.shape[-1]
        n_frames = (length - self.k_eff + self.padding_total) / self.stride + 1
        ideal = (math.ceil(n_frames) - 1) * self.stride + (self.k_eff - self.padding_total)
        extra = ideal - length
        left, right = self.padding_total, extra
        max_pad = max(left, right)
        grow = max_pad - length + 1 if length <= max_pad else 0
        if grow:
            x = F.pad(x, (0, grow))
        x = F.pad(x, (left, right), mode="reflect")
        x = x[..., : x.shape[-1] - grow]
        return self.conv(x)


class ResBlock(nn.Module):
    def __init__(self, cfg, dim, dilation):
        super().__init__()
        hidden = dim // cfg["compress"]
        self.block = nn.ModuleList([nn.ELU(), CausalConv(dim, hidden, cfg["residual_kernel_size"], dilation=dilation),
                                    nn.ELU(), CausalConv(hidden, dim, 1)])
        self.shortcut = CausalConv(dim, dim, 1) if cfg["use_conv_shortcut"] else nn.Identity()

    def forward(self, x):
        y = x
        for layer in self.block:
            y = layer(y)
        return self.shortcut(x) + y


class SkipLSTM(nn.Module):
    def __init__(self, dim, layers):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, layers)

    def forward(self, x):
        x = x.permute(2, 0, 1)
        return (self.lstm(x)[0] + x).permute(1, 2, 0)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        layers = [CausalConv(cfg["audio_channels"], cfg["num_filters"], cfg["kernel_size"])]
        scale = 1
        for ratio in reversed(cfg["upsampling_ratios"]):
            dim = scale * cfg["num_filters"]
            for j in range(cfg["num_residual_layers"]):
                layers.append(ResBlock(cfg, dim, cfg["dilation_growth_rate"] ** j))
            layers.append(nn.ELU())
            layers.append(CausalConv(dim, dim * 2, ratio * 2, stride=ratio))
            scale *= 2
        layers += [SkipLSTM(scale * cfg["num_filters"], cfg["num_lstm_layers"]), nn.ELU(),
                   CausalConv(scale * cfg["num_filters"], cfg["hidden_size"], cfg["last_kernel_size"])]
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Codebook(nn.Module):
    def __init__(self, size, dim):
        super().__init__()
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.zeros(size))
        self.register_buffer("embed", torch.randn(size, dim))
        self.register_buffer("embed_avg", torch.randn(size, dim))


class VQ(nn.Module):
    def __init__(self, size, dim):
        super().__init__()
        self.codebook = Codebook(size, dim)


class Quantizer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        frame_rate = math.ceil(cfg["sampling_rate"] / math.prod(cfg["upsampling_ratios"]))
        self.frame_rate = frame_rate
        n = int(1000 * cfg["target_bandwidths"][-1] // (frame_rate * 10))
        self.layers = nn.ModuleList([VQ(cfg["codebook_size"], cfg["hidden_size"]) for _ in range(n)])

    def n_q(self, kbps):
        bw_per_q = math.log2(self.cfg["codebook_size"]) * self.frame_rate
        return int(max(1, math.floor(kbps * 1000 / bw_per_q)))

    def encode(self, emb, kbps):
        residual = emb
        codes = []
        for vq in self.layers[: self.n_q(kbps)]:
            x = residual.permute(0, 2, 1)
            shape = x.shape
            x = x.reshape(-1, shape[-1])
            embed = vq.codebook.embed.t()
            dist = -(x.pow(2).sum(1, keepdim=True) - 2 * x @ embed + embed.pow(2).sum(0, keepdim=True))
            ind = dist.max(dim=-1).indices.view(*shape[:-1])
            residual = residual - F.embedding(ind, vq.codebook.embed).permute(0, 2, 1)
            codes.append(ind)
        return torch.stack(codes, 1)  # [B, n_q, T]


class Encodec(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = Quantizer(cfg)

    @torch.no_grad()
    def encode(self, wave, kbps):
        """wave: 1-D float32 tensor -> int64 [n_q, frames]."""
        if kbps not in self.cfg["target_bandwidths"]:
            raise ValueError(f"bandwidth {kbps} not supported")
        return self.quantizer.encode(self.encoder(wave.view(1, 1, -1)), kbps)[0]


def randomize(model, seed):
    """Random weights that keep activations in a sensible range (weight_g ~ 1 per channel)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif name.endswith("weight_v") or "weight_" in name:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(max(1, p[0].numel())))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for q in model.quantizer.layers:
            q.codebook.embed.copy_(torch.randn(q.codebook.embed.shape, generator=g) * 0.5)


def hf_state_dict(model):
    """Hugging Face names with weight_g / weight_v (the layout of facebook/encodec_24khz), plus
    decoder keys the loader must ignore."""
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    sd["decoder.layers.0.conv.weight_g"] = torch.ones(4, 1, 1)
    return sd


def to_parametrizations(sd):
    out = {}
    for k, v in sd.items():
        k = k.replace(".weight_g", ".parametrizations.weight.original0").replace(".weight_v", ".parametrizations.weight.original1")
        out[k] = v
    return out


def to_original(sd):
    """facebookresearch/encodec names: encoder.model.N.conv.conv.*, quantizer.vq.layers.N._codebook.*."""
    import re
    out = {}
    for k, v in sd.items():
        k = re.sub(r"^encoder\.layers\.", "encoder.model.", k)
        k = re.sub(r"^decoder\.layers\.", "decoder.model.", k)
        k = re.sub(r"\.conv\.(weight_g|weight_v|bias)$", r".conv.conv.\1", k)
        k = re.sub(r"^quantizer\.layers\.(\d+)\.codebook\.", r"quantizer.vq.layers.\1._codebook.", k)
        out[k] = v
    return out


def save(model, out, layout):
    """Writes `model` in one of the layouts users have: a HF dir with model.safetensors
    (weight_g/weight_v), a HF dir with pytorch_model.bin (parametrizations names), or the original
    .th checkpoint (a file; no config)."""
    sd = hf_state_dict(model)
    if layout == "original-th":
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        torch.save(to_original(sd), out)
        return out
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(model.cfg, f, indent=2)
    if layout == "hf-safetensors":
        write_safetensors(os.path.join(out, "model.safetensors"), sd, "F32")
    elif layout == "hf-bin-parametrizations":
        torch.save(to_parametrizations(sd), os.path.join(out, "pytorch_model.bin"))
    else:
        raise SystemExit(f"unknown layout {layout}")
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["make"])
    p.add_argument("out")
    p.add_argument("--small", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layout", default="hf-safetensors")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    m = Encodec(CONFIG_SMALL if a.small else CONFIG_24KHZ).eval()
    randomize(m, a.seed)
    print(save(m, a.out, a.layout))


if __name__ == "__main__":
    main()
