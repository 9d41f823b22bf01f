#!/usr/bin/python3
"""Golden parity test: the C++ `mert embed` tool against the torchaudio-based oracle.

For each scenario: tests/oracle/make_model.py writes a random-weight HF-layout model dir, test
WAVs and the expected hidden states (float64 -> float32 .npy); then `$MERT_BIN embed` runs on
the WAVs once per weight format, and every hidden state l must satisfy

    max|ours_l - oracle_l| <= 1e-4 * max|oracle_l|          (the acceptance criterion)

Runs with several weight formats of one scenario must also agree with each other (<= 1e-6).

Usage:
  MERT_BIN=build/tools/mert/mert /usr/bin/python3 tests/golden/test_parity.py [--scenario NAME ...]
  /usr/bin/python3 tests/golden/test_parity.py --list
  /usr/bin/python3 tests/golden/test_parity.py --self-check [--scenario NAME]   # no C++ tool needed
Without --scenario all non-slow scenarios run; --all adds the slow (full-size) ones.
Exit status 1 on any failure (including a missing torchaudio or tool), 0 otherwise.
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError as e:  # fail loudly: wrong interpreter (the pyenv python3 has no numpy/torch)
    print(f"FAIL  {sys.executable} cannot import numpy ({e}); run with /usr/bin/python3 (ORACLE_PYTHON)")
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_MODEL = os.path.join(HERE, "..", "oracle", "make_model.py")
TOL = 1e-4          # acceptance: per hidden state, max abs err <= TOL * max|oracle|
FORMAT_TOL = 1e-6   # two weight formats holding identical weights must give (nearly) identical output
WEIGHT_FILES = {"safetensors": "model.safetensors", "bin": "pytorch_model.bin"}

Run = collections.namedtuple("Run", "layers pool")
FULL = Run("all", "none")


class Scenario:
    def __init__(self, name, desc, make_args, formats, runs=(FULL,), slow=False, timeout=600, tool_model=None):
        self.name, self.desc, self.make_args = name, desc, list(make_args)
        self.formats, self.runs, self.slow, self.timeout = list(formats), list(runs), slow, timeout
        self.tool_model = tool_model  # run the tool on this dir (the shipped files) instead of the oracle's copy


TINY = ["--size", "tiny", "--seed", "11"]
SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "mert-synth-small")
SHORT_CLIPS = "clip_1s7:40123,clip_12345:12345,clip_401:401"  # full-size models: float64 oracle is slow
SCENARIOS = collections.OrderedDict((s.name, s) for s in [
    Scenario("postln-tiny", "post-LN (v1-95M style), GroupNorm extractor, do_normalize=1, f32 safetensors+bin",
             TINY + ["--encoder", "postln", "--do-normalize", "1"], ["safetensors", "bin"]),
    Scenario("postln-tiny-nonorm", "post-LN, do_normalize=0, 16-bit PCM WAV input",
             TINY + ["--encoder", "postln", "--do-normalize", "0", "--wav-format", "pcm16", "--seed", "12"],
             ["safetensors"]),
    Scenario("preln-tiny", "pre-LN (v1-330M style, attention_relax 32), do_normalize=0, f32 safetensors+bin",
             TINY + ["--encoder", "preln", "--do-normalize", "0", "--seed", "13"], ["safetensors", "bin"]),
    Scenario("tiny-layer-nonstd",
             "LayerNorm extractor + conv bias, non-standard 4-layer conv stack (24/32/40/48 ch, k 11/5/3/3, "
             "s 5/3/2/2), odd pos-conv kernel 15 with 8 groups, 2 heads, pre-LN",
             TINY + ["--encoder", "preln", "--feat-extract-norm", "layer", "--conv-bias", "1",
                     "--conv-dim", "24,32,40,48", "--conv-kernel", "11,5,3,3", "--conv-stride", "5,3,2,2",
                     "--pos-conv-kernel", "15", "--pos-conv-groups", "8", "--layers", "2", "--heads", "2",
                     "--do-normalize", "1", "--seed", "14", "--clips", SHORT_CLIPS], ["safetensors"]),
    Scenario("postln-tiny-deepnorm", "post-LN with DeepNorm residuals (alpha=(2L)^(1/4)), safetensors+bin",
             TINY + ["--encoder", "postln", "--deepnorm", "1", "--seed", "19"], ["safetensors", "bin"]),
    Scenario("tiny-f16", "post-LN, weights stored as F16 in safetensors (oracle uses the rounded weights)",
             TINY + ["--encoder", "postln", "--dtype", "f16", "--seed", "15"], ["safetensors"]),
    Scenario("tiny-bf16", "pre-LN, weights stored as BF16 in safetensors (oracle uses the rounded weights)",
             TINY + ["--encoder", "preln", "--dtype", "bf16", "--seed", "16"], ["safetensors"]),
    Scenario("tiny-pool-layers", "post-LN; --layers 3,0,1 (order kept), --pool mean (all and 0,2)",
             TINY + ["--encoder", "postln", "--do-normalize", "1", "--seed", "17"], ["safetensors"],
             runs=[Run("3,0,1", "none"), Run("all", "mean"), Run("0,2", "mean")]),
    Scenario("tiny-bin-shared-storage",
             "pytorch_model.bin whose tensors are views into shared storages (non-zero storage offsets)",
             TINY + ["--encoder", "postln", "--bin-shared-storage", "1", "--seed", "18"], ["bin"]),
    Scenario("shipped-default", "the shipped trained model (models/mert-synth-small, BF16 weights) loaded "
             "by the tool from its own files; the oracle uses the same weights",
             ["--weights-from", SHIPPED_MODEL, "--seed", "31", "--clips", SHORT_CLIPS], ["safetensors"],
             tool_model=SHIPPED_MODEL),
    Scenario("v1-95m", "full MERT-v1-95M geometry (12x768, post-LN), do_normalize=1, safetensors+bin",
             ["--size", "v1-95m", "--seed", "21", "--do-normalize", "1", "--clips", SHORT_CLIPS],
             ["safetensors", "bin"], slow=True, timeout=3600),
    Scenario("v1-330m", "full MERT-v1-330M geometry (24x1024, pre-LN), do_normalize=0, safetensors+bin",
             ["--size", "v1-330m", "--seed", "22", "--do-normalize", "0", "--clips", SHORT_CLIPS],
             ["safetensors", "bin"], slow=True, timeout=7200),
])


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def line(self, ok, text):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(("PASS  " if ok else "FAIL  ") + text, flush=True)


def select(expected, run):
    """Oracle for one tool run: hidden-state selection (in the given order), optional mean over T."""
    L1 = expected.shape[0]
    idx = list(range(L1)) if run.layers == "all" else [int(v) for v in run.layers.split(",")]
    ref = expected[idx].astype(np.float64)
    if run.pool == "mean":
        ref = ref.mean(axis=1)
    return ref, idx


def compare(ours, ref):
    """-> (ok, worst ratio, index of worst hidden state, message). Ratio = max err / max|oracle| per state."""
    if ours.shape != ref.shape:
        return False, float("inf"), -1, f"shape {ours.shape} != expected {ref.shape}"
    if ours.dtype != np.float32:
        return False, float("inf"), -1, f"dtype {ours.dtype}, contract says float32"
    if not np.all(np.isfinite(ours)):
        return False, float("inf"), -1, "non-finite values"
    worst, worst_l = 0.0, 0
    for l in range(ref.shape[0]):
        scale = np.abs(ref[l]).max()
        err = np.abs(ours[l].astype(np.float64) - ref[l]).max()
        ratio = err / scale if scale > 0 else err
        if ratio > worst:
            worst, worst_l = ratio, l
    return worst <= TOL, worst, worst_l, ""


# ----------------------------------------------------------------------------------------------
def make_model(scn, workdir):
    out = os.path.join(workdir, "model")
    cmd = [sys.executable, MAKE_MODEL, "--out", out, "--formats", ",".join(scn.formats), "--quiet"] + scn.make_args
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout + r.stderr)
        raise RuntimeError(f"make_model.py failed (exit {r.returncode}): {' '.join(cmd)}")
    with open(os.path.join(out, "expected", "manifest.json")) as f:
        manifest = json.load(f)
    print(f"# {scn.name}: oracle generated in {time.time() - t0:.1f}s ({manifest['num_parameters']} params, "
          f"{len(manifest['clips'])} clips) in {out}", flush=True)
    return out, manifest


def format_dir(model_dir, fmt):
    """A model dir holding only one weight format (symlinks), so the tool cannot pick the other."""
    d = model_dir + "_" + fmt
    os.makedirs(d, exist_ok=True)
    for name in ("config.json", "preprocessor_config.json", WEIGHT_FILES[fmt]):
        link = os.path.join(d, name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(model_dir, name), link)
    return d


def run_tool(tool, model_dir, out_dir, run, wavs, timeout):
    cmd = tool + ["embed", "-m", model_dir, "-o", out_dir, "--layers", run.layers, "--pool", run.pool,
                  "--chunk-sec", "0"] + wavs
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout}s: {' '.join(cmd)}", time.time() - t0
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {' '.join(cmd)}\n{r.stdout}{r.stderr}", time.time() - t0
    return True, "", time.time() - t0


def fake_tool_main(argv, noise=1e-6):
    """Stand-in for the C++ tool in --self-check: serves the oracle's expected outputs (plus
    relative noise), applying --layers/--pool exactly as the contract says."""
    a = argparse.ArgumentParser()
    a.add_argument("cmd")
    a.add_argument("-m")
    a.add_argument("-o")
    a.add_argument("--layers")
    a.add_argument("--pool")
    a.add_argument("--chunk-sec")
    a.add_argument("wavs", nargs="+")
    a = a.parse_args(argv)
    expected_dir = os.path.join(os.path.realpath(os.path.join(a.m, "config.json")).rsplit("/", 1)[0], "expected")
    os.makedirs(a.o, exist_ok=True)
    rng = np.random.default_rng(0)
    for w in a.wavs:
        stem = os.path.splitext(os.path.basename(w))[0]
        ref, _ = select(np.load(os.path.join(expected_dir, stem + ".npy")), Run(a.layers, a.pool))
        out = ref * (1 + noise * rng.standard_normal(ref.shape))
        np.save(os.path.join(a.o, stem + ".npy"), out.astype(np.float32))


def comparator_self_test(res, manifest, model_dir):
    """The comparison must be able to fail: inject errors just above the tolerance."""
    clip = max(manifest["clips"], key=lambda c: c["frames"])
    exp = np.load(os.path.join(model_dir, "expected", clip["name"] + ".npy"))
    ref = exp.astype(np.float64)
    for l in (0, exp.shape[0] - 1):
        bad = exp.copy()
        bad[l, exp.shape[1] // 2, 3] += 2 * TOL * np.abs(exp[l]).max()
        ok, worst, wl, _ = compare(bad, ref)
        res.line(not ok and wl == l, f"self-check comparator rejects a 2e-4 error in hs[{l}] (worst={worst:.2e})")
    ok, worst, _, _ = compare(exp, ref)
    res.line(ok and worst == 0.0, "self-check comparator accepts the oracle itself")
    for bad, what in ((exp[:, :-1] if exp.shape[1] > 1 else exp[:-1], "a wrong shape"),
                      (exp.astype(np.float64), "float64 output"),
                      (np.where(np.arange(exp.shape[2]) == 0, np.nan, exp).astype(np.float32), "NaN")):
        ok, _, _, msg = compare(bad, ref)
        res.line(not ok, f"self-check comparator rejects {what} ({msg})")


def check_manifest(res, scn, manifest, model_dir):
    """Shapes and frame counts of the oracle files against the conv length formula."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    for c in manifest["clips"]:
        n = c["samples"]
        for k, s in zip(cfg["conv_kernel"], cfg["conv_stride"]):
            n = (n - k) // s + 1
        exp = np.load(os.path.join(model_dir, "expected", c["name"] + ".npy"), mmap_mode="r")
        shape = (cfg["num_hidden_layers"] + 1, n, cfg["hidden_size"])
        ok = exp.shape == shape and tuple(c["shape"]) == shape and c["frames"] == n and exp.dtype == np.float32
        res.line(ok, f"{scn.name:24s} {c['name']:12s} oracle shape {tuple(exp.shape)} T={c['frames']} "
                     f"(formula {n}), layer rms {min(c['layer_rms']):.2f}..{max(c['layer_rms']):.2f}")


