#!/usr/bin/env python3
"""`mert metrics beat|chord|sdr` against mir_eval 0.7 and numpy, to 1e-6.

beat:  mir_eval.beat.f_measure per track (on the sorted arrays: mir_eval refuses unsorted ones;
       no 5 s trimming) and its mean; MARBLE's score from len(mir_eval.util.match_events(...))
       summed over the set. Randomized sets (jittered, shifted, thinned, doubled, dense random
       events, times exactly at the window's edge, before 0 and past the clip, unsorted lines,
       duplicates, empty files) and hand-made cases with known answers.
chord: mir_eval.chord.evaluate per track (majmin, root) and, over the set, the correct and
       comparable seconds summed from mir_eval's own pieces (util.adjust_intervals,
       util.merge_labeled_intervals, chord.majmin / chord.root). Randomized labels over the
       whole Harte grammar mir_eval encodes (N, X, inversions, added and omitted degrees,
       extended qualities, double flats), estimates that start before 0, end early or late,
       leave gaps, hold zero-length segments or come unsorted, empty estimates.
sdr:   10 log10((sum s^2 + 1e-7) / (sum (s - e)^2 + 1e-7)) in numpy on the same samples, mean and
       median per source; lengths that differ (cut / zero-padded), silent references, int16 and
       float WAVs, a stereo pair (mono downmix).
Then bad input: exit code 2, one line on stderr, nothing on stdout. Needs MERT_BIN."""
import os
import tempfile
import warnings

import numpy as np
from scipy.io import wavfile
import mir_eval

from oracle_harness import bad, check, finish, judge, run, scores_and_stderr, scores_of

warnings.simplefilter("ignore")  # mir_eval warns on empty inputs; that is the case under test


tmp = tempfile.mkdtemp(prefix="mert_frame_metrics_")
counter = [0]


def new_dir():
    counter[0] += 1
    d = os.path.join(tmp, f"d{counter[0]}")
    os.makedirs(d)
    return d


rng = np.random.default_rng(20240614)

# =============================================================================================
# 1. Beats
def write_beats(path, times, style):
    with open(path, "w") as f:
        for i, t in enumerate(times):
            if style == "gtzan":
                f.write(f"{t!r}\t{i % 4 + 1}\n")
            elif style == "synth":  # as `mert synth beat` writes
                f.write(f"{t:.6f}\t{i % 3 + 1}\n")
            else:
                f.write(f"{t!r}\n")


def read_back(times, style):
    return [float(f"{t:.6f}") for t in times] if style == "synth" else list(times)


def oracle_beat(tracks):
    """tracks: id -> (ref, est) as the files hold them (any order)."""
    per, matched, n_ref, n_est = {}, 0, 0, 0
    for i, (r, e) in tracks.items():
        r, e = np.asarray(r, float), np.asarray(e, float)
        per[i] = float(mir_eval.beat.f_measure(np.sort(r), np.sort(e)))
        matched += len(mir_eval.util.match_events(r, e, 0.07))  # MARBLE: raw arrays, no validation
        n_ref += len(r)
        n_est += len(e)
    p = matched / n_est if n_est else 0.0
    r = matched / n_ref if n_ref else 0.0
    return {"f_measure": mir_eval.util.f_measure(p, r), "precision": p, "recall": r, "matched": matched,
            "reference_beats": n_ref, "estimated_beats": n_est, "mean_f_measure": float(np.mean(list(per.values()))),
            "n": len(tracks), "per_track": per}


def beat_case(what, tracks, known=None, styles=("plain",)):
    ref_dir, est_dir = new_dir(), new_dir()
    as_read = {}
    for k, (i, (r, e)) in enumerate(sorted(tracks.items())):
        style = styles[k % len(styles)]
        write_beats(os.path.join(ref_dir, i + ".beats"), r, style)
        write_beats(os.path.join(est_dir, i + ".beats"), e, "plain" if style == "synth" else style)
        as_read[i] = (read_back(r, style), list(e))
    got, err = scores_and_stderr("beat " + what, "beat", "--ref", ref_dir, "--est", est_dir)
    judge("beat " + what, got, oracle_beat(as_read), known)
    return got, err


