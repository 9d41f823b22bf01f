#!/usr/bin/python3
"""Test oracle for the C++ MERT implementation.

Builds a random-weight HuBERT-style model with torchaudio's *independent* wav2vec2/HuBERT
implementation, writes it as a Hugging Face MERT model dir (config.json,
preprocessor_config.json, model.safetensors and/or pytorch_model.bin), writes test audio
(DIR/audio/*.wav) and the expected Hugging Face `hidden_states` for every clip
(DIR/expected/<clip>.npy, float32 [L+1, T, H], computed in float64) plus a manifest.

Run with Debian's interpreter (/usr/bin/python3: torch 1.13 + torchaudio 0.13).

Example:
  /usr/bin/python3 tests/oracle/make_model.py --out /tmp/m --size tiny --encoder preln

Semantics reproduced (see /work/shared/reference/mert-spec.md §1.7):
  post-LN: hs[0] = LN_enc(proj + posconv), hs[i] = output of layer i.
  pre-LN : hs[0] = proj + posconv (no norm), hs[i] = raw residual stream after layer i,
           except hs[L] = LN_enc(output of layer L).
"""
import argparse
import collections
import json
import math
import os
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torchaudio
    from torchaudio.models import wav2vec2_model
except ImportError as e:  # fail loudly: the oracle is useless without torchaudio
    sys.stderr.write(
        f"make_model.py: cannot import numpy/torch/torchaudio with {sys.executable}: {e}\n"
        "Use Debian's /usr/bin/python3 with python3-torch and python3-torchaudio installed.\n")
    sys.exit(2)

SAMPLE_RATE = 24000
NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm

STD_CONV = dict(conv_dim=[512] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2])
SIZES = {
    "tiny": dict(hidden=64, layers=3, heads=4, ffn=128, pos_kernel=16, pos_groups=4, encoder="postln",
                 conv_dim=[32] * 7, conv_kernel=STD_CONV["conv_kernel"], conv_stride=STD_CONV["conv_stride"]),
    "v1-95m": dict(hidden=768, layers=12, heads=12, ffn=3072, pos_kernel=128, pos_groups=16, encoder="postln",
                   **STD_CONV),
    "v1-330m": dict(hidden=1024, layers=24, heads=16, ffn=4096, pos_kernel=128, pos_groups=16, encoder="preln",
                    **STD_CONV),
}
DEFAULT_CLIPS = "clip_2s123:48123,clip_12345:12345,clip_401:401,clip_5s:120000"

# safetensors dtype tags and the torch dtype used for each --dtype choice
DTYPES = {"f32": (torch.float32, "F32", "float32"),
          "f16": (torch.float16, "F16", "float16"),
          "bf16": (torch.bfloat16, "BF16", "bfloat16")}