def run_scenario(scn, args, res):
    if args.workdir:
        workdir = os.path.join(args.workdir, scn.name)
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
    else:
        workdir = tempfile.mkdtemp(prefix=f"mert_golden_{scn.name}_")
    failed_before = res.failed
    try:
        model_dir, manifest = make_model(scn, workdir)
    except RuntimeError as e:
        res.line(False, f"{scn.name}: {e}")
        return
    wavs = [os.path.join(model_dir, c["wav"]) for c in manifest["clips"]]
    if args.self_check:
        check_manifest(res, scn, manifest, model_dir)
        comparator_self_test(res, manifest, model_dir)

    for ri, run in enumerate(scn.runs):
        outputs = {}
        for fmt in scn.formats:
            out_dir = os.path.join(workdir, f"out_{fmt}_{ri}")
            mdir = scn.tool_model or format_dir(model_dir, fmt)
            if args.self_check:
                t0 = time.time()
                fake_tool_main(["embed", "-m", mdir, "-o", out_dir, "--layers", run.layers, "--pool", run.pool,
                                "--chunk-sec", "0"] + wavs)
                ok, msg, secs = True, "", time.time() - t0
            else:
                ok, msg, secs = run_tool(args.tool, mdir, out_dir, run, wavs, scn.timeout)
            tag = f"{scn.name:24s} {{clip:12s}} {fmt:11s} layers={run.layers} pool={run.pool}"
            if not ok:
                res.line(False, tag.format(clip="(all)") + f" tool failed: {msg}")
                continue
            print(f"# tool {fmt} layers={run.layers} pool={run.pool}: {secs:.1f}s", flush=True)
            for c in manifest["clips"]:
                path = os.path.join(out_dir, c["name"] + ".npy")
                ref, idx = select(np.load(os.path.join(model_dir, c["expected"])), run)
                if not os.path.exists(path):
                    res.line(False, tag.format(clip=c["name"]) + f" missing output {path}")
                    continue
                ours = np.load(path)
                outputs[(fmt, c["name"])] = ours
                good, worst, wl, msg = compare(ours, ref)
                where = f"hs[{idx[wl]}]" if wl >= 0 else ""
                res.line(good, tag.format(clip=c["name"]) + f" shape={ours.shape} worst={worst:.2e} {where} {msg}")
        # the same weights in different file formats must give the same result
        for fmt in scn.formats[1:]:
            for c in manifest["clips"]:
                a, b = outputs.get((scn.formats[0], c["name"])), outputs.get((fmt, c["name"]))
                if a is None or b is None or a.shape != b.shape:
                    continue  # already reported above
                ref, _ = select(np.load(os.path.join(model_dir, c["expected"])), run)
                worst = max(np.abs(a[l].astype(np.float64) - b[l]).max() / np.abs(ref[l]).max()
                            for l in range(a.shape[0]))
                same = " (bitwise identical)" if np.array_equal(a, b) else ""
                res.line(worst <= FORMAT_TOL, f"{scn.name:24s} {c['name']:12s} {fmt}=={scn.formats[0]} "
                                              f"layers={run.layers} pool={run.pool} worst={worst:.2e}{same}")

    if res.failed == failed_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"# {scn.name}: work dir kept: {workdir}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", action="append", help="run only this scenario (repeatable)")
    p.add_argument("--all", action="store_true", help="also run the slow full-size scenarios")
    p.add_argument("--list", action="store_true", help="list scenarios and exit")
    p.add_argument("--self-check", action="store_true",
                   help="validate the oracle and the comparison without the C++ tool (a fake tool serves "
                        "the oracle's own outputs with 1e-6 noise; comparator must reject injected errors)")
    p.add_argument("--mert-bin", default=os.environ.get("MERT_BIN"), help="default: $MERT_BIN")
    p.add_argument("--workdir", help="put work dirs here instead of a fresh temp dir")
    p.add_argument("--keep", action="store_true", help="keep work dirs even when passing")
    args = p.parse_args()

    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:24s} {'slow' if s.slow else 'golden':6s} {','.join(s.formats):17s} {s.desc}")
        return 0
    names = args.scenario or [n for n, s in SCENARIOS.items() if args.all or not s.slow]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {unknown}; use --list", file=sys.stderr)
        return 1

    # fail loudly (never skip) when the oracle's dependencies are missing
    r = subprocess.run([sys.executable, "-c", "import torch, torchaudio, numpy"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL  oracle interpreter {sys.executable} cannot import torch/torchaudio/numpy:\n{r.stderr}"
              "Install python3-torch/python3-torchaudio (scripts/install-deps.sh) and run with /usr/bin/python3.")
        print("0 passed, 1 failed")
        return 1
    if not args.self_check:
        if not args.mert_bin or not os.access(args.mert_bin, os.X_OK):
            print(f"FAIL  MERT_BIN is not an executable: {args.mert_bin!r} (set MERT_BIN or --mert-bin)")
            print("0 passed, 1 failed")
            return 1
        args.tool = [args.mert_bin]

    res = Results()
    t0 = time.time()
    for n in names:
        run_scenario(SCENARIOS[n], args, res)
    print(f"# total {time.time() - t0:.1f}s")
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
