#!/usr/bin/python3
"""PyTorch side of the pre-training step comparison: one update of MERT-v1-95M with the same
shapes, loss and optimiser as `mert pretrain --preset mert-v1-95m` (docs/PRETRAIN.md), built from
torchaudio's hubert_base components (the same architecture as MERT-v1-95M at 24 kHz: 7-conv
512-channel front end with GroupNorm on layer 0, LayerNorm + Linear 512->768, post-LN 12 x 768
transformer with a 128/16 weight-normed positional conv; dropout 0.1, attention dropout 0.1,
LayerDrop 0.05 in train mode).

One timed update = zero grads -> conv front end (gradient x feature_grad_mult 0.1) -> features
penalty -> projection -> masked frames replaced by a learned embedding -> transformer -> heads on
masked frames in float32 (cosine logits / 0.1 against [K*V, 64] label embeddings, summed CE; CQT
head 768->336, MSE) -> loss = CE + n * (10 * pen + 1 * mse) -> backward -> grads / n -> clip 10
-> AdamW (0.9/0.98, 1e-6, wd 0.01). Data loading is not timed: waveforms, labels, CQT targets and
masks (fairseq's compute_mask_indices via torchaudio, mask_prob 0.8, length 5, min 2) are made
before the clock starts. --dtype bf16 wraps forward + loss in torch.autocast('cpu', bfloat16) with
the heads in float32, as `mert pretrain --dtype bf16` does.

Prints one line per timed update and a JSON line: {"impl": "pytorch", "dtype", "threads",
"batch", "sec", "ms_median", "ms_min", "ms_max", "ms_forward_median", "ms_backward_median",
"ms_optim_median", "audio_sec_per_sec", "masked_fraction", "layers_run", ...}.
Run with Debian's interpreter: /usr/bin/python3 bench/pytorch_pretrain_step.py --dtype bf16
"""
import argparse, json, os, statistics, sys, time

import torch
import torch.nn.functional as F
import torchaudio
from torchaudio.models.wav2vec2.components import GradMultiply, _compute_mask_indices

SAMPLE_RATE = 24000


def contiguous_grad(t):
    # torch 1.13's float32 GELU backward returns garbage when its incoming gradient is not
    # contiguous (a transpose follows the GELU after the conv front end and the positional conv).
    # `mert pretrain` guards the same two places with the same hook (src/model/gelu.h).
    if t.requires_grad:
        t.register_hook(lambda g: g.contiguous())
    return t


class Fp32GroupNorm(torch.nn.GroupNorm):
    def forward(self, x):
        return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps).to(self.out_dtype(x))


class Fp32LayerNorm(torch.nn.LayerNorm):
    def forward(self, x):
        return F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps).to(self.out_dtype(x))