def int_list(s):
    return [int(v) for v in s.split(",") if v.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="model dir to create")
    p.add_argument("--size", choices=sorted(SIZES), default="tiny")
    p.add_argument("--encoder", choices=["postln", "preln"], default=None,
                   help="default: postln for tiny/v1-95m, preln for v1-330m")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--formats", default="safetensors,bin", help="comma list of safetensors,bin")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32",
                   help="storage dtype of the weight files; expected outputs use the rounded weights")
    p.add_argument("--do-normalize", type=int, choices=[0, 1], default=1)
    p.add_argument("--deepnorm", type=int, choices=[0, 1], default=0,
                   help="post-LN DeepNorm residuals x_out = LN(alpha*x + f(x)), alpha = (2L)^(1/4)")
    p.add_argument("--feat-extract-norm", choices=["group", "layer"], default="group")
    p.add_argument("--conv-bias", type=int, choices=[0, 1], default=0)
    p.add_argument("--conv-dim", type=int_list, default=None)
    p.add_argument("--conv-kernel", type=int_list, default=None)
    p.add_argument("--conv-stride", type=int_list, default=None)
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--heads", type=int, default=None)
    p.add_argument("--ffn", type=int, default=None)
    p.add_argument("--pos-conv-kernel", type=int, default=None)
    p.add_argument("--pos-conv-groups", type=int, default=None)
    p.add_argument("--attention-relax", type=float, default=None,
                   help="written to config.json only (softmax is shift invariant); default -1, 32 for preln")
    p.add_argument("--clips", default=DEFAULT_CLIPS,
                   help="comma list of NAME:SAMPLES or SAMPLES (24 kHz mono); default: %(default)s")
    p.add_argument("--wav-format", choices=["f32", "pcm16"], default="f32",
                   help="f32: IEEE float WAV (format tag 3); pcm16: 16-bit PCM, oracle input = int16/32768")
    p.add_argument("--bin-shared-storage", type=int, choices=[0, 1], default=0,
                   help="1: in pytorch_model.bin, all tensors of a layer are views into one shared storage "
                        "(non-zero storage offsets), like checkpoints saved from flattened/fused params")
    p.add_argument("--verify", type=int, choices=[0, 1], default=1,
                   help="re-read the written weight files and compare with the state dict; run an independent "
                        "functional HF-semantics forward from the safetensors file (tiny/short clips only)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("MERT_ORACLE_THREADS", "1")))
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--weights-from", default=None,
                   help="an HF-layout model dir (safetensors) whose trained weights, geometry and "
                        "preprocessing replace the random ones; the size/shape options are then ignored")
    a = p.parse_args(argv)
    if a.weights_from:
        geometry_from_dir(a)

    size = dict(SIZES[a.size])
    for k_arg, k in [("hidden", "hidden"), ("layers", "layers"), ("heads", "heads"), ("ffn", "ffn"),
                     ("pos_conv_kernel", "pos_kernel"), ("pos_conv_groups", "pos_groups"),
                     ("encoder", "encoder"), ("conv_dim", "conv_dim"), ("conv_kernel", "conv_kernel"),
                     ("conv_stride", "conv_stride")]:
        if getattr(a, k_arg) is not None:
            size[k] = getattr(a, k_arg)
    if not (len(size["conv_dim"]) == len(size["conv_kernel"]) == len(size["conv_stride"])):
        p.error("--conv-dim/--conv-kernel/--conv-stride must have equal lengths")
    if size["hidden"] % size["heads"] or size["hidden"] % size["pos_groups"]:
        p.error("hidden must be divisible by heads and by pos-conv groups")
    a.geom = size
    a.preln = size["encoder"] == "preln"
    if a.attention_relax is None:
        a.attention_relax = 32.0 if a.preln else -1.0  # like the released 330M config
    a.formats = [f for f in a.formats.split(",") if f]
    for f in a.formats:
        if f not in ("safetensors", "bin"):
            p.error(f"unknown format {f}")
    a.clip_list = []
    for item in a.clips.split(","):
        name, _, n = item.rpartition(":")
        a.clip_list.append((name or f"clip_{n}", int(n)))
    return a


