#!/usr/bin/env python3
"""Restarts of `mert pretrain` (docs/RELIABILITY.md, "Restarts and resuming"): a job that is always
launched with --resume, SIGKILLed at random points -- before anything is written, before its first
checkpoint, during and between checkpoints -- ends with the final checkpoint (weights, optimiser
state, metadata) byte-identical to an uninterrupted run, its log.jsonl reading as one run, and no
temp files left. A run first launched without --resume and killed before its first checkpoint
restarts with --resume too. Half-made state a kill can leave (a partial last line in log.jsonl,
temp files of a checkpoint being written) is planted explicitly, since random kills rarely hit it.

Kill times are random; MERT_RESTART_SEED=<n> repeats a seed's schedule (the points still move with
the machine's speed). Needs MERT_BIN; numpy not needed."""
import json, os, random, shutil, signal, subprocess, sys, tempfile, time

MERT = os.environ["MERT_BIN"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def must(args, what):
    p = subprocess.run([MERT, *args], capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"setup failed: {what}")


def log_rows(run_dir):
    path = os.path.join(run_dir, "log.jsonl")
    rows = []
    if os.path.exists(path):
        for line in open(path, errors="replace"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line being written
    return [r for r in rows if isinstance(r, dict) and "loss" in r]


def checkpoint(run_dir):
    return os.path.join(run_dir, "checkpoints", "last.safetensors")


def checkpoint_update(run_dir):
    """The update count in the checkpoint's metadata, or None without a checkpoint."""
    try:
        with open(checkpoint(run_dir), "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            meta = json.loads(f.read(n))["__metadata__"]
        return json.loads(meta["mert_pretrain_state"])["update"]
    except (OSError, KeyError, ValueError):
        return None


def temp_files(run_dir):
    out = []
    for d, _, files in os.walk(run_dir):
        out += [os.path.join(d, f) for f in files if ".tmp" in f]
    return out


seed = int(os.environ.get("MERT_RESTART_SEED", random.SystemRandom().randrange(1 << 30)))
rng = random.Random(seed)
print(f"kill schedule seed {seed} (MERT_RESTART_SEED={seed} repeats it)", flush=True)

tmp = tempfile.mkdtemp(prefix="mert_restart_")
os.chdir(tmp)
must(["synth", "corpus", "-o", "corpus", "--hours", "0.02", "--sec", "4", "--wav", "-s", "3"], "synth corpus")
must(["label", "fit", "--feature", "mfcc", "--clusters", "8", "-o", "km.safetensors", "--sample-frames", "3000",
      "corpus/train.tsv"], "label fit")
must(["label", "apply", "--codebook", "km.safetensors", "-o", "labels", "--name", "km", "--jobs", "1",
      "corpus/train.tsv"], "label apply")

# Dropout, LayerDrop and mixup on: every random draw counts. Checkpoints at 4, 8 and 10.
STEPS, SAVE = 10, 4
SETTINGS = ["--preset", "tiny", "--manifest", "corpus", "--labels", "labels", "--label-names", "km",
            "--crop-samples", "24000", "--min-samples", "24000", "--batch-size", "4", "--warmup-steps", "3",
            "--log-every", "1", "--save-every", str(SAVE), "--valid-every", "0", "--threads", "1",
            "--steps", str(STEPS), "--layerdrop", "0.2", "--mixup-prob", "0.5"]


def command(out, resume=True):
    return [MERT, "pretrain", *SETTINGS, "--out", out] + (["--resume"] if resume else [])


# 1. The uninterrupted run.
t0 = time.time()
p = subprocess.run(command("ref", resume=False), capture_output=True, text=True)
run_sec = time.time() - t0
if p.returncode != 0:
    print(p.stderr)
    raise SystemExit("setup failed: the uninterrupted run")
ref_bytes = open(checkpoint("ref"), "rb").read()
ref_losses = [r["loss"] for r in log_rows("ref")]
update_sec = sum(r["ms"]["total"] for r in log_rows("ref")) / 1000 / STEPS
startup_sec = max(0.0, run_sec - STEPS * update_sec)
print(f"     uninterrupted run: {run_sec:.1f} s ({startup_sec:.1f} s start-up, {STEPS} x {update_sec:.2f} s)",
      flush=True)


def launch(out, resume=True):
    return subprocess.Popen(command(out, resume), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill(proc, out, when):
    """SIGKILLs `proc` once when(out) holds (polled every 10 ms) or it exits; returns where it was."""
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline and not when(out):
        time.sleep(0.01)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    err = proc.communicate()[1]
    logged = [r["update"] for r in log_rows(out)]
    return {"finished": finished, "stderr": err, "checkpoint": checkpoint_update(out),
            "logged": max(logged) if logged else 0,
            "temps": [f for f in temp_files(out) if not f.endswith(PLANTED)]}  # left by this kill


def after(seconds):
    t = time.time() + seconds
    return lambda out: time.time() >= t


def logged_at_least(n):
    return lambda out: any(r["update"] >= n for r in log_rows(out))


def at_update(u, delay):
    """True `delay` seconds after log.jsonl first shows update u."""
    seen = []

    def when(out):
        if not seen and logged_at_least(u)(out):
            seen.append(time.time())
        return bool(seen) and time.time() >= seen[0] + delay
    return when


PLANTED = ".tmp.4194301"  # a pid no live process has here


def plant_half_made_state(out):
    """What a SIGKILL in the middle of a write leaves: a cut log line and the temp files of a
    checkpoint, of config.json and of log.jsonl being written (atomic writes never leave a
    partial file under its final name)."""
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    with open(os.path.join(out, "log.jsonl"), "a") as f:
        f.write('{"update": 3, "loss": 2.71, "ce": {"k')
    for name in ("checkpoints/last.safetensors", "config.json", "log.jsonl"):
        with open(os.path.join(out, name + PLANTED), "wb") as f:
            f.write(os.urandom(1000))


def finish_and_compare(out, kills, what, cmd=None):
    p = subprocess.run(cmd or command(out), capture_output=True, text=True)
    check(p.returncode == 0, f"{what}: the last --resume finishes")
    if p.returncode != 0:
        print(p.stderr[-2000:])
    points = ", ".join(("finished" if k["finished"] else
                        f"update {k['logged']} (checkpoint {k['checkpoint'] if k['checkpoint'] is not None else 'none'}"
                        + (", left " + os.path.basename(k["temps"][0]) if k["temps"] else "") + ")")
                       for k in kills)
    print(f"     killed at: {points}", flush=True)
    got = open(checkpoint(out), "rb").read() if os.path.exists(checkpoint(out)) else b""
    check(got == ref_bytes, f"{what}: final checkpoint byte-identical to the uninterrupted run")
    rows = log_rows(out)
    check([r["update"] for r in rows] == list(range(1, STEPS + 1)),
          f"{what}: log.jsonl reads as one run (updates 1..{STEPS}, each once)")
    check([r["loss"] for r in rows] == ref_losses, f"{what}: the same losses as the uninterrupted run")
    check(not temp_files(out), f"{what}: no temp files left ({temp_files(out)[:3]})")


# 2. A job that is always launched with --resume, from its very first launch.
out = "always"
kills = [kill(launch(out), out, after(0.05))]  # libtorch still loading: nothing written yet
first = kills[0]
check(first["finished"] is False and first["checkpoint"] is None, "killed before anything was trained")
if first["finished"]:
    print(first["stderr"][-1000:])
kills.append(kill(launch(out), out, logged_at_least(1)))  # config.json and log.jsonl, no checkpoint
check(kills[-1]["checkpoint"] is None and kills[-1]["logged"] >= 1,
      f"killed after update {kills[-1]['logged']}, before the first checkpoint (update {SAVE})")
check("no checkpoint in always yet: starting the run" in kills[-1]["stderr"],
      "--resume without a checkpoint says that it starts the run")
if kills[-1]["finished"]:
    print(kills[-1]["stderr"][-1000:])
plant_half_made_state(out)
kills.append(kill(launch(out), out, logged_at_least(2)))  # again before the first checkpoint
check(kills[-1]["checkpoint"] is None, "killed a second time before the first checkpoint")
kills.append(kill(launch(out), out, lambda o: checkpoint_update(o) is not None and logged_at_least(SAVE + 1)(o)))
check(kills[-1]["checkpoint"] == SAVE and not kills[-1]["finished"], "killed between two checkpoints")
plant_half_made_state(out)
# Random points spread over the run: a random update u (0 = start-up) and a random time into the
# next one (or into the checkpoint written after u); u ascending so that the run gets on.
for u in sorted(rng.randrange(STEPS) for _ in range(5)):
    kills.append(kill(launch(out), out, after(rng.uniform(0, startup_sec)) if u == 0 else
                      at_update(u, rng.uniform(0, update_sec))))
    if rng.random() < 0.5:
        plant_half_made_state(out)
finish_and_compare(out, kills, "always --resume")

# Settings named by --preset/--config on a resume must be the run's.
p = subprocess.run([*command(out), "--preset", "mert-v1-95m"], capture_output=True, text=True)
check(p.returncode != 0 and "preset" in p.stderr and "config.json" in p.stderr,
      "--resume with another --preset than the run's is refused")

# 3. First launched without --resume (a user's first submission), killed before its first
# checkpoint, then restarted with a bare --resume: the case that used to fail with "nothing to
# resume". The settings come from the config.json the killed attempt wrote.
out = "first_plain"
kills = [kill(launch(out, resume=False), out, logged_at_least(1))]
check(kills[0]["checkpoint"] is None, "plain first launch killed before its first checkpoint")
bare = [MERT, "pretrain", "--manifest", "corpus", "--labels", "labels", "--label-names", "km", "--threads", "1",
        "--out", out, "--resume"]
finish_and_compare(out, kills, "plain launch, then a bare --resume", bare)

shutil.rmtree(tmp, ignore_errors=True)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
