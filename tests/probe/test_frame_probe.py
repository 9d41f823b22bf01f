#!/usr/bin/env python3
"""`mert probe` on the frame-level tasks (synth-beat, synth-chords, synth-stems) end to end, with a micro random
model and hand-crafted baselines on small `mert synth` sets:

- both tasks run; results.json's test metrics equal `mert metrics beat|chord` on the written
  test_reference/ and test_estimates/, and mir_eval computed here on the same files (MARBLE's
  summed beat F; duration-weighted majmin/root over the set);
- the chosen point is the sweep's best validation point and its test numbers are the sweep's;
- the float16 frame cache holds `mert embed --pool none` frames rounded to float16, only the
  hidden states the sweep needs;
- baselines: log-mel (+ flux) on beats and chroma on chords run through the same heads; chroma
  beats the random micro model on chords;
- source separation runs (micro model and log-mel); its test SDRs equal `mert metrics sdr` and
  numpy's global SDR on the written separations;
- a rerun reads every point back and gives the same results; a sweep point's numbers do not
  depend on how many heads train at once;
- bad input (a layer that does not exist, a malformed .beats or .lab) is a one-line error.
Needs MERT_BIN and ORACLE_PYTHON's numpy, scipy and mir_eval."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import mir_eval
import numpy as np
import scipy.io.wavfile

MERT = os.environ["MERT_BIN"]
SF = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args, ok=True):
    p = subprocess.run([MERT, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit(f"mert {' '.join(args)} failed ({p.returncode})")
    return p


def ids(d, ext):
    return sorted(f[: -len(ext)] for f in os.listdir(d) if f.endswith(ext))


def oracle_beat(out):
    ref_d, est_d = f"{out}/test_reference", f"{out}/test_estimates"
    matched = n_ref = n_est = 0
    per_track = []
    for i in ids(ref_d, ".beats"):
        ref = np.sort(np.loadtxt(f"{ref_d}/{i}.beats", ndmin=1))
        est = np.sort(np.loadtxt(f"{est_d}/{i}.beats", ndmin=1))
        matched += len(mir_eval.util.match_events(ref, est, 0.07))
        n_ref, n_est = n_ref + len(ref), n_est + len(est)
        per_track.append(mir_eval.beat.f_measure(ref, est, 0.07))
    p = matched / n_est if n_est else 0.0
    r = matched / n_ref if n_ref else 0.0
    return {"f_measure": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r,
            "mean_f_measure": float(np.mean(per_track))}


def oracle_chord(out):
    ref_d, est_d = f"{out}/test_reference", f"{out}/test_estimates"
    sums = {"majmin": [0.0, 0.0], "root": [0.0, 0.0]}
    per = {"majmin": [], "root": []}
    for i in ids(ref_d, ".lab"):
        ri, rl = mir_eval.io.load_labeled_intervals(f"{ref_d}/{i}.lab")
        ei, el = mir_eval.io.load_labeled_intervals(f"{est_d}/{i}.lab")
        ei, el = mir_eval.util.adjust_intervals(ei, el, ri.min(), ri.max(), mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
        iv, r, e = mir_eval.util.merge_labeled_intervals(ri, rl, ei, el)
        dur = mir_eval.util.intervals_to_durations(iv)
        for name, fn in (("majmin", mir_eval.chord.majmin), ("root", mir_eval.chord.root)):
            comp = fn(r, e)
            sums[name][0] += float(np.sum(dur[comp == 1]))
            sums[name][1] += float(np.sum(dur[comp >= 0]))
            per[name].append(mir_eval.chord.weighted_accuracy(comp, dur))
    return {"majmin": sums["majmin"][0] / sums["majmin"][1], "root": sums["root"][0] / sums["root"][1],
            "majmin_mean": float(np.mean(per["majmin"])), "root_mean": float(np.mean(per["root"]))}


def close(a, b, tol=1e-9):
    return all(abs(a[k] - b[k]) <= tol for k in b)


def verify(out, kind):
    r = json.load(open(f"{out}/results.json"))
    test = r["test"]
    cli = json.loads(run("metrics", "beat" if kind == "beat" else "chord", "--ref", f"{out}/test_reference",
                         "--est", f"{out}/test_estimates").stdout)
    check(all(cli[k] == v for k, v in test.items()), f"{out}: results.json test == `mert metrics` on the written files, exactly")
    want = oracle_beat(out) if kind == "beat" else oracle_chord(out)
    check(close(test, want), f"{out}: test metrics == mir_eval on the written files ({want})")
    best = max(r["sweep"], key=lambda p: p["valid"])
    check(r["chosen"]["valid"] == best["valid"] and r["chosen"]["test"] == test,
          f"{out}: chosen point is the best on validation; its test numbers are the sweep's")
    n_test = r["items"]["test"]
    check(len(ids(f"{out}/test_estimates", ".beats" if kind == "beat" else ".lab")) == n_test,
          f"{out}: one estimate file per test item ({n_test})")
    return r


def verify_stems(out):
    r = json.load(open(f"{out}/results.json"))
    test = r["test"]
    cli = json.loads(run("metrics", "sdr", "--ref", f"{out}/test_reference", "--est", f"{out}/test_estimates").stdout)
    got = {"sdr": cli["mean"], **{f"sdr_{s}": v["mean"] for s, v in cli["sources"].items()},
           **{f"sdr_median_{s}": v["median"] for s, v in cli["sources"].items()}}
    check(got == test, f"{out}: results.json test == `mert metrics sdr` on the written separations, exactly")
    sdr = {s: [] for s in ("vocals", "drums", "bass", "other")}
    for i in sorted(os.listdir(f"{out}/test_reference")):
        for s in sdr:
            ref = scipy.io.wavfile.read(f"{out}/test_reference/{i}/{s}.wav")[1].astype(np.float64)
            est = scipy.io.wavfile.read(f"{out}/test_estimates/{i}/{s}.wav")[1].astype(np.float64)
            sdr[s].append(10 * np.log10((np.sum(ref ** 2) + 1e-7) / (np.sum((ref - est) ** 2) + 1e-7)))
    want = {f"sdr_{s}": float(np.mean(v)) for s, v in sdr.items()}
    want["sdr"] = float(np.mean(list(want.values())))
    check(close(test, want, 1e-6), f"{out}: test SDRs == numpy's global SDR on the written files ({want['sdr']:.3f} dB)")
    check(r["type"] == "stems" and r["score"] == test["sdr"], f"{out}: the score is the mean SDR in dB")
    return r


def comparable(r):
    r = json.loads(json.dumps(r))
    for k in ("wall_sec", "build"):
        r.pop(k, None)
    for p in r["sweep"] + [r["chosen"]]:
        p.pop("train_sec", None)
    return r


def main():
    w = tempfile.mkdtemp(prefix="mert-frame-probe-test-")
    for task in ("beat", "chords"):
        run("synth", task, "-o", f"{w}/{task}", "--count", "40", "--sec", "6", "--soundfont", SF, "--jobs", "2", "--seed", "5")
    run("init", "-o", f"{w}/tiny", "--preset", "tiny")
    cfg = json.load(open(f"{w}/tiny/config.json"))
    cfg.update(conv_dim=[32] * 7, hidden_size=32, intermediate_size=64, num_attention_heads=2,
               num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, num_hidden_layers=2)
    json.dump(cfg, open(f"{w}/micro.json", "w"))
    run("init", "-o", f"{w}/micro", "--config", f"{w}/micro.json", "--seed", "3")
    sweep = ["--lrs", "1e-3,1e-2", "--layers", "0,wsum", "--epochs", "5"]

    # Model features on both tasks.
    run("probe", "--task", "synth-beat", "--data", f"{w}/beat", "-m", f"{w}/micro", "-o", f"{w}/beat-micro", *sweep)
    r = verify(f"{w}/beat-micro", "beat")
    check(len(r["sweep"]) == 4 and r["features"]["cached_layers"] == [0, 1, 2],
          "beat: 2 lrs x (layer 0, wsum) = 4 points; hidden states 0..2 cached (wsum needs 1..2)")
    p = run("probe", "--task", "synth-chords", "--data", f"{w}/chords", "-m", f"{w}/micro", "-o", f"{w}/chords-micro",
            "--lrs", "1e-3", "--layers", "1", "--epochs", "5")
    rc = verify(f"{w}/chords-micro", "chords")
    check(rc["features"]["cached_layers"] == [1] and rc["classes"][0] == "N" and len(rc["classes"]) == 25,
          "chords: only hidden state 1 cached; 25 classes (N + 24 major/minor)")
    check(rc["protocol"]["lrs"] == [1e-3], "--lrs overrides the frame tasks' default")

    # Source separation: a few short segments per track, a narrow head (the pipeline is under test).
    run("synth", "stems", "-o", f"{w}/stems", "--count", "20", "--sec", "4", "--soundfont", SF, "--jobs", "2", "--seed", "5")
    small = ["--lrs", "1e-3", "--epochs", "2", "--segments", "2", "--hidden", "32"]
    run("probe", "--task", "synth-stems", "--data", f"{w}/stems", "-m", f"{w}/micro", "-o", f"{w}/stems-micro",
        "--layers", "1", *small)
    verify_stems(f"{w}/stems-micro")
    run("probe", "--task", "synth-stems", "--data", f"{w}/stems", "--features", "logmel", "-o", f"{w}/stems-logmel", *small)
    rs = verify_stems(f"{w}/stems-logmel")
    check(rs["features"]["hand"] == "logmel" and os.path.exists(f"{w}/stems-logmel/points/lr0.001_layer0.pt"),
          "log-mel baseline on stems; the point's head weights are kept")

    # The cache: float16 frames equal to `mert embed --pool none`, rounded.
    cache = r["features"]["cache"]
    item = sorted(f for f in os.listdir(cache) if f.endswith(".npy"))[0]
    cached = np.load(f"{cache}/{item}")
    audio = [f"{w}/beat/{s}/{item[:-4]}.flac" for s in ("train", "valid", "test")]
    audio = [a for a in audio if os.path.exists(a)][0]
    run("embed", "-m", f"{w}/micro", "--pool", "none", "-o", f"{w}/emb", audio)
    emb = np.load([os.path.join(dp, f) for dp, _, fs in os.walk(f"{w}/emb") for f in fs if f.endswith(".npy")][0])
    check(cached.dtype == np.float16 and cached.shape == emb.shape and np.array_equal(cached, emb.astype(np.float16)),
          f"cache: float16 {cached.shape} == `mert embed --pool none` rounded to float16")

    # Hand-crafted baselines through the same heads.
    run("probe", "--task", "synth-beat", "--data", f"{w}/beat", "--features", "logmel", "-o", f"{w}/beat-logmel",
        "--lrs", "1e-3", "--epochs", "5")
    rb = verify(f"{w}/beat-logmel", "beat")
    check(rb["protocol"]["layers"] == ["0"] and rb["features"]["hand"] == "logmel", "log-mel baseline on beats: its one layer")
    run("probe", "--task", "synth-chords", "--data", f"{w}/chords", "--features", "chroma", "-o", f"{w}/chords-chroma",
        "--lrs", "1e-2", "--epochs", "10")
    rch = verify(f"{w}/chords-chroma", "chords")
    check(rch["test"]["majmin"] > rc["test"]["majmin"] + 0.1,
          f"chroma on chords ({rch['test']['majmin']:.3f}) beats the random micro model ({rc['test']['majmin']:.3f}) by > 0.1")

    # A rerun reads every point back; one head at a time gives the same numbers as two at once.
    p = run("probe", "--task", "synth-beat", "--data", f"{w}/beat", "-m", f"{w}/micro", "-o", f"{w}/beat-micro", *sweep)
    r2 = json.load(open(f"{w}/beat-micro/results.json"))
    check("4 of 4 sweep points read back" in p.stderr and comparable(r2) == comparable(r), "rerun: every point read back, same results")
    run("probe", "--task", "synth-beat", "--data", f"{w}/beat", "-m", f"{w}/micro", "-o", f"{w}/beat-serial",
        "--cache", f"{w}/beat-micro/cache", *sweep, "--threads", "1")
    r3 = json.load(open(f"{w}/beat-serial/results.json"))
    check([p["test"] for p in r3["sweep"]] == [p["test"] for p in r["sweep"]],
          "one head at a time (--threads 1) gives the numbers of two at once")

    # Bad input: one line, naming the problem.
    p = run("probe", "--task", "synth-beat", "--data", f"{w}/beat", "-m", f"{w}/micro", "-o", f"{w}/bad", "--layers", "7", ok=False)
    check(p.returncode != 0 and "layer 7 does not exist" in p.stderr and p.stderr.count("error") == 1
          and not os.path.exists(f"{w}/bad"),
          f"a missing layer is a one-line error, before any work: {p.stderr.strip()[-120:]}")
    shutil.copytree(f"{w}/beat", f"{w}/beat-bad")
    victim = f"{w}/beat-bad/train/" + ids(f"{w}/beat-bad/train", ".beats")[0] + ".beats"
    open(victim, "a").write("soon\t1\n")
    p = run("probe", "--task", "synth-beat", "--data", f"{w}/beat-bad", "-m", f"{w}/micro", "-o", f"{w}/bad", ok=False)
    check(p.returncode != 0 and victim in p.stderr and not os.path.exists(f"{w}/bad/cache"),
          f"a malformed .beats file fails before any work, naming it: {p.stderr.strip()[-120:]}")
    shutil.copytree(f"{w}/chords", f"{w}/chords-bad")
    victim = f"{w}/chords-bad/valid/" + ids(f"{w}/chords-bad/valid", ".lab")[0] + ".lab"
    open(victim, "a").write("6.0\t7.0\tC:what\n")
    p = run("probe", "--task", "synth-chords", "--data", f"{w}/chords-bad", "--features", "chroma", "-o", f"{w}/bad2", ok=False)
    check(p.returncode != 0 and victim in p.stderr and "C:what" in p.stderr,
          f"an unknown chord label fails, naming the file and label: {p.stderr.strip()[-120:]}")

    shutil.rmtree(w)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all frame-level probe checks passed")


if __name__ == "__main__":
    main()