def jitter_track(n_ref_max=70):
    period = 60 / rng.uniform(55, 215)
    start = rng.uniform(-0.2, 1.0)
    ref = start + period * np.arange(int(rng.integers(0, n_ref_max)))
    ref = ref[ref < 30.5]
    kind = rng.integers(0, 7)
    if kind == 0:  # jitter of about the window's size
        est = ref + rng.normal(0, 0.05, len(ref))
    elif kind == 1:  # shifted by exactly +-70 ms (the window's edge, in floats)
        est = ref + rng.choice([-0.07, 0.07], len(ref))
    elif kind == 2:  # thinned and with spurious beats
        est = np.concatenate([ref[rng.random(len(ref)) < 0.7], rng.uniform(-1, 32, int(rng.integers(0, 15)))])
    elif kind == 3:  # double tempo, half a beat off
        est = np.concatenate([ref, ref + period / 2]) + rng.normal(0, 0.01, 2 * len(ref))
    elif kind == 4:  # dense random events: many candidate pairs per beat, the matching matters
        est = rng.uniform(0, 5, int(rng.integers(0, 60)))
        ref = rng.uniform(0, 5, int(rng.integers(0, 60)))
    elif kind == 5:  # duplicates
        est = np.repeat(ref, 2) + rng.choice([0.0, 0.03], 2 * len(ref))
    else:
        est = ref + 0.5 * period
    est = np.asarray(est, float)
    if rng.random() < 0.3:
        rng.shuffle(est)  # unsorted lines
    return list(ref), list(est)


tracks = {f"t{i:03d}": jitter_track() for i in range(300)}
tracks["empty_est"] = ([1.0, 2.0, 3.0], [])
tracks["empty_ref"] = ([], [1.0, 2.0])
tracks["both_empty"] = ([], [])
tracks["negative"] = ([-0.5, 0.2, 0.9, 1.6], [-0.52, 0.25, 0.95, 2.5])
tracks["past_end"] = ([10.0, 20.0, 29.9], [10.01, 29.95, 31.0, 40.0, 29999.0])
got, err = beat_case("300 random tracks + edge cases", tracks, styles=("plain", "gtzan", "synth"))
check("warning" in err and "without beats" in err and len(err.strip().splitlines()) == 2,
      f"beat: empty reference/estimate files are warned about on stderr ({err.strip()!r})")
# Hand-made, known answers. Window edges: |ref - est| <= 0.07 evaluated as mir_eval does.
beat_case("window edge", {"a": ([1.0, 2.0, 3.0], [1.07, 1.93, 3.0701])},
          {"matched": 2, "precision": 2 / 3, "recall": 2 / 3, "f_measure": 2 / 3})
# Greedy nearest-first would match 1.05 to 1.0 and leave 1.1 unmatched; the maximum matching
# pairs 1.0-0.98 and 1.1-1.05.
beat_case("maximum matching", {"a": ([1.0, 1.1], [0.98, 1.05])}, {"matched": 2, "f_measure": 1.0})
beat_case("set vs per-track", {"a": ([1.0, 2.0], [1.0, 2.0]), "b": ([1.0, 2.0, 3.0, 4.0], [])},
          # MARBLE: 2 matched, 2 estimated, 6 reference: P 1, R 1/3, F 0.5; mir_eval mean (1 + 0) / 2
          {"f_measure": 0.5, "precision": 1.0, "recall": 1 / 3, "mean_f_measure": 0.5,
           "per_track": {"a": 1.0, "b": 0.0}})
beat_case("no estimates at all", {"a": ([1.0], []), "b": ([2.0], [])},
          {"f_measure": 0.0, "precision": 0.0, "recall": 0.0, "mean_f_measure": 0.0})