def norms_in_fp32(model, keep_input_dtype):
    """Under bf16 autocast, torch 1.13's CPU group_norm/layer_norm refuse a bfloat16 input with
    float32 weights (autocast has no rule for them on CPU). Normalise in float32 as fairseq's
    Fp32GroupNorm/Fp32LayerNorm do, returning float32 (autocast's policy for norms on GPU) or,
    with keep_input_dtype, the input's dtype. A no-op in fp32 mode."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.GroupNorm):
                new = Fp32GroupNorm(child.num_groups, child.num_channels, child.eps, child.affine)
            elif isinstance(child, torch.nn.LayerNorm):
                new = Fp32LayerNorm(child.normalized_shape, child.eps, child.elementwise_affine)
            else:
                continue
            new.out_dtype = (lambda x: x.dtype) if keep_input_dtype else (lambda x: torch.float32)
            new.load_state_dict(child.state_dict())
            setattr(module, name, new)


def init_like_mert(named_params):
    # The initialisation of `mert pretrain` (init_weights in src/model/state_dict.cpp and the heads'
    # reset), so both sides train from the same numerical regime (e.g. no denormal gradients on
    # one side only).
    with torch.no_grad():
        for name, p in named_params:
            if name in ("mask_emb", "label_embs"):
                p.uniform_(0, 1)
            elif ("conv_layers" in name and name.endswith("conv.weight")) or name.endswith("weight_v"):
                p.normal_(0, (2.0 / (p.size(1) * p.size(2))) ** 0.5)
            elif name.endswith("weight_g"):
                continue
            elif "norm" in name and name.endswith("weight"):
                p.fill_(1)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0, 0.02)


class Mert95mPretrain(torch.nn.Module):
    def __init__(self, vocab, final_dim=64, cqt_bins=336, feature_grad_mult=0.1):
        super().__init__()
        m = torchaudio.models.hubert_base()  # dropouts 0.1/0.1/0.0/0.1, layer_drop 0.05: the 95M config
        self.feature_extractor = m.feature_extractor
        self.feature_projection = m.encoder.feature_projection
        self.transformer = m.encoder.transformer
        self.mask_emb = torch.nn.Parameter(torch.rand(768))
        self.final_proj = torch.nn.Linear(768, final_dim)  # K = 1 label stream
        self.label_embs = torch.nn.Parameter(torch.rand(vocab, final_dim))
        self.cqt_head = torch.nn.Linear(768, cqt_bins)
        self.feature_grad_mult = feature_grad_mult
        self.layers_run = 0
        init_like_mert(self.named_parameters())
        conv = self.transformer.pos_conv_embed.conv
        with torch.no_grad():  # weight_g = |weight_v| per tap: the initial effective weight is weight_v
            conv.weight_g.copy_(conv.weight_v.pow(2).sum((0, 1), keepdim=True).sqrt())

    def encode(self, wave, mask):
        x = wave.unsqueeze(1)
        for layer in self.feature_extractor.conv_layers:
            x, _ = layer(x, None)
        x = contiguous_grad(x).transpose(1, 2)  # [B, T, 512]
        if self.feature_grad_mult != 1.0:
            x = GradMultiply.apply(x, self.feature_grad_mult)
        features_pen = x.float().pow(2).mean()
        x = self.feature_projection(x)  # LayerNorm, Linear 512 -> 768, dropout 0.1
        x = torch.where(mask.unsqueeze(-1), self.mask_emb.to(x.dtype), x)
        t = self.transformer
        pos = t.pos_conv_embed
        y = pos.conv(x.transpose(1, 2))[..., : x.size(1)]  # weight-normed conv, "same pad" drops the last frame
        x = x + contiguous_grad(F.gelu(y)).transpose(1, 2)
        x = t.dropout(t.layer_norm(x))  # post-LN: LayerNorm before the stack
        self.layers_run = 0
        for layer in t.layers:
            if t.training and torch.rand(1).item() <= t.layer_drop:
                continue
            x = layer(x, None)
            self.layers_run += 1
        return x, features_pen

    def loss(self, hidden, mask, labels, cqt_target, features_pen, temp=0.1):
        idx = mask.reshape(-1).nonzero().squeeze(1)
        n = idx.numel()
        x = hidden.float().reshape(-1, hidden.size(-1)).index_select(0, idx)
        proj = self.final_proj(x)
        emb = self.label_embs.float()
        norms = proj.norm(dim=1, keepdim=True) * emb.norm(dim=1).unsqueeze(0)
        logits = proj.mm(emb.t()) / norms.clamp_min(1e-8) / temp
        target = labels.reshape(-1).index_select(0, idx)
        ce = F.cross_entropy(logits, target, reduction="sum")
        correct = (logits.argmax(1) == target).sum()
        mse = F.mse_loss(self.cqt_head(x), cqt_target.reshape(-1, cqt_target.size(-1)).index_select(0, idx))
        total = ce + n * (10.0 * features_pen.float() + 1.0 * mse)
        return total, n, ce, mse, correct


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--sec", type=float, default=5.0)
    ap.add_argument("--vocab", type=int, default=100)
    ap.add_argument("--steps", type=int, default=5, help="timed updates")
    ap.add_argument("--warmup", type=int, default=2, help="untimed updates first")
    ap.add_argument("--foreach", type=int, default=-1,
                    help="AdamW foreach (multi-tensor) kernels: 1 on, 0 off, -1 = torch's default (off on CPU in 1.13)")
    ap.add_argument("--norm-out", default="fp32", choices=["fp32", "input"],
                    help="bf16: GroupNorm/LayerNorm run in float32 and return float32 or the input's dtype")
    ap.add_argument("--layerdrop", type=float, default=0.05, help="LayerDrop (the 95M config's 0.05)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", default="",
                    help="write a Chrome trace of the first timed update here (bench/profile_summary.py sums it)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    S = int(a.sec * SAMPLE_RATE)
    model = Mert95mPretrain(a.vocab).train()
    model.transformer.layer_drop = a.layerdrop
    norms_in_fp32(model, keep_input_dtype=a.norm_out == "input")
    params = [p for p in model.parameters()]
    opt = torch.optim.AdamW(params, lr=5e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01,
                            foreach=None if a.foreach < 0 else bool(a.foreach))
    T = S
    for layer in model.feature_extractor.conv_layers:
        T = (T - layer.kernel_size) // layer.stride + 1

    def make_batch():  # the untimed "data loader"
        wave = 0.1 * torch.randn(a.batch, S)
        labels = torch.randint(0, a.vocab, (a.batch, T))
        cqt = torch.randn(a.batch, T, 336).abs()
        mask = _compute_mask_indices((a.batch, T), None, 0.8, 5, "static", 0.0, min_masks=2)
        return wave, labels, cqt, mask

    rows, masked = [], []
    for step in range(a.warmup + a.steps):
        wave, labels, cqt, mask = make_batch()
        prof = torch.autograd.profiler.profile() if a.profile and step == a.warmup else None
        if prof:
            prof.__enter__()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16"):
            hidden, pen = model.encode(wave, mask)
            with torch.autocast("cpu", enabled=False):  # heads and logits in float32, as ours
                loss, n, ce, mse, correct = model.loss(hidden, mask, labels, cqt, pen)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.grad.div_(n)
        gnorm = torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        t3 = time.perf_counter()
        if prof:
            prof.__exit__(None, None, None)
            prof.export_chrome_trace(a.profile)
        r = {"ms": 1000 * (t3 - t0), "forward": 1000 * (t1 - t0), "backward": 1000 * (t2 - t1),
             "optim": 1000 * (t3 - t2), "layers_run": model.layers_run}
        timed = step >= a.warmup
        print(f"{'update' if timed else 'warm-up'} {step + 1}: {r['ms']:.0f} ms (fwd {r['forward']:.0f} "
              f"bwd {r['backward']:.0f} opt {r['optim']:.0f}) | loss/n {loss.item() / n:.4f} "
              f"(ce {ce.item() / n:.3f} mse {mse.item():.3f} pen {pen.item():.4f}) | gnorm {gnorm.item():.3g} | "
              f"masked {n}/{mask.numel()} | layers {model.layers_run}", file=sys.stderr)
        if timed:
            rows.append(r)
            masked.append(n / mask.numel())
    ms = [r["ms"] for r in rows]
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}
    med = statistics.median(ms)
    print(json.dumps({
        "impl": "pytorch", "dtype": a.dtype, "threads": a.threads, "batch": a.batch, "sec": a.sec,
        "steps": a.steps, "warmup": a.warmup, "ms_median": med, "ms_min": min(ms), "ms_max": max(ms),
        "ms_forward_median": statistics.median(r["forward"] for r in rows),
        "ms_backward_median": statistics.median(r["backward"] for r in rows),
        "ms_optim_median": statistics.median(r["optim"] for r in rows),
        "audio_sec_per_sec": a.batch * a.sec / (med / 1000.0),
        "masked_fraction": statistics.mean(masked), "layers_run": [r["layers_run"] for r in rows],
        "layerdrop": a.layerdrop, "foreach": a.foreach, "norm_out": a.norm_out, "torch": torch.__version__, "env": env}))


if __name__ == "__main__":
    main()
