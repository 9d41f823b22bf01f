#!/usr/bin/python3
"""Benchmark: our k-means against scikit-learn on the same frames and settings.

Fits (through `$MERT_BIN label fit` on an .npy of the frames; its report gives the k-means
seconds) and nearest-centroid assignment over a large frame set (mert::kmeans_assign via a small
driver compiled here from src/teachers/kmeans*.cpp, against sklearn's predict) on HuBERT-style
MFCC frames (13 MFCCs + deltas + delta-deltas of synthetic music; generator shared with
tests/teachers/test_kmeans_oracle.py). Both sides use 2 threads. scikit-learn runs with
OMP_WAIT_POLICY=passive, as its default spin-waiting slows it down badly when the cores are
shared; it is also timed with 1 thread and the faster of the two is the one compared.
Prints a markdown table.

Run: MERT_BIN=build/mert /usr/bin/python3 bench/kmeans_vs_sklearn.py [--frames 200000] [--quick]
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before numpy/sklearn load libgomp

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_spec = importlib.util.spec_from_file_location(
    "kmeans_oracle", os.path.join(ROOT, "tests", "teachers", "test_kmeans_oracle.py"))
oracle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracle)

ASSIGN_DRIVER = r"""
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include "teachers/kmeans.h"
static mert::FeatureMatrix load(const char* path) {
  std::ifstream f(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  uint16_t hl;
  std::memcpy(&hl, all.data() + 8, 2);
  const std::string hdr = all.substr(10, hl);
  long r = 0, c = 0;
  std::sscanf(hdr.c_str() + hdr.find("'shape': (") + 10, "%ld, %ld", &r, &c);
  mert::FeatureMatrix m(r, c);
  std::memcpy(m.data.data(), all.data() + 10 + hl, static_cast<size_t>(r * c) * 4);
  return m;
}
int main(int argc, char** argv) {  // frames.npy centroids.npy threads repeats labels.out
  const mert::FeatureMatrix x = load(argv[1]), c = load(argv[2]);
  const int threads = std::atoi(argv[3]), repeats = std::atoi(argv[4]);
  std::vector<int32_t> labels(static_cast<size_t>(x.rows));
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    mert::kmeans_assign(c, x.data.data(), x.rows, labels.data(), nullptr, threads);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::FILE* f = std::fopen(argv[5], "wb");
  std::fwrite(labels.data(), 4, labels.size(), f);
  std::fclose(f);
  std::printf("%.6f\n", best);
}
"""


def build_assign_driver(tmp):
    src = os.path.join(tmp, "assign.cpp")
    exe = os.path.join(tmp, "assign")
    with open(src, "w") as f:
        f.write(ASSIGN_DRIVER)
    teachers = os.path.join(ROOT, "src", "teachers")
    sources = sorted(os.path.join(teachers, n) for n in os.listdir(teachers)
                     if n.startswith("kmeans") and n.endswith(".cpp"))
    cmd = ["g++", "-O3", "-DNDEBUG", "-std=c++17", "-I", os.path.join(ROOT, "include"),
           "-I", os.path.join(ROOT, "src"), src, *sources, "-o", exe, "-lpthread"]
    subprocess.run(cmd, check=True)
    return exe


def sklearn_best(x, k, algo, batch, max_iter, n_init, seed, threads):
    """sklearn fitted with each thread count; the fastest run."""
    best = None
    for t in threads:
        r = oracle.fit_sklearn(x, k, algo, batch, max_iter, n_init, seed, threads=t)
        r["threads"] = t
        print(f"  sklearn {algo} k={k} threads={t}: {r['fit_seconds']:.2f} s, inertia {r['inertia']:.6g}",
              flush=True)
        if best is None or r["fit_seconds"] < best["fit_seconds"]:
            best = r
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200000, help="MFCC-like frames to fit on")
    ap.add_argument("--assign-copies", type=int, default=5,
                    help="the assignment set is this many jittered copies of the frames")
    ap.add_argument("--clusters", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, HuBERT n_init 20 -> 3")
    args = ap.parse_args()
    mert_bin = os.environ.get("MERT_BIN")
    if not mert_bin or not os.path.exists(mert_bin):
        print("MERT_BIN must point to the mert binary", file=sys.stderr)
        return 2
    if args.quick:
        args.frames = min(args.frames, 60000)
        args.assign_copies = min(args.assign_copies, 2)
    k, threads = args.clusters, 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        driver = build_assign_driver(tmp)
        t0 = time.perf_counter()
        x = oracle.mfcc_frames(args.frames, 11)
        print(f"frames: {x.shape} MFCC-like, generated in {time.perf_counter() - t0:.1f} s", flush=True)

        # (label, frames, algorithm, batch, max_iter, n_init)
        lloyd_n = min(len(x), 100000)
        cases = [
            ("Lloyd vs KMeans", x[:lloyd_n], "lloyd", 10000, 100, 1),
            ("mini-batch vs MiniBatchKMeans, HuBERT recipe", x, "minibatch", 10000, 100, 3 if args.quick else 20),
        ]
        codebook = None
        for label, xs, algo, batch, max_iter, n_init in cases:
            npy = os.path.join(tmp, "fit.npy")
            np.save(npy, xs)
            ours = oracle.fit_ours(mert_bin, npy, k, algo, batch, max_iter, n_init, args.seed, threads, tmp)
            print(f"  ours {algo} k={k}: {ours['fit_seconds']:.2f} s, inertia {ours['inertia']:.6g}, "
                  f"{ours['iterations']} {'steps' if algo == 'minibatch' else 'iterations'}", flush=True)
            ref = sklearn_best(xs, k, algo, batch, max_iter, n_init, args.seed, (1, threads))
            rows.append((label + f", n_init={n_init}", len(xs), xs.shape[1], k, algo, ours["fit_seconds"],
                         ref["fit_seconds"], ref["threads"], ours["inertia"] / ref["inertia"]))
            if algo == "minibatch":
                codebook = (ours["centroids"], ref["model"])

        # Assignment over a large set: jittered copies of the frames.
        rng = np.random.default_rng(1)
        big = np.concatenate([x] + [x + rng.standard_normal(x.shape).astype(np.float32) * 0.1 * x.std(0)
                                    for _ in range(args.assign_copies - 1)])
        big_npy = os.path.join(tmp, "big.npy")
        cent_npy = os.path.join(tmp, "centroids.npy")
        np.save(big_npy, big)
        centroids, model = codebook
        np.save(cent_npy, np.ascontiguousarray(centroids, dtype=np.float32))
        out = os.path.join(tmp, "labels.i32")
        secs = float(subprocess.run([driver, big_npy, cent_npy, str(threads), "3", out], check=True,
                                    capture_output=True, text=True).stdout)
        ours_labels = np.fromfile(out, dtype=np.int32)
        print(f"  ours assign {big.shape[0]} x {big.shape[1]} -> {k}: {secs:.3f} s", flush=True)
        from threadpoolctl import threadpool_limits
        model.cluster_centers_ = np.ascontiguousarray(centroids, dtype=np.float32)
        best_ref, ref_threads = None, None
        for t in (1, threads):
            with threadpool_limits(limits=t):
                s = []
                for _ in range(2):
                    t0 = time.perf_counter()
                    ref_labels = model.predict(big)
                    s.append(time.perf_counter() - t0)
            print(f"  sklearn predict threads={t}: {min(s):.3f} s", flush=True)
            if best_ref is None or min(s) < best_ref:
                best_ref, ref_threads = min(s), t
        agree = float((ref_labels == ours_labels).mean())
        rows.append((f"assign (labels agree {agree * 100:.3f}%)", len(big), big.shape[1], k, "assign", secs,
                     best_ref, ref_threads, 1.0))

    print()
    print("| case | frames | dim | k | algorithm | ours s (2 thr) | sklearn s (threads) | speed-up | inertia ours/sklearn |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for label, n, dim, kk, algo, ours_s, ref_s, ref_t, ratio in rows:
        inertia = "—" if algo == "assign" else f"{ratio:.4f}"
        print(f"| {label} | {n} | {dim} | {kk} | {algo} | {ours_s:.3f} | {ref_s:.3f} ({ref_t}) | "
              f"{ref_s / ours_s:.1f}x | {inertia} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
