#!/usr/bin/python3
"""k-means oracle: `mert label fit` against scikit-learn on the same frames.

For each case the same float32 frames are written to an .npy file, fitted by
`$MERT_BIN label fit` (frames used as-is) and by scikit-learn (KMeans with n_init=1 and the same
max_iter/tol for Lloyd; MiniBatchKMeans with the same batch size, max_iter, max_no_improvement
and reassignment_ratio=0, HuBERT's setting, for mini-batch). Our inertia, which must also equal
the inertia of the written codebook recomputed here in float64, has to be within 2% of
scikit-learn's: ours <= 1.02 * sklearn's. Exits non-zero on failure.

scikit-learn runs single-threaded here (its OpenMP spin-waits crawl on shared, loaded cores);
bench/kmeans_vs_sklearn.py compares speed.

Run: MERT_BIN=build/mert /usr/bin/python3 tests/teachers/test_kmeans_oracle.py [--quick]
Exit status 0 = all cases passed, 1 = a case failed, 2 = setup problem.

The frame generators live here and are shared with bench/kmeans_vs_sklearn.py.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

TOLERANCE = 1.02


# ------------------------------------------------------------------------------------------
# Frames


def blob_frames(n, dim, centres, seed):
    """Gaussian blobs with uneven sizes and spreads (float32 [n, dim])."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-10, 10, size=(centres, dim))
    weights = rng.dirichlet(np.full(centres, 2.0))
    spread = rng.uniform(0.5, 2.0, size=centres)
    lab = rng.choice(centres, size=n, p=weights)
    x = c[lab] + rng.standard_normal((n, dim)) * spread[lab, None]
    return x.astype(np.float32)


def _synth_music(seconds, sr, rng):
    """Notes with harmonic partials, decays and vibrato, drum-like noise bursts and silences."""
    n = int(seconds * sr)
    y = np.zeros(n, dtype=np.float64)
    t = 0
    while t < n:
        dur = int(rng.uniform(0.08, 0.6) * sr)
        seg = min(dur, n - t)
        kind = rng.random()
        tt = np.arange(seg) / sr
        if kind < 0.1:
            pass  # silence
        elif kind < 0.25:  # percussive noise burst
            y[t:t + seg] += rng.standard_normal(seg) * np.exp(-tt * rng.uniform(10, 40)) * 0.3
        else:
            voices = rng.integers(1, 4)
            for _ in range(voices):
                midi = rng.integers(36, 96)
                f0 = 440.0 * 2 ** ((midi - 69) / 12)
                vib = 1 + 0.005 * np.sin(2 * np.pi * rng.uniform(4, 7) * tt)
                phase = 2 * np.pi * f0 * np.cumsum(vib) / sr
                bright = rng.uniform(0.3, 0.9)
                env = np.exp(-tt * rng.uniform(0.5, 6)) * rng.uniform(0.05, 0.3)
                for h in range(1, 12):
                    if f0 * h > sr / 2:
                        break
                    y[t:t + seg] += env * bright ** (h - 1) * np.sin(h * phase)
        t += seg
    y += rng.standard_normal(n) * 1e-3
    return y


