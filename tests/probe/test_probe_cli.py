#!/usr/bin/env python3
"""`mert probe` end to end on small `mert synth` sets with a micro random model:

- the synth suite (pitch, instrument, key, tags, tempo regression) runs; every task's printed test
  metrics equal `mert metrics` and scikit-learn / mir_eval on the saved predictions;
- the chosen point is the best validation point of the sweep, its test numbers are the sweep's;
- the reports exist (results.md, sweep.csv, a well-formed layer_curve.svg, summary.md);
- hand-crafted baselines run (CQT on pitch beats a random model; chroma on key);
- a run killed during the feature cache and again during the sweep, then rerun, gives exactly
  the results of an uninterrupted run;
- bad command lines are one-line errors.
Needs MERT_BIN and ORACLE_PYTHON's numpy, scikit-learn and mir_eval."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe_oracle  # noqa: E402

MERT = os.environ["MERT_BIN"]
SF = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args, ok=True, **kw):
    p = subprocess.run([MERT, *args], capture_output=True, text=True, **kw)
    if ok and p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"mert {' '.join(args)} failed ({p.returncode})")
    return p


def comparable(results):
    """results.json without what legitimately differs between runs (timings, paths, build)."""
    r = json.loads(json.dumps(results))
    for k in ("wall_sec", "build", "data_dir"):
        r.pop(k, None)
    r["features"].pop("cache", None)
    for p in r["sweep"] + [r["chosen"]]:
        p.pop("train_sec", None)
    return r


def main():
    w = tempfile.mkdtemp(prefix="mert-probe-test-")
    data = f"{w}/data"
    # Small sets: 120 notes; 48 key pieces, 40 tag and 40 beat pieces of 6 s.
    for task, count, sec in [("pitch", 120, 0), ("key", 48, 6), ("tags", 40, 6), ("beat", 40, 6)]:
        args = ["synth", task, "-o", f"{data}/{task}", "--count", str(count), "--soundfont", SF, "--jobs", "2"]
        if sec:
            args += ["--sec", str(sec)]
        run(*args)
    # A micro model: the pipeline, not the model, is under test (and it embeds in seconds).
    run("init", "-o", f"{w}/tiny", "--preset", "tiny")
    cfg = json.load(open(f"{w}/tiny/config.json"))
    cfg.update(conv_dim=[32] * 7, hidden_size=32, intermediate_size=64, num_attention_heads=2,
               num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, num_hidden_layers=2)
    json.dump(cfg, open(f"{w}/micro.json", "w"))
    run("init", "-o", f"{w}/micro", "--config", f"{w}/micro.json", "--seed", "3")

    sweep = ["--lrs", "1e-3,1e-2", "--layers", "0,2,wsum", "--epochs", "8", "--threads", "1"]
    t0 = time.time()
    run("probe", "--suite", "synth", "--data", data, "-m", f"{w}/micro", "-o", f"{w}/suite", *sweep)
    print(f"     suite: {time.time() - t0:.1f} s")
    for task in ["synth-pitch", "synth-instrument", "synth-key", "synth-tags", "synth-tempo"]:
        d = f"{w}/suite/{task}"
        for ok, what in probe_oracle.verify(MERT, d):
            check(ok, what)
        r = json.load(open(f"{d}/results.json"))
        csv_rows = open(f"{d}/sweep.csv").read().strip().split("\n")
        svg = xml.dom.minidom.parse(f"{d}/layer_curve.svg")
        check(len(r["sweep"]) == 6 and len(csv_rows) == 7 and svg.documentElement.tagName == "svg"
              and os.path.getsize(f"{d}/results.md") > 200, f"{task}: 6 points; sweep.csv, layer_curve.svg, results.md")
    summary = json.load(open(f"{w}/suite/summary.json"))
    check(len(summary["tasks"]) == 5 and abs(summary["average"] - np.mean([t["score"] for t in summary["tasks"]])) < 1e-9,
          "summary: five tasks and their mean")
    tempo = json.load(open(f"{w}/suite/synth-tempo/results.json"))
    check(tempo["classes"] == ["bpm"] and len(tempo["test"]["r2"]) == 1, "regression task: r2 per output listed")

    # Hand-crafted baselines through the same path; the CQT anchor must beat the random model.
    run("synth", "pitch", "-o", f"{w}/pitch400", "--count", "400", "--soundfont", SF, "--jobs", "2")
    run("probe", "--task", "synth-pitch", "--data", f"{w}/pitch400", "--features", "cqt", "-o", f"{w}/cqt",
        "--lrs", "1e-3", "--epochs", "30", "--threads", "1")
    cqt = json.load(open(f"{w}/cqt/results.json"))["test"]["accuracy"]
    micro = json.load(open(f"{w}/suite/synth-pitch/results.json"))["test"]["accuracy"]
    check(cqt >= 0.5 and cqt > micro, f"CQT pitch baseline {cqt:.3f} >= 0.5 (400 notes) and beats the random micro model {micro:.3f}")
    p = run("probe", "--task", "synth-key", "--data", f"{data}/key", "--features", "chroma", "-o", f"{w}/chroma",
            "--quick", "--epochs", "5", "--threads", "1")
    r = json.load(open(f"{w}/chroma/results.json"))
    check("weighted_score=" in p.stdout and r["protocol"]["lrs"] == [1e-3, 5e-3] and r["protocol"]["layers"] == ["0"],
          "chroma baseline on key runs (--quick: lr 1e-3 and 5e-3, its one layer)")

    # Killed during the feature cache, then during the sweep; the rerun equals an uninterrupted run.
    args = ["probe", "--task", "synth-key", "--data", f"{data}/key", "-m", f"{w}/micro", "--lrs", "1e-3,5e-3,1e-2",
            "--layers", "all", "--epochs", "6", "--threads", "1"]
    run(*args, "-o", f"{w}/straight")
    killed = f"{w}/killed"

    def kill_when(path_test, timeout=120):
        proc = subprocess.Popen([MERT, *args, "-o", killed], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = time.time()
        while proc.poll() is None and not path_test() and time.time() - t < timeout:
            time.sleep(0.005)
        was_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return was_running

    def cache_files():
        return sum(len([f for f in fs if f.endswith(".npy")]) for _, _, fs in os.walk(f"{killed}/cache"))

    def points():
        d = f"{killed}/points"
        return os.path.isdir(d) and len([f for f in os.listdir(d) if f.endswith(".json")]) >= 4

    k1 = kill_when(lambda: cache_files() >= 10)
    n_cached = cache_files()
    k2 = kill_when(points)
    # A kill can land inside any write; plant the temps such a kill leaves (named after a dead pid)
    # so the rerun's clean-up is tested every time, not only when the kill happens to hit one.
    first_point = sorted(os.listdir(f"{killed}/points"))[0].split(".json")[0].split(".test_scores")[0]
    planted = [f"{killed}/points/{first_point}.test_scores.npy.tmp.999999",
               f"{killed}/results.json.tmp.999999"]
    for f in planted:
        open(f, "wb").write(b"partial")
    run(*args, "-o", killed)
    check(k1 and k2 and 10 <= n_cached < 48, f"killed during the cache ({n_cached} of 48 files) and during the sweep")
    a = comparable(json.load(open(f"{w}/straight/results.json")))
    b = comparable(json.load(open(f"{killed}/results.json")))
    check(a == b, "killed twice and rerun: results.json equals the uninterrupted run's")
    check(open(f"{w}/straight/test_keys.tsv").read() == open(f"{killed}/test_keys.tsv").read(),
          "killed and rerun: same test predictions")
    leftovers = [f for _, _, fs in os.walk(killed) for f in fs if ".tmp" in f]
    check(not leftovers, f"no temp files left ({leftovers[:3]})")

    # Bad command lines: one line, non-zero exit.
    for bad, what in [(["--task", "nope", "--data", data, "-m", f"{w}/micro", "-o", f"{w}/x"], "unknown task"),
                      (["--task", "synth-key", "--data", f"{data}/key", "-m", f"{w}/micro", "--features", "cqt",
                        "-o", f"{w}/x"], "both a model and hand features"),
                      (["--task", "synth-key", "--data", f"{w}/missing", "-m", f"{w}/micro", "-o", f"{w}/x"], "missing data dir"),
                      (["--task", "synth-key", "--data", f"{data}/key", "-m", f"{w}/micro", "-o", f"{w}/x", "--layers", "7"],
                       "layer beyond the model"),
                      (["--task", "synth-key", "--data", f"{data}/key", "--features", "zcr", "-o", f"{w}/x"], "unknown feature")]:
        p = run("probe", *bad, ok=False)
        lines = [l for l in p.stderr.strip().split("\n") if "error" in l]
        check(p.returncode != 0 and len(lines) == 1, f"bad input ({what}): one error line, exit {p.returncode}")

    if failures:
        print(f"{len(failures)} failed")
        sys.exit(1)
    subprocess.run(["rm", "-rf", w])
    print("all passed")


if __name__ == "__main__":
    main()