# One beat per line without a second column, comments, blank lines, CRLF.
ref_dir, est_dir = new_dir(), new_dir()
with open(os.path.join(ref_dir, "x.beats"), "w") as f:
    f.write("# GTZAN-Rhythm\r\n0.5\t1\r\n\r\n1.0 2\r\n1.5\r\n")
with open(os.path.join(est_dir, "x.beats"), "w") as f:
    f.write("1.49\n0.51\n")
judge("beat comments/CRLF", scores_of("beat comments", "beat", "--ref", ref_dir, "--est", est_dir),
        {"matched": 2, "reference_beats": 3, "estimated_beats": 2, "f_measure": 0.8})

# =============================================================================================
# 2. Chords
ROOTS = ["C", "C#", "Db", "D", "Eb", "E", "Fb", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B", "Cb", "B#", "Gbb", "E##"]
QUALS = ["maj", "min", "dim", "aug", "sus2", "sus4", "7", "maj7", "min7", "dim7", "hdim7", "minmaj7", "maj6", "min6",
         "9", "maj9", "min9", "11", "min11", "13", "maj13", "min13", "1", "5"]
DEGREES = ["1", "b1", "2", "b2", "#2", "b3", "3", "4", "#4", "b5", "5", "#5", "b6", "6", "bb7", "b7", "7", "9", "b9",
           "#9", "11", "#11", "13", "b13", "8", "10", "12"]


def random_label():
    u = rng.random()
    if u < 0.08:
        return "N"
    if u < 0.13:
        return "X"
    root = ROOTS[rng.integers(len(ROOTS))]
    v = rng.random()
    if v < 0.15:
        lab = root  # bare root = major
    elif v < 0.25:  # degrees without a quality
        lab = root + ":(" + ",".join(rng.choice(DEGREES, int(rng.integers(1, 4)), replace=False)) + ")"
    else:
        lab = root + ":" + (QUALS[rng.integers(len(QUALS))] if rng.random() < 0.5 else ["maj", "min"][rng.integers(2)])
        if rng.random() < 0.15:  # added / omitted degrees
            lab += "(" + ",".join(("*" if rng.random() < 0.4 else "") + d
                                  for d in rng.choice(DEGREES, int(rng.integers(1, 3)), replace=False)) + ")"
    if rng.random() < 0.15:
        lab += "/" + DEGREES[rng.integers(len(DEGREES))]
    return lab


def majmin_label():
    u = rng.random()
    if u < 0.1:
        return "N"
    return ROOTS[rng.integers(len(ROOTS))] + (":min" if rng.random() < 0.4 else "") + ("/3" if rng.random() < 0.05 else "")


def random_segments(t0, t1, label_fn, gaps=False, zero=False):
    n = int(rng.integers(1, 25))
    cuts = np.sort(rng.uniform(t0, t1, n - 1))
    bounds = np.concatenate([[t0], cuts, [t1]])
    segs = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        a, b = float(a), float(b)
        if gaps and rng.random() < 0.2:
            a = a + (b - a) * rng.uniform(0, 0.5)  # a gap before this segment
        if zero and rng.random() < 0.1:
            segs.append((a, a, label_fn()))  # zero length, before the segment at the same start
        segs.append((a, b, label_fn()))
    return segs


def chord_track():
    end = float(rng.uniform(5, 40))
    start = float(rng.choice([0.0, rng.uniform(0, 2)]))
    ref = random_segments(start, end, random_label if rng.random() < 0.6 else majmin_label, gaps=rng.random() < 0.3,
                          zero=rng.random() < 0.2)
    k = rng.integers(0, 6)
    if k == 0:  # the reference, relabelled in places
        est = [(a, b, l if rng.random() < 0.6 else random_label()) for a, b, l in ref]
    elif k == 1:  # boundaries moved; starts before 0, ends past the reference
        est = random_segments(float(rng.uniform(-3, start + 1)), float(end + rng.uniform(-3, 5)), majmin_label)
    elif k == 2:  # another segmentation of the same span, gaps and zero-length pieces
        est = random_segments(start, end, random_label, gaps=True, zero=True)
    elif k == 3:  # ends early
        est = random_segments(start, float(rng.uniform(start + 0.1, end)), majmin_label)
    elif k == 4:  # starts late
        est = random_segments(float(rng.uniform(start, end - 0.1)), end, majmin_label)
    else:  # entirely outside the reference's span (before it)
        est = random_segments(-10.0, float(start - 0.5) if start > 0.5 else -0.5, majmin_label)
    return ref, est


def write_lab(path, segs, shuffle=False):
    segs = list(segs)
    if shuffle:
        # any order is allowed; segments with the same start keep their relative order
        order = sorted(range(len(segs)), key=lambda i: (segs[i][0], i))
        groups = {}
        for i in order:
            groups.setdefault(segs[i][0], []).append(segs[i])
        keys = list(groups)
        rng.shuffle(keys)
        segs = [s for k in keys for s in groups[k]]
    with open(path, "w") as f:
        for a, b, l in segs:
            f.write(f"{a!r}\t{b!r}\t{l}\n")


def sorted_segs(segs):
    order = np.argsort([s[0] for s in segs], kind="stable")
    segs = [segs[i] for i in order]
    iv = np.array([[a, b] for a, b, _ in segs], float).reshape(-1, 2)
    return iv, [l for _, _, l in segs]


def oracle_chord_track(ref, est):
    """majmin and root exactly as mir_eval.chord.evaluate computes them (its own steps:
    util.adjust_intervals, util.merge_labeled_intervals, intervals_to_durations, the comparison,
    weighted_accuracy), kept in seconds for the set-level score; evaluate itself is called too
    where it can run (its segmentation scores raise on zero-length segments)."""
    ri, rl = sorted_segs(ref)
    ei, el = sorted_segs(est)
    ei2, el2 = mir_eval.util.adjust_intervals(ei, list(el), ri.min(), ri.max(), mir_eval.chord.NO_CHORD,
                                              mir_eval.chord.NO_CHORD)
    iv, r_lab, e_lab = mir_eval.util.merge_labeled_intervals(ri, rl, ei2, el2)
    w = mir_eval.util.intervals_to_durations(iv)
    out = {"duration": float(ri.max() - ri.min())}
    for name, fn in [("majmin", mir_eval.chord.majmin), ("root", mir_eval.chord.root)]:
        c = fn(r_lab, e_lab)
        valid = c >= 0
        out[name] = float(mir_eval.chord.weighted_accuracy(c, w))
        out[name + "_correct"] = float(np.sum(c[valid] * w[valid]))
        out[name + "_scored"] = float(np.sum(w[valid]))
    try:
        ev = mir_eval.chord.evaluate(ri, rl, ei, el)
    except ValueError as e:
        if "strictly positive" not in str(e):
            raise
        oracle_chord_track.skipped += 1
        return out
    for name in ["majmin", "root"]:
        if abs(ev[name] - out[name]) > 1e-12:
            check(False, f"oracle self-check: evaluate's {name} {ev[name]} vs its steps {out[name]}")
    return out


oracle_chord_track.skipped = 0


def oracle_chord(tracks):
    per = {i: oracle_chord_track(r, e) for i, (r, e) in tracks.items()}
    tot = lambda k: sum(p[k] for p in per.values())
    return {"majmin": tot("majmin_correct") / tot("majmin_scored") if tot("majmin_scored") else 0.0,
            "root": tot("root_correct") / tot("root_scored") if tot("root_scored") else 0.0,
            "majmin_mean": float(np.mean([p["majmin"] for p in per.values()])),
            "root_mean": float(np.mean([p["root"] for p in per.values()])),
            "n": len(tracks), "duration": tot("duration"), "majmin_scored_duration": tot("majmin_scored"),
            "root_scored_duration": tot("root_scored"),
            "per_track": {i: {"majmin": p["majmin"], "root": p["root"]} for i, p in per.items()}}


def chord_case(what, tracks, known=None, shuffle=False):
    ref_dir, est_dir = new_dir(), new_dir()
    for i, (r, e) in tracks.items():
        write_lab(os.path.join(ref_dir, i + ".lab"), r, shuffle)
        write_lab(os.path.join(est_dir, i + ".lab"), e, shuffle)
    judge("chord " + what, scores_of("chord " + what, "chord", "--ref", ref_dir, "--est", est_dir),
          oracle_chord(tracks), known)


chord_tracks = {f"c{i:03d}": chord_track() for i in range(200)}
chord_tracks["empty_est"] = (chord_tracks["c000"][0], [])
chord_case("200 random tracks", chord_tracks)
chord_case("200 random tracks, lines shuffled", {k: v for k, v in list(chord_tracks.items())[:60]}, shuffle=True)
print(f"     (mir_eval.chord.evaluate itself refused {oracle_chord_track.skipped} of those tracks for zero-length "
      "segments in its segmentation scores; their majmin/root come from its steps alone)")
# Hand-made. N matches N; X in the reference is not scored; the estimate is padded with N.
chord_case("known", {
    "a": ([(0.0, 2.0, "C:maj"), (2.0, 4.0, "A:min"), (4.0, 5.0, "X"), (5.0, 6.0, "N")],
          [(0.0, 1.0, "C"), (1.0, 3.0, "C:7"), (3.0, 4.0, "A:min7"), (4.0, 5.0, "G"), (5.0, 5.5, "N")])},
    # majmin: [0,1] C=C:maj 1; [1,2] C:7 vs C:maj: first 8 semitones equal -> 1; [2,3] C:7 vs A:min 0;
    # [3,4] A:min7 vs A:min 1; [4,5] X skipped; [5,6] N vs N (est padded with N after 5.5) 1.
    # -> 4 of 5 s. root: same pieces; [3,4] A=A 1 -> 4 of 5 s.
    {"majmin": 0.8, "root": 0.8, "majmin_mean": 0.8, "duration": 6.0, "majmin_scored_duration": 5.0})
chord_case("out of gamut reference (sus4, maj/2) skipped by majmin, not by root", {
    "a": ([(0.0, 1.0, "C:sus4"), (1.0, 2.0, "D:maj/2"), (2.0, 3.0, "E:min")],
          [(0.0, 1.0, "C:maj"), (1.0, 2.0, "D:maj"), (2.0, 3.0, "E:min")])},
    {"majmin": 1.0, "root": 1.0, "majmin_scored_duration": 1.0, "root_scored_duration": 3.0})
chord_case("empty estimate = all N", {"a": ([(0.0, 1.0, "N"), (1.0, 3.0, "C:maj")], [])},
           {"majmin": 1 / 3, "root": 1 / 3})
# A label mir_eval cannot encode anywhere it would encode it is refused.
for label in ["C:maj11", "C:aug7"]:
    try:
        mir_eval.chord.evaluate(np.array([[0.0, 1.0]]), [label], np.array([[0.0, 1.0]]), ["C"])
        raised = False
    except Exception:
        raised = True
    check(raised, f"oracle agrees: mir_eval refuses {label}")

# =============================================================================================
# 3. SDR
def write_wav(path, x, sr, dtype):
    if dtype == "int16":
        wavfile.write(path, sr, x.astype(np.int16))
    else:
        wavfile.write(path, sr, x.astype(np.float32))


def as_decoded(x, dtype):
    x = x.astype(np.int16).astype(np.float64) / 32768.0 if dtype == "int16" else x.astype(np.float32).astype(np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


def sdr(s, e):
    e = np.concatenate([e, np.zeros(max(0, len(s) - len(e)))])[:len(s)]  # cut / zero-pad to the reference
    return 10 * np.log10((np.sum(s * s) + 1e-7) / (np.sum((s - e) ** 2) + 1e-7))


def sdr_case(what, tracks, sr=8000, known=None):
    """tracks: id -> {source: (ref array, est array, dtype)}."""
    ref_dir, est_dir = new_dir(), new_dir()
    per, by_src = {}, {}
    for i, srcs in tracks.items():
        os.makedirs(os.path.join(ref_dir, i))
        os.makedirs(os.path.join(est_dir, i))
        per[i] = {}
        for src, (r, e, dtype) in srcs.items():
            write_wav(os.path.join(ref_dir, i, src + ".wav"), r, sr, dtype)
            if e is None:
                continue  # a reference-only source (e.g. the mixture)
            write_wav(os.path.join(est_dir, i, src + ".wav"), e, sr, dtype)
            v = sdr(as_decoded(r, dtype), as_decoded(e, dtype))
            per[i][src] = v
            by_src.setdefault(src, []).append(v)
    want = {"sources": {s: {"mean": float(np.mean(v)), "median": float(np.median(v)), "tracks": len(v)}
                        for s, v in by_src.items()},
            "mean": float(np.mean([np.mean(v) for v in by_src.values()])), "n": len(tracks), "per_track": per}
    got, err = scores_and_stderr("sdr " + what, "sdr", "--ref", ref_dir, "--est", est_dir)
    judge("sdr " + what, got, want)
    if known:
        judge("sdr " + what + " [known answer]", got, known)
    return got, err


def noisy(x, snr_db):
    n = rng.standard_normal(x.shape)
    return x + n * np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10))


