#!/usr/bin/env python3
"""`mert metrics dbn` (the DBN beat tracker, src/metrics/dbn_beat_tracker.cpp) against an
independent Python/numpy model, and on clean periodic activations.

madmom is not in Debian, so the oracle here is written from the published model (Böck, Krebs &
Widmer, ISMIR 2014; Krebs, Böck & Widmer, ISMIR 2015) and madmom's documented parameters of
DBNBeatTrackingProcessor, with numpy doing the work in a different way from the C++:
- state space: beat intervals numpy.round(60 fps / max_bpm) .. numpy.round(60 fps / min_bpm) frames
  (or numpy.logspace-spaced with num_tempi), positions numpy.linspace(0, 1, i, endpoint=False);
- a DENSE transition matrix [S, S] (position + 1 inside a beat; last state of interval i -> first
  state of interval j with exp(-lambda |j/i - 1|), <= machine epsilon dropped, rows normalised);
- Viterbi as a max-plus matrix product per frame, the uniform prior one step before frame 0;
- the same Viterbi checked against exhaustive enumeration of every feasible state sequence on a
  tiny state space (so the oracle itself is tested);
- correct=True: the activation maximum of each run of beat states; correct=False: strict local
  minima of the position (wrapping) in beat states.
Then, with the default model at 75 fps: clean periodic activations at 60..200 BPM and with a tempo
drift give back their beats. Needs MERT_BIN."""
import json
import os
import tempfile

import numpy as np

from oracle_harness import bad, check, finish, run

tmp = tempfile.mkdtemp(prefix="mert_dbn_")
TINY = np.finfo(float).tiny  # log(0) is taken as log(DBL_MIN) (documented; madmom gives -inf)