def geometry_from_dir(a):
    """Sets the shape options from a model dir's config.json / preprocessor_config.json."""
    with open(os.path.join(a.weights_from, "config.json")) as f:
        c = json.load(f)
    with open(os.path.join(a.weights_from, "preprocessor_config.json")) as f:
        pre = json.load(f)
    a.hidden, a.layers, a.heads, a.ffn = (c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                                          c["intermediate_size"])
    a.pos_conv_kernel, a.pos_conv_groups = c["num_conv_pos_embeddings"], c["num_conv_pos_embedding_groups"]
    a.conv_dim, a.conv_kernel, a.conv_stride = c["conv_dim"], c["conv_kernel"], c["conv_stride"]
    a.encoder = "preln" if c.get("do_stable_layer_norm", False) else "postln"
    a.feat_extract_norm = c.get("feat_extract_norm", "group")
    a.conv_bias = int(bool(c.get("conv_bias", False)))
    a.deepnorm = int(bool(c.get("deepnorm", False)))
    a.attention_relax = c.get("attention_relax", -1.0)
    a.do_normalize = int(bool(pre.get("do_normalize", True)))
    with open(os.path.join(a.weights_from, "model.safetensors"), "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    tag = {"F32": "f32", "F16": "f16", "BF16": "bf16"}
    if len(dtypes) != 1 or next(iter(dtypes)) not in tag:
        raise SystemExit(f"--weights-from: expected one float dtype in model.safetensors, got {sorted(dtypes)}")
    a.dtype = tag[next(iter(dtypes))]


@torch.no_grad()
def load_weights(model, a):
    """Copies the weights of --weights-from into the torchaudio model (strict: every tensor used)."""
    st = read_safetensors_numpy(os.path.join(a.weights_from, "model.safetensors"))
    used = set()
    for name, p in model.named_parameters():
        hf = hf_name(name)
        if hf not in st:
            raise SystemExit(f"--weights-from: {hf} missing from model.safetensors")
        if tuple(st[hf].shape) != tuple(p.shape):
            raise SystemExit(f"--weights-from: {hf} has shape {st[hf].shape}, the model wants {tuple(p.shape)}")
        p.copy_(torch.from_numpy(st[hf].copy()))
        used.add(hf)
    left = set(st) - used - {"masked_spec_embed"}
    if left:
        raise SystemExit(f"--weights-from: tensors the model does not use: {sorted(left)[:5]}")
    H = a.geom["hidden"]
    return torch.from_numpy(st["masked_spec_embed"].copy()) if "masked_spec_embed" in st else torch.zeros(H)


def log(args, *msg):
    if not args.quiet:
        print("[make_model]", *msg, flush=True)


# ----------------------------------------------------------------------------------------------
# Model construction and randomisation
# ----------------------------------------------------------------------------------------------
def build_model(a):
    g = a.geom
    return wav2vec2_model(
        extractor_mode="group_norm" if a.feat_extract_norm == "group" else "layer_norm",
        extractor_conv_layer_config=list(zip(g["conv_dim"], g["conv_kernel"], g["conv_stride"])),
        extractor_conv_bias=bool(a.conv_bias),
        encoder_embed_dim=g["hidden"], encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=g["pos_kernel"], encoder_pos_conv_groups=g["pos_groups"],
        encoder_num_layers=g["layers"], encoder_num_heads=g["heads"], encoder_attention_dropout=0.0,
        encoder_ff_interm_features=g["ffn"], encoder_ff_interm_dropout=0.0, encoder_dropout=0.0,
        encoder_layer_norm_first=a.preln, encoder_layer_drop=0.0, aux_num_out=None).eval()


# GELU roughly halves the second moment of an N(0,1) input (E[gelu(x)^2] ~ 0.425): layers fed by a
# GELU get gain 1/sqrt(0.425) ~ 1.5 so the signal keeps unit scale through the stack.
GELU_GAIN = 1.5


@torch.no_grad()
def randomise(model, a):
    """Give EVERY parameter a random, non-trivial value with O(1) activations throughout."""
    gen = torch.Generator().manual_seed(a.seed)

    def randn(shape):
        return torch.randn(shape, generator=gen, dtype=torch.float32)

    H, K = a.geom["hidden"], a.geom["pos_kernel"]
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if ".layer_norm." in name or ".final_layer_norm." in name or name.startswith(
                "encoder.transformer.layer_norm."):
            # LayerNorm / GroupNorm affine: away from the identity so mixing up the norms is visible
            p.copy_(1.0 + 0.1 * randn(shape) if name.endswith("weight") else 0.1 * randn(shape))
        elif name.endswith("bias"):
            p.copy_(0.1 * randn(shape))
        elif name.endswith("pos_conv_embed.conv.weight_g"):
            # weight = g_k * v / ||v[:,:,k]||: a tap's slice has H*(H/G) entries; for entries of size
            # 1/sqrt(fan_in), fan_in = (H/G)*K, its norm must be sqrt(H/K).
            p.copy_(math.sqrt(H / K) * (1.0 + 0.1 * randn(shape)))
        elif name.endswith("pos_conv_embed.conv.weight_v"):
            p.copy_(randn(shape))  # scale irrelevant (weight norm)
        elif ".conv_layers." in name and name.endswith("conv.weight"):
            fan_in = shape[1] * shape[2]
            first = name.startswith("feature_extractor.conv_layers.0.")
            p.copy_((1.0 if first else GELU_GAIN) / math.sqrt(fan_in) * randn(shape))
        elif name.endswith("weight") and p.dim() == 2:  # Linear
            fan_in = shape[1]
            gain = 1.0
            if "output_dense" in name:
                gain = GELU_GAIN
            elif "q_proj" in name or "k_proj" in name:
                gain = 1.6  # somewhat peaked attention, so a wrong softmax/scaling shows up
            p.copy_(gain / math.sqrt(fan_in) * randn(shape))
        else:
            raise RuntimeError(f"randomise: no rule for parameter {name} {shape}")
    masked_spec_embed = torch.rand((H,), generator=gen)  # fairseq mask_emb init U[0,1)
    return masked_spec_embed


# torchaudio name -> Hugging Face Hubert/MERT name (spec §2.1)
def hf_name(ta_name):
    if ta_name.startswith("encoder.feature_projection."):
        return ta_name[len("encoder."):]
    if ta_name.startswith("encoder.transformer."):
        return "encoder." + ta_name[len("encoder.transformer."):]
    if ta_name.startswith("feature_extractor."):
        return ta_name
    raise RuntimeError(f"unmapped torchaudio parameter {ta_name}")


def hf_state_dict(model, masked_spec_embed):
    """HF-named OrderedDict in HF module order (masked_spec_embed is registered first in HubertModel)."""
    sd = collections.OrderedDict()
    sd["masked_spec_embed"] = masked_spec_embed.detach().clone()
    for name, p in model.named_parameters():
        sd[hf_name(name)] = p.detach().clone()
    return sd


# ----------------------------------------------------------------------------------------------
# Weight files
# ----------------------------------------------------------------------------------------------
def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: write the raw 16-bit patterns
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, sd, st_dtype):
    """Hand-written safetensors: u64 LE header size, JSON header, raw little-endian data."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    names = sorted(sd)  # the safetensors library also writes tensors sorted by name
    for n in names:
        nbytes = sd[n].numel() * sd[n].element_size()
        header[n] = {"dtype": st_dtype, "shape": list(sd[n].shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # pad to 8 bytes like the reference writer
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for n in names:
            f.write(tensor_bytes(sd[n]))


def read_safetensors_numpy(path):
    """Independent numpy reader, returns {name: float32 ndarray} (bf16/f16 widened)."""
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
        data = f.read()
    out = {}
    for n, info in header.items():
        if n == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[b:e]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"unexpected dtype {dt}")
        out[n] = arr.reshape(info["shape"])
    return out


def state_dict_metadata(keys):
    """`_metadata` like nn.Module.state_dict(): one {'version': 1} entry per module prefix."""
    meta = collections.OrderedDict()
    meta[""] = {"version": 1}
    for k in keys:
        parts = k.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            meta.setdefault(".".join(parts[:i]), {"version": 1})
    return meta


def write_bin(path, sd, shared_storage):
    out = collections.OrderedDict()
    if shared_storage:
        # Group tensors by owning layer and carve them out of one flat buffer each, so the pickle
        # holds one storage per group and tensors with non-zero storage offsets.
        groups = collections.OrderedDict()
        for n, t in sd.items():
            key = ".".join(n.split(".")[:3]) if n.startswith("encoder.layers.") else n.split(".")[0]
            groups.setdefault(key, []).append(n)
        for key, names in groups.items():
            total = sum(sd[n].numel() for n in names)
            buf = torch.empty(total + 3, dtype=sd[names[0]].dtype)  # +3: trailing slack in the storage
            off = 0
            for n in names:
                view = buf[off:off + sd[n].numel()].view(sd[n].shape)
                view.copy_(sd[n])
                out[n] = view
                off += sd[n].numel()
    else:
        for n, t in sd.items():
            out[n] = t.clone()
    out._metadata = state_dict_metadata(out.keys())  # real state_dicts carry this attribute
    torch.save(out, path)  # default zip serialization, as transformers' save_pretrained


# ----------------------------------------------------------------------------------------------
# Audio
# ----------------------------------------------------------------------------------------------
def make_clip(n, seed):
    """Musical-ish test signal: harmonic notes, a triad, noise, amplitude envelopes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SAMPLE_RATE
    x = np.zeros(n)
    # a melody of harmonic tones, one note per ~0.25-0.6 s, with attack/decay envelopes
    pos = 0
    while pos < n:
        dur = int(rng.uniform(0.25, 0.6) * SAMPLE_RATE)
        seg = slice(pos, min(n, pos + dur))
        tt = t[seg] - t[pos]
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        env = (1 - np.exp(-tt / 0.01)) * np.exp(-tt / rng.uniform(0.15, 0.5))
        for h in range(1, 8):
            if f0 * h < SAMPLE_RATE / 2:
                x[seg] += 0.3 / h * env * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 2 * np.pi))
        pos += dur
    # a sustained major triad with slow tremolo
    root = 220.0 * 2 ** (rng.integers(0, 12) / 12)
    for semi in (0, 4, 7):
        f = root * 2 ** (semi / 12)
        x += 0.08 * (1 + 0.3 * np.sin(2 * np.pi * 3.0 * t)) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28))
    # percussive noise bursts and a little broadband noise
    for start in range(0, n, SAMPLE_RATE // 4):
        m = min(n - start, 2400)
        x[start:start + m] += 0.2 * rng.standard_normal(m) * np.exp(-np.arange(m) / 300.0)
    x += 0.01 * rng.standard_normal(n)
    x *= 0.5 * (1.0 + 0.5 * np.sin(2 * np.pi * 0.3 * t))  # global swell
    return np.clip(x, -0.99, 0.99)


def write_wav(path, x, fmt):
    """Mono 24 kHz WAV; returns the exact sample values a reader decodes (the oracle input)."""
    if fmt == "f32":
        data = x.astype("<f4")
        decoded = data.astype(np.float64)
        tag, bits = 3, 32  # WAVE_FORMAT_IEEE_FLOAT
    else:
        data = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
        decoded = data.astype(np.float64) / 32768.0
        tag, bits = 1, 16  # WAVE_FORMAT_PCM
    payload = data.tobytes()
    block = bits // 8
    fmt_chunk = struct.pack("<HHIIHH", tag, 1, SAMPLE_RATE, SAMPLE_RATE * block, block, bits)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt_chunk) + 8 + len(payload)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk)
        f.write(b"data" + struct.pack("<I", len(payload)) + payload)
    return decoded