tr = {}
for i in range(7):  # odd count: median is the middle one; the 4-track case below has an even count
    n = int(rng.integers(4000, 12000))
    srcs = {}
    for src in ["bass", "drums", "vocals"]:
        r = rng.standard_normal(n) * rng.uniform(0.01, 0.3)
        srcs[src] = (r, noisy(r, rng.uniform(-5, 20)), "float32")
    srcs["mixture"] = (sum(v[0] for v in srcs.values()), None, "float32")
    tr[f"song{i}"] = srcs
got, err = sdr_case("7 tracks, 3 sources + reference-only mixture", tr)
check(err == "", f"sdr: nothing on stderr when lengths agree ({err.strip()!r})")
n = 6000
r = rng.standard_normal(n) * 0.1
tr = {"short": {"x": (r, noisy(r, 10)[:5000], "float32")},  # estimate zero-padded
      "long": {"x": (r, np.concatenate([noisy(r, 10), rng.standard_normal(900)]), "float32")},  # cut
      "silent_ref": {"x": (np.zeros(n), rng.standard_normal(n) * 0.01, "float32")},
      "perfect": {"x": (r, r.copy(), "float32")}}
got, err = sdr_case("lengths differ, silent reference, perfect estimate (even count)", tr)
check("warning" in err and "2 estimate(s) cut or zero-padded" in err, f"sdr: length mismatch warned ({err.strip()!r})")
ri = (rng.standard_normal(n) * 3000).clip(-32768, 32767)
st = rng.standard_normal((n, 2)) * 0.2
got, err = sdr_case("int16 and stereo (mono downmix)",
                    {"a": {"p": (ri, ri + rng.standard_normal(n) * 300, "int16"),
                           "q": (st, st + rng.standard_normal((n, 2)) * 0.05, "float32")}})
