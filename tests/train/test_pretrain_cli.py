#!/usr/bin/env python3
"""CLI checks for `mert pretrain` / `mert export` on a small synthetic corpus with k-means labels:
SIGKILL + --resume ends bitwise identical to an uninterrupted run; two workers with half the
batch each end with the parameters of one worker with the whole batch; bad input gives clear
errors; a non-finite loss skips the update; the exported model dir loads in `mert embed`.
Needs MERT_BIN; numpy only."""
import glob
import json, os, shutil, signal, struct, subprocess, sys, tempfile, time
import numpy as np

MERT = os.environ["MERT_BIN"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(*args, env=None):
    p = subprocess.run([MERT, *args], capture_output=True, text=True, env=env)
    return p


def must(p, what):
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"setup failed: {what}")
    return p


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        if info["dtype"] == "BF16":  # the top half of a float32
            bits = np.frombuffer(data[a:b], dtype="<u2").astype(np.uint32) << 16
            out[name] = bits.view(np.float32).reshape(info["shape"])
            continue
        dt = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}[info["dtype"]]
        out[name] = np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"])
    return out


tmp = tempfile.mkdtemp(prefix="mert_pretrain_")
os.chdir(tmp)

# A small corpus (4 s pieces) and MFCC k-means labels, as a user would make them.
must(run("synth", "corpus", "-o", "corpus", "--hours", "0.02", "--sec", "4", "--wav", "-s", "3"), "synth corpus")
must(run("label", "fit", "--feature", "mfcc", "--clusters", "8", "-o", "km.safetensors", "--sample-frames", "3000",
         "corpus/train.tsv"), "label fit")
must(run("label", "apply", "--codebook", "km.safetensors", "-o", "labels", "--name", "km",
         "corpus/train.tsv", "corpus/valid.tsv"), "label apply")

FAST = ["--preset", "tiny", "--manifest", "corpus", "--labels", "labels", "--label-names", "km",
        "--crop-samples", "24000", "--min-samples", "24000", "--batch-size", "4", "--warmup-steps", "3",
        "--log-every", "1", "--save-every", "3", "--valid-every", "0"]


def pretrain(out, *extra, threads="1"):
    return run("pretrain", *FAST, "--out", out, "--threads", threads, *extra)


def log_updates(run_dir):
    path = os.path.join(run_dir, "log.jsonl")
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line being written
    return rows


# 1. Uninterrupted reference run (dropout, LayerDrop and mixup all on: every random draw counts).
STEPS = "10"
p = pretrain("ref", "--steps", STEPS, "--layerdrop", "0.2", "--mixup-prob", "0.5")
check(p.returncode == 0, "uninterrupted run succeeds")
if p.returncode:
    print(p.stderr)
ref_rows = [r for r in log_updates("ref") if "loss" in r]
check([r["update"] for r in ref_rows] == list(range(1, 11)), "log.jsonl has one row per update 1..10")
check(all(np.isfinite(r["loss"]) and r["ms"]["total"] > 0 and "km" in r["accuracy"] for r in ref_rows),
      "log rows carry loss, accuracy per codebook and phase times")

# 2. The same run killed with SIGKILL twice at different points, resumed each time.
killed_at = []
args = ["pretrain", *FAST, "--out", "resumed", "--threads", "1", "--steps", STEPS, "--layerdrop", "0.2",
        "--mixup-prob", "0.5"]