def _mel_filters(n_fft, sr, n_mels):
    def hz2mel(f):
        return 2595 * np.log10(1 + f / 700)

    def mel2hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    pts = mel2hz(np.linspace(hz2mel(20), hz2mel(sr / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return fb


def _deltas(x, width=2):
    pad = np.pad(x, ((width, width), (0, 0)), mode="edge")
    num = sum(k * (pad[width + k:len(x) + width + k] - pad[width - k:len(x) + width - k])
              for k in range(1, width + 1))
    return num / (2 * sum(k * k for k in range(1, width + 1)))


def mfcc_frames(n, seed, sr=16000, hop=160, n_fft=400):
    """HuBERT-style teacher frames: 13 MFCCs + deltas + delta-deltas (float32 [n, 39]) of
    synthetic music, 100 frames per second."""
    rng = np.random.default_rng(seed)
    y = _synth_music((n + 3) * hop / sr, sr, rng)
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    frames = y[idx] * np.hanning(n_fft)[None, :]
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    logmel = np.log(power @ _mel_filters(n_fft, sr, 40).T + 1e-10)
    k = np.arange(40)
    dct = np.cos(np.pi / 40 * (k[None, :] + 0.5) * np.arange(13)[:, None]) * np.sqrt(2 / 40)
    mfcc = logmel @ dct.T
    d1 = _deltas(mfcc)
    d2 = _deltas(d1)
    return np.concatenate([mfcc, d1, d2], axis=1).astype(np.float32)


# ------------------------------------------------------------------------------------------
# Fitting


def inertia_f64(x, c):
    """Exact sum of squared distances to the nearest centroid, in float64, chunked."""
    x = x.astype(np.float64)
    c = c.astype(np.float64)
    cn = (c * c).sum(1)
    total = 0.0
    for i in range(0, len(x), 8192):
        xb = x[i:i + 8192]
        d = (xb * xb).sum(1)[:, None] - 2 * xb @ c.T + cn[None, :]
        j = d.argmin(1)
        total += ((xb - c[j]) ** 2).sum()
    return total


def read_codebook(path):
    """The largest 2-D F32 tensor of a .safetensors file: the centroids."""
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
        base = 8 + hlen
        best = None
        for name, info in header.items():
            if name == "__metadata__" or info.get("dtype") != "F32" or len(info["shape"]) != 2:
                continue
            if best is None or np.prod(info["shape"]) > np.prod(best[1]["shape"]):
                best = (name, info)
        if best is None:
            raise RuntimeError(f"{path}: no 2-D float32 tensor")
        a, b = best[1]["data_offsets"]
        f.seek(base + a)
        return np.frombuffer(f.read(b - a), dtype=np.float32).reshape(best[1]["shape"])


def fit_ours(mert_bin, npy, k, algorithm, batch, max_iter, n_init, seed, threads, tmp, tol=1e-4,
             max_no_improvement=100):
    report = os.path.join(tmp, "report.json")
    book = os.path.join(tmp, "codebook.safetensors")
    cmd = [mert_bin, "label", "fit", "--clusters", str(k), "--algorithm", algorithm,
           "--batch-size", str(batch), "--max-iter", str(max_iter), "--n-init", str(n_init),
           "--seed", str(seed), "--threads", str(threads), "--sample-frames", "0",
           "--tol", repr(tol), "--max-no-improvement", str(max_no_improvement),
           "--report", report, "-o", book, npy]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    with open(report) as f:
        rep = json.load(f)
    rep["wall_seconds"] = wall
    rep["centroids"] = read_codebook(book)
    return rep


def fit_sklearn(x, k, algorithm, batch, max_iter, n_init, seed, tol=1e-4, max_no_improvement=100,
                threads=None):
    """scikit-learn's fit; threads limits its OpenMP/BLAS pools (None: their defaults)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from threadpoolctl import threadpool_limits
    if algorithm == "lloyd":
        km = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=max_iter, tol=tol,
                    algorithm="lloyd", random_state=seed)
    else:
        km = MiniBatchKMeans(n_clusters=k, init="k-means++", max_iter=max_iter, batch_size=batch,
                             tol=0.0, max_no_improvement=max_no_improvement, n_init=n_init,
                             reassignment_ratio=0.0, random_state=seed)
    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        km.fit(x)
        secs = time.perf_counter() - t0
    return {"inertia": float(km.inertia_), "iterations": int(km.n_iter_), "fit_seconds": secs,
            "centroids": km.cluster_centers_, "model": km}


# (name, frames generator, k, algorithm, batch, max_iter, n_init, seeds). With fewer clusters
# than blobs, which blobs merge is a coin toss worth a few % of inertia for either library, so the
# blob cases compare inertia summed over three seeds; the MFCC-like frames vary much less.
CASES = [
    ("blobs-lloyd", lambda: blob_frames(20000, 39, 60, 1), 50, "lloyd", 10000, 100, 1, (0, 1, 2)),
    ("blobs-minibatch", lambda: blob_frames(30000, 39, 120, 2), 100, "minibatch", 2048, 100, 3, (0, 1, 2)),
    ("mfcc-lloyd", lambda: mfcc_frames(40000, 3), 200, "lloyd", 10000, 50, 1, (0,)),
    ("mfcc-minibatch", lambda: mfcc_frames(60000, 4), 500, "minibatch", 10000, 100, 3, (0,)),
]
QUICK = {"blobs-lloyd", "mfcc-minibatch"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two cases only")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    mert_bin = os.environ.get("MERT_BIN")
    if not mert_bin or not os.path.exists(mert_bin):
        print("MERT_BIN must point to the mert binary", file=sys.stderr)
        return 2
    try:
        import sklearn  # noqa: F401
        import threadpoolctl  # noqa: F401
    except ImportError as e:
        print(f"scikit-learn is needed (Debian: python3-sklearn): {e}", file=sys.stderr)
        return 2
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, gen, k, algo, batch, max_iter, n_init, seeds in CASES:
            if args.quick and name not in QUICK:
                continue
            x = gen()
            npy = os.path.join(tmp, name + ".npy")
            np.save(npy, x)
            ours_total = ref_total = 0.0
            ok = True
            for seed in seeds:
                ours = fit_ours(mert_bin, npy, k, algo, batch, max_iter, n_init, seed, args.threads, tmp)
                ref = fit_sklearn(x, k, algo, batch, max_iter, n_init, seed, threads=1)
                exact = inertia_f64(x, ours["centroids"])
                exact_ok = abs(exact - ours["inertia"]) <= 1e-6 * exact
                shape_ok = ours["centroids"].shape == (k, x.shape[1]) and ours["frames"] == len(x)
                ok = ok and exact_ok and shape_ok
                ours_total += ours["inertia"]
                ref_total += ref["inertia"]
                if algo == "minibatch":  # ours: steps; sklearn: passes over the data
                    its = f"steps {ours['iterations']}/{ref['model'].n_steps_}"
                else:
                    its = f"iterations {ours['iterations']}/{ref['iterations']}"
                print(f"     {name:16s} seed {seed}: inertia ours/sklearn = {ours['inertia'] / ref['inertia']:.4f} "
                      f"(codebook recomputed: {'ok' if exact_ok else 'MISMATCH %.9f' % (exact / ours['inertia'])}) "
                      f"{its} fit {ours['fit_seconds']:.2f}s/{ref['fit_seconds']:.2f}s", flush=True)
            ratio = ours_total / ref_total
            ok = ok and ratio <= TOLERANCE
            print(f"{'ok  ' if ok else 'FAIL'} {name:16s} {len(x)}x{x.shape[1]} k={k} {algo:9s} "
                  f"inertia ours/sklearn = {ratio:.4f} (limit {TOLERANCE})", flush=True)
            if not ok:
                failures.append(name)
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("all k-means oracle cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