check("mono downmix" in err, f"sdr: stereo pair warned about ({err.strip()!r})")
sdr_case("known: estimate = reference / 2", {"a": {"v": (np.ones(1000) * 0.5, np.ones(1000) * 0.25, "float32")}},
         known={"mean": 10 * np.log10((250 + 1e-7) / (62.5 + 1e-7))})

# =============================================================================================
# 4. Bad input: exit code 2, one line on stderr naming the problem, nothing on stdout.
def beats_dir(files):
    d = new_dir()
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


R = beats_dir({"a.beats": "1.0\n2.0\n", "b.beats": "1.0\n"})
bad("beat ids differ", ["beat", "--ref", R, "--est", beats_dir({"a.beats": "1\n", "c.beats": "1\n"})],
    "1 id only in " + R + " ('b'), 1 id only in")
bad("beat not a number", ["beat", "--ref", R, "--est", beats_dir({"a.beats": "1.0\nabc\n", "b.beats": "1\n"})],
    "a.beats:2")
bad("beat NaN", ["beat", "--ref", R, "--est", beats_dir({"a.beats": "nan\n", "b.beats": "1\n"})], "finite")
bad("beat past 30000 s", ["beat", "--ref", R, "--est", beats_dir({"a.beats": "30000.5\n", "b.beats": "1\n"})],
    "30000")