for target in (5, 8):
    cmd = [MERT, *args] + (["--resume"] if killed_at else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        done = [r["update"] for r in log_updates("resumed") if "loss" in r]
        if done and max(done) >= target:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at.append(max([r["update"] for r in log_updates("resumed") if "loss" in r] or [0]))
p = run(*args, "--resume")
check(p.returncode == 0, f"resume after SIGKILL at updates {killed_at} succeeds")
if p.returncode:
    print(p.stderr)
check("resumed resumed at update" in p.stderr, "resume starts from the last checkpoint")
a = open("ref/checkpoints/last.safetensors", "rb").read()
b = open("resumed/checkpoints/last.safetensors", "rb").read()
check(a == b, "final checkpoint (weights, optimiser state, metadata) bitwise equal to the uninterrupted run")
res_rows = [r for r in log_updates("resumed") if "loss" in r]
check([r["update"] for r in res_rows] == list(range(1, 11)), "resumed log.jsonl reads as one run (each update once)")
check([r["loss"] for r in res_rows] == [r["loss"] for r in ref_rows], "resumed run logged the same losses")
check(not [f for f in os.listdir("resumed/checkpoints") if ".tmp" in f], "no temp files left behind")

# 3. Two workers with half the batch each == one worker with the whole batch (no dropout/mixup).
DET = ["--steps", "4", "--mixup-prob", "0", "--hidden-dropout", "0", "--attention-dropout", "0",
       "--activation-dropout", "0", "--feat-proj-dropout", "0", "--layerdrop", "0"]
p1 = pretrain("one", *DET, "--nproc", "1")
p2 = pretrain("two", *DET, "--nproc", "2")
check(p1.returncode == 0 and p2.returncode == 0, "one-worker and two-worker runs succeed")
if p2.returncode:
    print(p2.stderr)
check("2 worker(s) (gloo)" in p2.stderr, "the two-worker run uses Gloo")
if p1.returncode == 0 and p2.returncode == 0:
    w1 = read_safetensors("one/checkpoints/last.safetensors")
    w2 = read_safetensors("two/checkpoints/last.safetensors")
    params = [k for k in w1 if k.startswith("model/") or k.startswith("heads/")]
    worst = max(float(np.max(np.abs(w1[k].astype(np.float64) - w2[k]))) for k in params)
    print(f"     max |param(1 worker) - param(2 workers)| after 4 updates = {worst:.3g}")
    check(set(w1) == set(w2) and worst <= 1e-5, "two workers end with the same parameters (tolerance 1e-5)")
    l1 = [r["loss"] for r in log_updates("one") if "loss" in r]
    l2 = [r["loss"] for r in log_updates("two") if "loss" in r]
    check(np.allclose(l1, l2, rtol=1e-5), "two workers log the same losses as one")

# 3a. The fast training paths (mert's attention products and time-major front-end convs, forward
# and backward, 2 threads) train like the reference path (libtorch's bmm and conv1d through its
# own autograd: MERT_BMM=libtorch MERT_CONV_TRAIN=libtorch).
p_ref = run("pretrain", *FAST, "--out", "bmm_ref", "--threads", "1", *DET,
            env={**os.environ, "MERT_BMM": "libtorch", "MERT_CONV_TRAIN": "libtorch"})
p_fast = pretrain("bmm_fast", *DET, threads="2")
check(p_ref.returncode == 0 and p_fast.returncode == 0, "reference-path and fast-path runs succeed")
if p_ref.returncode or p_fast.returncode:
    print(p_ref.stderr[-800:], p_fast.stderr[-800:])
if p_ref.returncode == 0 and p_fast.returncode == 0:
    lr_ = [r["loss"] for r in log_updates("bmm_ref") if "loss" in r]
    lf_ = [r["loss"] for r in log_updates("bmm_fast") if "loss" in r]
    print(f"     losses reference {lr_}\n     losses fast      {lf_}")
    check(len(lr_) == 4 and np.allclose(lr_, lf_, rtol=1e-5), "fast paths log the reference losses (rtol 1e-5)")
    wr = read_safetensors("bmm_ref/checkpoints/last.safetensors")
    wf = read_safetensors("bmm_fast/checkpoints/last.safetensors")
    params = [k for k in wr if k.startswith("model/") or k.startswith("heads/")]
    worst = max(float(np.max(np.abs(wr[k].astype(np.float64) - wf[k]))) for k in params)
    print(f"     max |param(reference path) - param(fast paths)| after 4 updates = {worst:.3g}")
    check(worst <= 1e-5, "fast paths end with the reference parameters (tolerance 1e-5)")

# 3b. bf16 autocast trains too (finite losses, weights stay float32).
p = pretrain("bf16", "--steps", "2", "--dtype", "bf16")
rows = [r for r in log_updates("bf16") if "loss" in r]
check(p.returncode == 0 and len(rows) == 2 and all(np.isfinite(r["loss"]) and not r["skipped"] for r in rows),
      "--dtype bf16 trains with finite losses")

# 4. Export -> a model dir `mert embed` loads, without the training heads.
p = run("export", "ref", "exported")
check(p.returncode == 0 and os.path.exists("exported/model.safetensors"), "mert export writes a model dir")
if p.returncode == 0:
    names = read_safetensors("exported/model.safetensors").keys()
    check(not [n for n in names if n.startswith(("final_proj", "label_embs", "cqt_head"))],
          "exported weights carry no pre-training heads")
    ck = read_safetensors("ref/checkpoints/last.safetensors")
    ex = read_safetensors("exported/model.safetensors")
    check(all(np.array_equal(ex[n], ck["model/" + n]) for n in ex), "exported weights equal the checkpoint's")
    clip = os.path.join("corpus", open("corpus/valid.tsv").read().splitlines()[1].split("\t")[0])
    p = run("embed", "-m", "exported", "-o", "emb", clip)
    check(p.returncode == 0 and any(f.endswith(".npy") for f in os.listdir("emb")), "mert embed loads the export")

# 4b. keep_every keeps checkpoints along the way; export --update picks one; --weight-dtype bf16.
p = pretrain("kept", "--steps", "7", "--keep-every", "3")
kept = sorted(f for f in os.listdir("kept/checkpoints") if f.startswith("update_"))
check(p.returncode == 0 and kept == ["update_0000003.safetensors", "update_0000006.safetensors"],
      f"keep_every 3 keeps updates 3 and 6 ({kept})")
p = run("export", "kept", "at3", "--update", "3")
check(p.returncode == 0, "export --update 3 succeeds")
if p.returncode == 0:
    ck3 = read_safetensors("kept/checkpoints/update_0000003.safetensors")
    last = read_safetensors("kept/checkpoints/last.safetensors")
    ex3 = read_safetensors("at3/model.safetensors")
    check(all(np.array_equal(ex3[n], ck3["model/" + n]) for n in ex3), "export --update 3 has update 3's weights")
    check(any(not np.array_equal(ex3[n], last["model/" + n]) for n in ex3), "...which differ from the last checkpoint's")
p = run("export", "kept", "at4", "--update", "4")
check(p.returncode != 0 and "keep_every" in p.stderr and not os.path.exists("at4"),
      "export --update of a checkpoint not kept is refused, naming keep_every")
p = pretrain("badkeep", "--steps", "2", "--keep-every", "4")
check(p.returncode != 0 and "multiple of save_every" in p.stderr, "keep_every must be a multiple of save_every")
p = run("export", "ref", "exported16", "--weight-dtype", "bf16")
check(p.returncode == 0, "export --weight-dtype bf16 succeeds")
if p.returncode == 0:
    ex16 = read_safetensors("exported16/model.safetensors")
    ex32 = read_safetensors("exported/model.safetensors")
    rel = max(float(np.max(np.abs(ex16[n] - ex32[n]) / (np.abs(ex32[n]) + 1e-30))) for n in ex32 if ex32[n].dtype == np.float32)
    check(set(ex16) == set(ex32) and rel <= 2 ** -8, f"bf16 weights are the fp32 ones rounded (max rel {rel:.2g})")
    size16, size32 = os.path.getsize("exported16/model.safetensors"), os.path.getsize("exported/model.safetensors")
    check(size16 < 0.55 * size32, f"bf16 file is half the size ({size16} vs {size32} bytes)")
    p16 = run("embed", "-m", "exported16", "-o", "emb16", clip)
    check(p16.returncode == 0, "mert embed loads the bf16 export")
    if p16.returncode == 0:
        a32 = np.load(glob.glob("emb/**/*.npy", recursive=True)[0]).ravel()
        a16 = np.load(glob.glob("emb16/**/*.npy", recursive=True)[0]).ravel()
        cos = float(a32 @ a16 / (np.linalg.norm(a32) * np.linalg.norm(a16)))
        check(cos > 0.999, f"bf16-stored weights give the fp32 export's features (cosine {cos:.6f})")

# 5. Bad input gives a clear error and leaves no run behind.
def refused(what, args, needle):
    p = run("pretrain", *args)
    ok = p.returncode != 0 and needle in p.stderr
    check(ok, f"refused: {what}")
    if not ok:
        print("     stderr:", p.stderr.strip()[-400:])


shutil.copytree("labels", "bad_len")
lines = open("bad_len/train.km").read().splitlines()
lines[2] = " ".join(lines[2].split()[:-1])
open("bad_len/train.km", "w").write("\n".join(lines) + "\n")
# FAST[0:2] preset, [2:4] manifest, [4:6] labels, [6:8] label names, [8:] settings
refused("labels shorter than the audio",
        [*FAST[:4], "--labels", "bad_len", *FAST[6:], "--out", "bad1", "--steps", "1"], "train.km:3")
refused("missing label file", [*FAST[:6], "--label-names", "nope", *FAST[8:], "--out", "bad2", "--steps", "1"],
        "dict.nope.txt")
os.makedirs("corpus_missing")
manifest = open("corpus/train.tsv").read().splitlines()
manifest[0] = os.path.abspath("corpus_missing")
open("corpus_missing/train.tsv", "w").write("\n".join(manifest) + "\n")
refused("manifest pointing at missing files",
        [*FAST[:2], "--manifest", "corpus_missing", *FAST[4:], "--out", "bad3", "--steps", "1"], "do not exist")
refused("existing run without --resume", [*FAST, "--out", "ref", "--steps", "12"], "--resume")
refused("resume with changed settings", [*FAST, "--out", "ref", "--steps", "12", "--resume", "--lr", "0.1"], "lr")
refused("unknown setting", [*FAST, "--out", "bad4", "--no-such-setting", "1"], "no-such-setting")
refused("batch not divisible by workers", [*FAST, "--out", "bad5", "--batch-size", "3", "--nproc", "2"], "divisible")

# 6. A non-finite loss skips the update and says so (an absurd learning rate blows the weights up).
p = pretrain("nan", "--steps", "4", "--lr", "1e30", "--warmup-steps", "0", "--clip-norm", "0")
rows = [r for r in log_updates("nan") if "loss" in r]
check(p.returncode == 0 and "update skipped" in p.stderr and any(r["skipped"] for r in rows),
      "non-finite loss: the update is skipped and reported")

shutil.rmtree(tmp, ignore_errors=True)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