# ----------------------------------------------------------------------------------------------
# Expected outputs
# ----------------------------------------------------------------------------------------------
def conv_frames(n, kernels, strides):
    for k, s in zip(kernels, strides):
        n = (n - k) // s + 1 if n >= k else 0
    return n


def normalize(x):
    """Wav2Vec2FeatureExtractor zero_mean_unit_var_norm (population variance), in float64."""
    return (x - x.mean()) / np.sqrt(x.var() + NORM_EPS)


def deepnorm_alpha(a):
    return (2.0 * a.geom["layers"]) ** 0.25 if a.deepnorm else None


@torch.no_grad()
def hidden_states(model, wav64, preln, alpha=None):
    """HF hidden_states from torchaudio's own submodules; model must be float64. -> [L+1,T,H]."""
    enc = model.encoder
    tr = enc.transformer
    x, _ = model.feature_extractor(wav64[None], None)   # [1, T, C]
    x = enc.feature_projection(x)
    x = x + tr.pos_conv_embed(x)
    if not preln:
        x = tr.layer_norm(x)      # post-LN: encoder LayerNorm before the layers (hs[0] is normalised)
    hs = [x]
    for layer in tr.layers:
        if alpha is None:
            x = layer(x, None)
        else:
            # DeepNorm (HF HubertEncoderLayerExtend): torchaudio has no such layer, so compose its
            # submodules with the scaled residuals.
            x = layer.layer_norm(alpha * x + layer.attention(x, None))
            x = layer.final_layer_norm(alpha * x + layer.feed_forward(x))
        hs.append(x)
    if preln:
        hs[-1] = tr.layer_norm(hs[-1])  # pre-LN: only the last hidden state is normalised
    return torch.cat(hs, 0)