bad("beat no files", ["beat", "--ref", R, "--est", new_dir()], "no *.beats files")
bad("beat missing dir", ["beat", "--ref", R, "--est", os.path.join(tmp, "nope")], "not a directory")
bad("beat missing option", ["beat", "--ref", R], "--est")
L = beats_dir({"a.lab": "0\t1\tC:maj\n1\t2\tA:min\n"})


def lab_bad(what, text, needle):
    bad("chord " + what, ["chord", "--ref", L, "--est", beats_dir({"a.lab": text})], needle)


lab_bad("unknown label", "0\t2\tC:major\n", "invalid chord label 'C:major'")
lab_bad("aug7 (grammar yes, mir_eval no)", "0\t2\tC:aug7\n", "C:aug7")
lab_bad("maj11", "0\t2\tC:maj11\n", "C:maj11")
lab_bad("bad root", "0\t2\tH:min\n", "H:min")
lab_bad("two fields", "0\t2\n", "a.lab:1")
lab_bad("overlap", "0\t1.5\tC\n1\t2\tG\n", "overlaps")
lab_bad("end before start", "0\t1\tC\n2\t1.5\tG\n", "ends before it starts")
lab_bad("time not a number", "0\tone\tC\n", "a.lab:1")
bad("chord negative reference time", ["chord", "--ref", beats_dir({"a.lab": "-1\t1\tC\n"}), "--est", L], "before 0")
bad("chord empty reference", ["chord", "--ref", beats_dir({"a.lab": "# nothing\n"}), "--est", L], "no chord segments")
bad("chord zero-span reference", ["chord", "--ref", beats_dir({"a.lab": "1\t1\tC\n"}), "--est", L], "covers no time")
bad("chord ids differ", ["chord", "--ref", L, "--est", beats_dir({"b.lab": "0\t1\tC\n"})], "hold different ids")
S = new_dir()
os.makedirs(os.path.join(S, "t"))
write_wav(os.path.join(S, "t", "bass.wav"), np.zeros(100), 8000, "float32")