# ---------------------------------------------------------------------------------------------
# The model, from the description.
class Model:
    def __init__(self, fps=75.0, min_bpm=55.0, max_bpm=215.0, num_tempi=None, transition_lambda=100.0,
                 observation_lambda=16.0):
        lo, hi = 60.0 * fps / max_bpm, 60.0 * fps / min_bpm
        iv = np.arange(np.round(lo), np.round(hi) + 1)
        if num_tempi is not None and num_tempi < len(iv):
            n = num_tempi
            iv = []
            while len(iv) < num_tempi:
                iv = np.unique(np.round(np.logspace(np.log2(lo), np.log2(hi), n, base=2)))
                n += 1
        self.intervals = np.asarray(iv, dtype=int)
        pos, ivl = [], []
        for i in self.intervals:
            pos.append(np.linspace(0, 1, i, endpoint=False))
            ivl.append(np.full(i, i))
        self.position = np.concatenate(pos)
        S = len(self.position)
        self.S = S
        first = np.concatenate([[0], np.cumsum(self.intervals)[:-1]])
        last = np.cumsum(self.intervals) - 1
        A = np.zeros((S, S))
        firsts = set(first.tolist())
        for s in range(S):
            if s not in firsts:
                A[s - 1, s] = 1.0
        ratio = self.intervals[None, :] / self.intervals[:, None]  # [from, to]
        p = np.exp(-transition_lambda * np.abs(ratio - 1))
        p[p <= np.finfo(float).eps] = 0
        p /= p.sum(axis=1, keepdims=True)
        for a, fa in enumerate(last):
            for b, fb in enumerate(first):
                A[fa, fb] = p[a, b]
        assert np.allclose(A.sum(axis=1), 1)
        with np.errstate(divide="ignore"):
            self.logA = np.log(A)
        self.beat = self.position < 1.0 / observation_lambda
        self.obs_lambda = observation_lambda

    def log_b(self, act):
        a = np.asarray(act, float)[:, None]
        lb = np.where(self.beat[None, :], np.log(np.maximum(a, TINY)),
                      np.log(np.maximum((1 - a) / (self.obs_lambda - 1), TINY)))
        return lb  # [T, S]

    def viterbi(self, act):
        lb = self.log_b(act)
        delta = np.full(self.S, np.log(1.0 / self.S))  # the prior, one step before frame 0
        back = np.zeros((len(act), self.S), dtype=int)
        for t in range(len(act)):
            cand = delta[:, None] + self.logA  # [from, to]
            back[t] = np.argmax(cand, axis=0)
            delta = cand[back[t], np.arange(self.S)] + lb[t]
        path = np.zeros(len(act), dtype=int)
        path[-1] = np.argmax(delta)
        for t in range(len(act) - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
        return path, float(delta[path[-1]])

    def brute_force(self, act):
        """Every feasible sequence s_-1, s_0, ..., s_T-1 (the prior state first), scored."""
        lb = self.log_b(act)
        succ = [np.nonzero(np.isfinite(self.logA[s]))[0] for s in range(self.S)]
        best, best_path = -np.inf, None
        stack = [(s, -1, np.log(1.0 / self.S), ()) for s in range(self.S)]
        while stack:
            s, t, score, path = stack.pop()
            if t == len(act) - 1:
                if score > best:
                    best, best_path = score, path
                continue
            for n in succ[s]:
                stack.append((n, t + 1, score + self.logA[s, n] + lb[t + 1, n], path + (n,)))
        return np.array(best_path), best

    def beats(self, act, fps, correct=True, threshold=0.0):
        act = np.asarray(act, float)
        first = 0
        if threshold:
            idx = np.nonzero(act >= threshold)[0]
            if len(idx) and idx.max() > 0:  # madmom's `if idx.any()`
                first, last = idx.min(), idx.max() + 1
            else:
                first, last = 0, 0
            act = act[first:last]
        if not act.any():
            return [], None
        path, logp = self.viterbi(act)
        out = []
        if correct:
            inb = self.beat[path]
            t = 0
            while t < len(act):
                if not inb[t]:
                    t += 1
                    continue
                e = t
                while e < len(act) and inb[e]:
                    e += 1
                out.append(t + int(np.argmax(act[t:e])))
                t = e
        else:
            p = self.position[path]
            n = len(p)
            out = [t for t in range(n) if p[t] < p[(t - 1) % n] and p[t] < p[(t + 1) % n] and self.beat[path[t]]]
        return [(f + first) / float(fps) for f in out], logp


# ---------------------------------------------------------------------------------------------
# 0. The oracle's Viterbi against exhaustive enumeration on tiny state spaces.
rng = np.random.default_rng(75)
for fps, lo_bpm, hi_bpm, lam, olam in [(4.0, 60.0, 120.0, 3.0, 3.0), (5.0, 60.0, 150.0, 1.0, 2.5)]:
    m = Model(fps, lo_bpm, hi_bpm, None, lam, olam)
    for trial in range(3):
        act = rng.uniform(0.01, 0.99, 9)
        if trial == 2:
            act[[2, 5]] = [0.0, 1.0]
        p1, l1 = m.viterbi(act)
        p2, l2 = m.brute_force(act)
        check(np.array_equal(p1, p2) and abs(l1 - l2) < 1e-9,
              f"oracle Viterbi == exhaustive search (fps {fps}, {m.S} states, trial {trial}): {l1:.6f} vs {l2:.6f}")


# ---------------------------------------------------------------------------------------------
def run_dbn(acts, opts):
    """acts: id -> float32 array; runs `mert metrics dbn` on a directory; returns the JSON."""
    d = tempfile.mkdtemp(dir=tmp)
    for i, a in acts.items():
        np.save(os.path.join(d, i + ".npy"), np.asarray(a, np.float32))
    p = run("dbn", "--activation", d, *opts)
    if p.returncode != 0:
        check(False, f"dbn {opts}: exit {p.returncode}: {p.stderr.strip()}")
        return None
    return json.loads(p.stdout)


def opts_of(fps=75.0, min_bpm=55.0, max_bpm=215.0, num_tempi=None, transition_lambda=100.0,
            observation_lambda=16.0, threshold=0.0, correct=True):
    o = ["--fps", repr(fps), "--min-bpm", repr(min_bpm), "--max-bpm", repr(max_bpm),
         "--transition-lambda", repr(transition_lambda), "--observation-lambda", repr(observation_lambda),
         "--threshold", repr(threshold)]
    if num_tempi:
        o += ["--num-tempi", str(num_tempi)]
    if not correct:
        o += ["--no-correct"]
    return o


def peaky(n, period, floor=0.02, height=0.9, width=1.0, noise=0.1):
    """A noisy beat activation: bumps every `period` frames plus random clutter, in (0, 1)."""
    t = np.arange(n)
    phase = rng.uniform(0, period)
    d = np.abs(((t - phase) + period / 2) % period - period / 2)
    a = floor + height * np.exp(-0.5 * (d / width) ** 2) + noise * rng.random(n) ** 4
    return np.clip(a, 0, 1)


# 1. The C++ tracker against the oracle on small models: beats, path log-probability, intervals.
configs = [
    ("fps 10, defaults", dict(fps=10.0), 300),
    ("fps 20, 60-180 BPM, lambda 30", dict(fps=20.0, min_bpm=60.0, max_bpm=180.0, transition_lambda=30.0), 300),
    ("fps 75, 100-140 BPM", dict(fps=75.0, min_bpm=100.0, max_bpm=140.0), 450),
    ("fps 30, num_tempi 6 (log spacing)", dict(fps=30.0, num_tempi=6), 300),
    ("fps 25, observation lambda 4, transition lambda 5", dict(fps=25.0, observation_lambda=4.0,
                                                               transition_lambda=5.0), 250),
    ("fps 20, correct=False", dict(fps=20.0, correct=False), 300),
    ("fps 20, threshold 0.3", dict(fps=20.0, threshold=0.3), 200),
]
for name, cfg, n in configs:
    model_cfg = {k: v for k, v in cfg.items() if k not in ("threshold", "correct")}
    m = Model(**{k: (float(v) if k != "num_tempi" else v) for k, v in model_cfg.items()})
    acts = {
        "uniform": rng.uniform(0, 1, n),
        "peaky": peaky(n, rng.uniform(60 * cfg["fps"] / 200, 60 * cfg["fps"] / 70)),
        "peaky_drift": peaky(n, 60 * cfg["fps"] / 120) * np.linspace(0.6, 1.0, n),
        "hard_0_1": (rng.random(n) < 0.1).astype(float),  # exact 0 and 1: log(0) taken as log(DBL_MIN)
        "short": rng.uniform(0, 1, 7),
    }
    if cfg.get("threshold"):
        a = rng.uniform(0, 0.2, n)
        a[40], a[150] = 0.5, 0.6
        acts["cropped"] = a
        z = np.zeros(30)
        z[0] = 0.9
        acts["only_frame0_passes"] = z  # madmom's `idx.any()` is False: no beats
    acts = {k: np.asarray(v, np.float32) for k, v in acts.items()}
    got = run_dbn(acts, opts_of(**cfg))
    if got is None:
        continue
    check(got["states"] == m.S and got["intervals"] == [int(i) for i in m.intervals],
          f"{name}: state space {got['states']} states, intervals {got['intervals'][:3]}..{got['intervals'][-1:]} "
          f"(oracle {m.S}, {list(m.intervals[:3])}..{list(m.intervals[-1:])})")
    for i, a in acts.items():
        want, logp = m.beats(a.astype(float), cfg["fps"], cfg.get("correct", True), cfg.get("threshold", 0.0))
        g = got["tracks"][i]
        ok = len(g["beats"]) == len(want) and np.allclose(g["beats"], want, rtol=0, atol=1e-12)
        if logp is not None:
            ok = ok and abs(g["log_probability"] - logp) <= 1e-9 * max(1.0, abs(logp))
        else:
            ok = ok and g["decoded_frames"] == 0
        check(ok, f"{name} / {i}: {len(g['beats'])} beats, log p {g['log_probability']:.6f}"
                  + ("" if ok else f" (oracle {len(want)} beats {want[:6]}, log p {logp}; got {g['beats'][:6]})"))
# Default model at 75 fps: 62 intervals 21..82, 3193 states.
m75 = Model()
got = run_dbn({"zeros": np.zeros(100, np.float32), "empty": np.zeros(0, np.float32)}, [])
if got:
    check(got["states"] == m75.S == 3193 and got["intervals"] == list(range(21, 83)),
          f"default model: {got['states']} states, intervals {got['intervals'][0]}..{got['intervals'][-1]}")
    check(got["tracks"]["zeros"]["beats"] == [] and got["tracks"]["empty"]["beats"] == [],
          "all-zero and empty activations give no beats (as madmom)")


# ---------------------------------------------------------------------------------------------
# 2. Clean periodic activations with the default model give back their beats.
def beat_grid(bpm0, bpm1, frac):
    """Beats from frac of a period in, the tempo drifting linearly in time from bpm0 to bpm1 over
    30 s; the clip ends half a period after the last beat. (Both ends keep a margin: where the
    beat before the first or after the last would fall within a frame or two of the clip's edge,
    part of its beat-state run is in the clip and the tracker, as madmom's, reports a beat there.)"""
    t, out = frac * 60.0 / bpm0, []
    while True:
        out.append(t)
        p = 60.0 / (bpm0 + (bpm1 - bpm0) * t / 30.0)
        if t + p > 30.0:
            return np.array(out), t + 0.5 * p
        t += p


def shaped(times, n, fps, kind):
    """A beat activation as a frame head trained with neighbouring-frame widening gives: 'soft' is
    0.95 on each beat's frame and 0.4 on its neighbours over 0.03; 'gauss' a bump of width one
    frame centred on the exact time, peak 1, over 0.01. (A lone one-frame pulse on a flat floor is
    tempo-ambiguous for this model: a 16th of every beat is beat states at any tempo, so doubling
    the tempo costs nothing there, and the transition model then prefers the shorter interval.)"""
    frames = np.arange(n)
    if kind == "gauss":
        a = np.full(n, 0.01)
        for t in times:
            a = np.maximum(a, np.exp(-0.5 * (frames - t * fps) ** 2))
        return a
    a = np.full(n, 0.03)
    for t in times:
        f = int(np.round(t * fps))
        for d, v in [(-1, 0.4), (0, 0.95), (1, 0.4)]:
            if 0 <= f + d < n:
                a[f + d] = max(a[f + d], v)
    return a


fps = 75.0
cases = {}
for bpm in list(range(60, 201, 10)) + [63.7, 117.3, 187.5]:
    cases[f"bpm{bpm}"] = (bpm, bpm)
for bpm0, bpm1 in [(100, 108), (150, 141), (70, 75.6), (180, 195), (62, 58), (120, 129.6)]:
    cases[f"drift{bpm0}-{bpm1}"] = (bpm0, bpm1)
acts, truth = {}, {}
for k, (b0, b1) in cases.items():
    for kind in ["soft", "gauss"]:
        times, seconds = beat_grid(b0, b1, rng.uniform(0.3, 0.7))
        truth[f"{k}_{kind}"] = times
        acts[f"{k}_{kind}"] = shaped(times, int(np.round(seconds * fps)), fps, kind).astype(np.float32)
out_dir = os.path.join(tmp, "beats_out")
got = run_dbn(acts, ["--out", out_dir])
if got:
    for k, times in truth.items():
        want = np.round(times * fps) / fps  # the frames the beats fall on
        g = np.array(got["tracks"][k]["beats"])
        if len(g) != len(want):
            check(False, f"periodic {k}: {len(g)} beats, want {len(want)} "
                         f"(got {np.round(g[:8], 3)}, want {np.round(want[:8], 3)})")
            continue
        off = np.abs(g - want) * fps
        exact = int(np.sum(off < 1e-6))
        # The model's tempi are whole frames per beat and changing them costs, so where the period
        # is not a whole number of frames (or drifts) a beat may land one frame off; none further.
        ok = off.max() < 1 + 1e-6 and exact >= 0.8 * len(want)
        check(ok, f"periodic {k}: {len(g)} beats, {exact} on their frame, the others within {off.max():.0f} frame"
                  + ("" if ok else f" (got {np.round(g[:8], 3)})"))
    # --out writes <id>.beats that read back to the same times.
    k = next(iter(truth))
    with open(os.path.join(out_dir, k + ".beats")) as f:
        back = [float(x) for x in f.read().split()]
    check(back == got["tracks"][k]["beats"], f"--out: {k}.beats holds the printed beats exactly")

# ---------------------------------------------------------------------------------------------
# 3. Bad input: exit code 2, one line on stderr.
A = os.path.join(tmp, "a.npy")
np.save(A, np.full(50, 0.5, np.float32))
for what, arr, needle in [("activation 1.5", np.array([0.2, 1.5], np.float32), "frame 1"),
                          ("activation NaN", np.array([np.nan], np.float32), "frame 0"),
                          ("activation negative", np.array([0.1, 0.2, -0.1], np.float32), "[0, 1]"),
                          ("2-D activation", np.zeros((5, 2), np.float32), "shape")]:
    p = os.path.join(tmp, "bad.npy")
    np.save(p, arr)
    bad(what, ["dbn", "--activation", p], needle)
bad("min_bpm > max_bpm", ["dbn", "--activation", A, "--min-bpm", "200", "--max-bpm", "100"], "min_bpm")
bad("fps 0", ["dbn", "--activation", A, "--fps", "0"], "fps")
bad("observation lambda 1", ["dbn", "--activation", A, "--observation-lambda", "1"], "observation_lambda")
bad("interval below a frame", ["dbn", "--activation", A, "--fps", "1", "--max-bpm", "300"], "at least 1")
bad("too many states", ["dbn", "--activation", A, "--fps", "100000"], "20 million")
bad("threshold 2", ["dbn", "--activation", A, "--threshold", "2"], "threshold")
bad("missing activation", ["dbn", "--fps", "75"], "--activation")
bad("not a number", ["dbn", "--activation", A, "--fps", "fast"], "--fps")

finish()