@torch.no_grad()
def check_against_torchaudio(model, wav64, hs, preln):
    """Our composition must agree with torchaudio's own forward paths where they coincide."""
    feats, _ = model.extract_features(wav64[None])  # per-layer outputs, no hs[0]
    L = len(feats)
    assert L == hs.shape[0] - 1
    last = L if not preln else L - 1  # pre-LN: torchaudio returns the un-normalised last layer
    for i in range(last):
        torch.testing.assert_close(feats[i][0], hs[i + 1], rtol=1e-12, atol=1e-12)
    out, _ = model(wav64[None])  # forward: post-LN = last layer; pre-LN = LN_enc(last layer)
    torch.testing.assert_close(out[0], hs[L], rtol=1e-12, atol=1e-12)
    if preln:
        torch.testing.assert_close(model.encoder.transformer.layer_norm(feats[-1][0]), hs[L],
                                   rtol=1e-12, atol=1e-12)


@torch.no_grad()
def functional_hf_forward(W, cfg, wav64):
    """Independent float64 forward written from the HF names/semantics (spec §1), reading the
    weights as stored in model.safetensors. Guards the torchaudio->HF name map."""
    F = torch.nn.functional
    w = {k: torch.from_numpy(v.astype(np.float64)) for k, v in W.items()}
    eps = cfg["layer_norm_eps"]
    x = wav64[None, None]
    for i in range(cfg["num_feat_extract_layers"]):
        p = f"feature_extractor.conv_layers.{i}."
        x = F.conv1d(x, w[p + "conv.weight"], w.get(p + "conv.bias"), stride=cfg["conv_stride"][i])
        if cfg["feat_extract_norm"] == "group" and i == 0:
            x = F.group_norm(x, x.shape[1], w[p + "layer_norm.weight"], w[p + "layer_norm.bias"], eps)
        elif cfg["feat_extract_norm"] == "layer":
            x = F.layer_norm(x.transpose(1, 2), (x.shape[1],), w[p + "layer_norm.weight"],
                             w[p + "layer_norm.bias"], eps).transpose(1, 2)
        x = F.gelu(x)
    x = x.transpose(1, 2)
    x = F.layer_norm(x, (x.shape[-1],), w["feature_projection.layer_norm.weight"],
                     w["feature_projection.layer_norm.bias"], eps)
    x = F.linear(x, w["feature_projection.projection.weight"], w["feature_projection.projection.bias"])
    g, v = w["encoder.pos_conv_embed.conv.weight_g"], w["encoder.pos_conv_embed.conv.weight_v"]
    weight = g * v / v.pow(2).sum(dim=(0, 1), keepdim=True).sqrt()
    K = cfg["num_conv_pos_embeddings"]
    pc = F.conv1d(x.transpose(1, 2), weight, w["encoder.pos_conv_embed.conv.bias"], padding=K // 2,
                  groups=cfg["num_conv_pos_embedding_groups"])
    if K % 2 == 0:
        pc = pc[..., :-1]
    x = x + F.gelu(pc).transpose(1, 2)

    def ln(t, name):
        return F.layer_norm(t, (t.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps)

    def attn(t, p):
        B, T, H = t.shape
        nh = cfg["num_attention_heads"]
        hd = H // nh
        q = F.linear(t, w[p + "q_proj.weight"], w[p + "q_proj.bias"]) * hd ** -0.5
        k = F.linear(t, w[p + "k_proj.weight"], w[p + "k_proj.bias"])
        vv = F.linear(t, w[p + "v_proj.weight"], w[p + "v_proj.bias"])
        q, k, vv = (z.view(B, T, nh, hd).transpose(1, 2) for z in (q, k, vv))
        a = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ vv
        return F.linear(a.transpose(1, 2).reshape(B, T, H), w[p + "out_proj.weight"], w[p + "out_proj.bias"])

    def ffn(t, p):
        t = F.gelu(F.linear(t, w[p + "intermediate_dense.weight"], w[p + "intermediate_dense.bias"]))
        return F.linear(t, w[p + "output_dense.weight"], w[p + "output_dense.bias"])

    pre = cfg["do_stable_layer_norm"]
    if not pre:
        x = ln(x, "encoder.layer_norm")
    hs = [x]
    for n in range(cfg["num_hidden_layers"]):
        p = f"encoder.layers.{n}."
        if pre:
            x = x + attn(ln(x, p + "layer_norm"), p + "attention.")
            x = x + ffn(ln(x, p + "final_layer_norm"), p + "feed_forward.")
        else:
            r = (2.0 * cfg["num_hidden_layers"]) ** 0.25 if cfg["deepnorm"] else 1.0
            x = ln(r * x + attn(x, p + "attention."), p + "layer_norm")
            x = ln(r * x + ffn(x, p + "feed_forward."), p + "final_layer_norm")
        hs.append(x)
    if pre:
        hs[-1] = ln(hs[-1], "encoder.layer_norm")
    return torch.cat(hs, 0)


def run_checks(model, wav64, hs, a, cfg, st_np):
    """Cross-checks of one input: torchaudio's own forward paths, and (if the safetensors file was
    re-read) the independent functional forward from the HF-named weights."""
    if not a.deepnorm:  # torchaudio's own forward has no DeepNorm to compare with
        check_against_torchaudio(model, wav64, hs, a.preln)
    if a.verify and st_np is not None:
        ref = functional_hf_forward(st_np, cfg, wav64)
        err = (ref - hs).abs().max().item() / hs.abs().max().item()
        assert err < 1e-10, f"functional HF forward disagrees with the torchaudio composition: {err}"


# ----------------------------------------------------------------------------------------------
# Config files
# ----------------------------------------------------------------------------------------------
def hf_config(a):
    g = a.geom
    drop = 0.0 if a.preln else 0.1  # like the released configs (inference ignores them)
    return {
        "_name_or_path": f"mert-oracle-{a.size}-{a.geom['encoder']}-seed{a.seed}",
        "architectures": ["MERTModel"],
        "auto_map": {"AutoConfig": "configuration_MERT.MERTConfig", "AutoModel": "modeling_MERT.MERTModel"},
        "model_type": "mert_model",
        "activation_dropout": 0.0, "attention_dropout": drop, "hidden_dropout": drop,
        "hidden_dropout_prob": drop, "feat_proj_dropout": drop, "final_dropout": drop,
        "feat_extract_dropout": 0.0, "layerdrop": 0.0 if a.preln else 0.05,
        "apply_spec_augment": True, "mask_time_prob": 0.05, "mask_time_length": 10, "mask_time_min_masks": 2,
        "mask_feature_prob": 0.0, "mask_feature_length": 10, "mask_feature_min_masks": 0,
        "attention_relax": a.attention_relax, "deepnorm": bool(a.deepnorm),
        "conv_bias": bool(a.conv_bias), "conv_dim": g["conv_dim"], "conv_kernel": g["conv_kernel"],
        "conv_stride": g["conv_stride"], "num_feat_extract_layers": len(g["conv_dim"]),
        "feat_extract_norm": a.feat_extract_norm, "feat_extract_activation": "gelu",
        "feat_proj_layer_norm": True, "feature_extractor_cqt": False, "feature_extractor_cqt_bins": 336,
        "do_stable_layer_norm": a.preln, "hidden_act": "gelu", "hidden_size": g["hidden"],
        "initializer_range": 0.02, "intermediate_size": g["ffn"], "layer_norm_eps": 1e-5,
        "num_attention_heads": g["heads"], "num_hidden_layers": g["layers"],
        "num_conv_pos_embeddings": g["pos_kernel"], "num_conv_pos_embedding_groups": g["pos_groups"],
        "sample_rate": SAMPLE_RATE, "classifier_proj_size": 256, "use_weighted_layer_sum": False,
        "vocab_size": 32, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
        "ctc_loss_reduction": "sum", "ctc_zero_infinity": False, "tokenizer_class": "Wav2Vec2CTCTokenizer",
        "gradient_checkpointing": False, "torch_dtype": DTYPES[a.dtype][2], "transformers_version": "4.24.0",
    }


def preprocessor_config(a):
    return {"do_normalize": bool(a.do_normalize), "feature_extractor_type": "Wav2Vec2FeatureExtractor",
            "feature_size": 1, "padding_side": "right", "padding_value": 0, "return_attention_mask": True,
            "sampling_rate": SAMPLE_RATE}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ----------------------------------------------------------------------------------------------
def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(max(1, a.threads))
    t_start = time.time()
    timings = {}
    os.makedirs(os.path.join(a.out, "audio"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "expected"), exist_ok=True)

    # 1. model
    t0 = time.time()
    model = build_model(a)
    masked_spec_embed = load_weights(model, a) if a.weights_from else randomise(model, a)
    tdtype, st_dtype, _ = DTYPES[a.dtype]
    if a.dtype != "f32":  # expected outputs are computed from the weights as stored
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(tdtype).float())
        masked_spec_embed = masked_spec_embed.to(tdtype).float()
    sd = hf_state_dict(model, masked_spec_embed)
    n_params = sum(t.numel() for t in sd.values())
    cfg = hf_config(a)
    timings["build"] = time.time() - t0

    # 2. files
    t0 = time.time()
    write_json(os.path.join(a.out, "config.json"), cfg)
    write_json(os.path.join(a.out, "preprocessor_config.json"), preprocessor_config(a))
    sd_store = collections.OrderedDict((k, v.to(tdtype)) for k, v in sd.items())
    if "safetensors" in a.formats:
        write_safetensors(os.path.join(a.out, "model.safetensors"), sd_store, st_dtype)
    if "bin" in a.formats:
        write_bin(os.path.join(a.out, "pytorch_model.bin"), sd_store, a.bin_shared_storage)
    timings["write_weights"] = time.time() - t0

    # 3. verify the files round-trip to exactly the weights the expected outputs use
    st_np = None
    if a.verify:
        t0 = time.time()
        if "safetensors" in a.formats:
            st_np = read_safetensors_numpy(os.path.join(a.out, "model.safetensors"))
            assert list(st_np) == sorted(sd), "safetensors key set differs"
            for k, t in sd.items():
                assert np.array_equal(st_np[k], t.numpy()), f"safetensors mismatch for {k}"
        if "bin" in a.formats:
            loaded = torch.load(os.path.join(a.out, "pytorch_model.bin"))
            assert isinstance(loaded, collections.OrderedDict) and hasattr(loaded, "_metadata")
            assert list(loaded) == list(sd), "bin key order differs"
            for k, t in loaded.items():
                assert t.dtype == tdtype and torch.equal(t.float(), sd[k]), f"bin mismatch for {k}"
                if st_np is not None:
                    assert np.array_equal(t.float().numpy(), st_np[k]), f"bin != safetensors for {k}"
            del loaded
        timings["verify_files"] = time.time() - t0
    del sd_store

    # 4. audio + expected outputs (float64)
    model = model.double()
    g = a.geom
    manifest_clips = []
    t0 = time.time()
    check_input = None
    for ci, (name, n) in enumerate(a.clip_list):
        T = conv_frames(n, g["conv_kernel"], g["conv_stride"])
        if T < 1:
            raise SystemExit(f"clip {name}: {n} samples is shorter than the receptive field")
        wav_path = os.path.join(a.out, "audio", name + ".wav")
        decoded = write_wav(wav_path, make_clip(n, a.seed * 1000 + ci), a.wav_format)
        x = normalize(decoded) if a.do_normalize else decoded
        wav64 = torch.from_numpy(x)
        tc = time.time()
        hs = hidden_states(model, wav64, a.preln, deepnorm_alpha(a))
        assert hs.shape == (g["layers"] + 1, T, g["hidden"]), (hs.shape, T)
        assert torch.isfinite(hs).all()
        if a.size == "tiny":
            run_checks(model, wav64, hs, a, cfg, st_np)  # cheap: check every clip
        elif check_input is None:
            check_input = wav64[:4000]  # float64 is slow here (reference BLAS): check a short excerpt
        exp_path = os.path.join(a.out, "expected", name + ".npy")
        np.save(exp_path, hs.numpy().astype(np.float32))
        per_layer_max = hs.abs().flatten(1).max(1).values.tolist()
        per_layer_rms = hs.pow(2).flatten(1).mean(1).sqrt().tolist()
        manifest_clips.append({"name": name, "wav": f"audio/{name}.wav", "expected": f"expected/{name}.npy",
                               "samples": n, "frames": T, "shape": list(hs.shape),
                               "layer_absmax": per_layer_max, "layer_rms": per_layer_rms,
                               "seconds": round(time.time() - tc, 3)})
        log(a, f"{name}: {n} samples -> T={T}; rms per layer "
               + " ".join(f"{r:.2f}" for r in per_layer_rms) + f" ({time.time() - tc:.1f}s)")
    if check_input is not None:
        run_checks(model, check_input, hidden_states(model, check_input, a.preln, deepnorm_alpha(a)), a, cfg, st_np)
    timings["expected"] = time.time() - t0
    timings["total"] = time.time() - t_start

    manifest = {
        "generator": "tests/oracle/make_model.py", "torch": torch.__version__, "torchaudio": torchaudio.__version__,
        "args": {k: v for k, v in vars(a).items() if k not in ("geom", "clip_list")},
        "size": a.size, "encoder": g["encoder"], "dtype": a.dtype, "formats": a.formats,
        "do_normalize": bool(a.do_normalize), "num_hidden_layers": g["layers"], "hidden_size": g["hidden"],
        "num_hidden_states": g["layers"] + 1, "num_parameters": n_params, "sample_rate": SAMPLE_RATE,
        "clips": manifest_clips, "timings_sec": {k: round(v, 2) for k, v in timings.items()},
    }
    write_json(os.path.join(a.out, "expected", "manifest.json"), manifest)
    log(a, f"wrote {a.out}: {a.size}/{g['encoder']} {n_params} params, dtype {a.dtype}, formats {a.formats}; "
           + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