def sdr_est(files, sr=8000):
    d = new_dir()
    os.makedirs(os.path.join(d, "t"))
    for name, x in files.items():
        write_wav(os.path.join(d, "t", name), x, sr, "float32")
    return d


bad("sdr sample rate", ["sdr", "--ref", S, "--est", sdr_est({"bass.wav": np.zeros(100)}, 16000)], "16000 Hz")
bad("sdr channels", ["sdr", "--ref", S, "--est", sdr_est({"bass.wav": np.zeros((100, 2))})], "channel")
bad("sdr source missing in reference", ["sdr", "--ref", S, "--est", sdr_est({"drums.wav": np.zeros(100)})],
    "no reference audio for source 'drums'")
bad("sdr no tracks", ["sdr", "--ref", S, "--est", new_dir()], "no track directories")
bad("sdr ids differ", ["sdr", "--ref", S, "--est", os.path.dirname(sdr_est({}))], "hold different ids")
p = sdr_est({"bass.wav": np.zeros(100)})
with open(os.path.join(p, "t", "bass.wav"), "wb") as f:
    f.write(b"RIFF\x00\x00")
bad("sdr corrupt audio", ["sdr", "--ref", S, "--est", p], "bass.wav")

for args in [["beat", "--help"], ["chord", "--help"], ["sdr", "--help"]]:
    p = run(*args)
    check(p.returncode == 0 and "usage: mert metrics" in p.stdout, "help " + " ".join(args))

finish()
