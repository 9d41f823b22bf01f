// CQT tests: the FFT implementation against an independent double-precision brute force of the
// nnAudio CQT1992v2 definition, pure-tone localisation, frame counts, validation, determinism,
// and a speed report (printed, not asserted).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <set>
#include <vector>

#include "mert/cqt.h"
#include "mert/error.h"
#include "teachers/cqt_kernels.h"

namespace {

using mert::Cqt;
using mert::CqtConfig;
using mert::FeatureMatrix;

constexpr double kPi = 3.14159265358979323846;

// ---- independent reference: kernels built in the time domain, in double, from the definition ----
struct RefKernel {
  int64_t start = 0;
  std::vector<std::complex<double>> sig;  // length l
};

struct RefCqt {
  CqtConfig cfg;
  int64_t W = 0;
  std::vector<RefKernel> kernels;

  explicit RefCqt(const CqtConfig& c) : cfg(c) {
    const double Q = c.filter_scale / (std::pow(2.0, 1.0 / double(c.bins_per_octave)) - 1.0);
    W = int64_t(std::llround(std::pow(2.0, std::ceil(std::log2(std::ceil(Q * c.sample_rate / c.fmin))))));
    for (int64_t k = 0; k < c.n_bins; ++k) {
      const double f = c.fmin * std::pow(2.0, double(k) / double(c.bins_per_octave));
      const int64_t l = int64_t(std::ceil(Q * c.sample_rate / f));
      RefKernel rk;
      rk.start = int64_t(std::ceil(double(W) / 2.0 - double(l) / 2.0)) - (l % 2 == 1 ? 1 : 0);
      // numpy: np.r_[-l//2 : l//2] = arange(floor(-l/2), floor(l/2)) -> l integers.
      const int64_t n_first = int64_t(std::floor(-double(l) / 2.0));
      double l1 = 0;
      for (int64_t m = 0; m < l; ++m) {
        const double w = 0.5 - 0.5 * std::cos(2 * kPi * double(m) / double(l));  // periodic Hann
        const double n = double(n_first + m);
        const std::complex<double> v = w * std::exp(std::complex<double>(0, 2 * kPi * f * n / c.sample_rate)) / double(l);
        rk.sig.push_back(v);
        l1 += std::abs(v);
      }
      for (auto& v : rk.sig) v /= l1;
      if (c.librosa_scaling) {
        for (auto& v : rk.sig) v *= std::sqrt(double(l));
      }
      kernels.push_back(std::move(rk));
    }
  }

  int64_t frames(int64_t S) const {
    const int64_t padded = S + (cfg.center ? 2 * (W / 2) : 0);
    return padded < W ? 0 : (padded - W) / cfg.hop + 1;
  }

  // |sum_n xpad[t*hop + n] conj(K_k[n])| for all bins.
  std::vector<double> frame(const std::vector<float>& x, int64_t t) const {
    const int64_t pad = cfg.center ? W / 2 : 0;
    const int64_t S = int64_t(x.size());
    std::vector<double> out;
    for (const auto& rk : kernels) {
      std::complex<double> acc = 0;
      const int64_t base = t * cfg.hop + rk.start - pad;
      for (size_t m = 0; m < rk.sig.size(); ++m) {
        const int64_t i = base + int64_t(m);
        if (i >= 0 && i < S) acc += double(x[size_t(i)]) * std::conj(rk.sig[m]);
      }
      out.push_back(std::abs(acc));
    }
    return out;
  }
};

std::vector<float> white_noise(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

// Notes with a few partials, staggered onsets and Hann-ish fades, so the signal has edges.
std::vector<float> music(int64_t n, double sr) {
  struct Note {
    double f0, t_on, t_off, amp;
  };
  const Note notes[] = {{110.0, 0.0, 2.2, 0.5},   {261.63, 0.3, 1.6, 0.4}, {329.63, 0.9, 2.9, 0.3},
                        {392.0, 1.2, 2.5, 0.3},   {1318.5, 0.5, 1.1, 0.2}, {55.0, 1.5, 3.0, 0.4},
                        {2093.0, 2.0, 2.8, 0.15}, {36.7, 0.0, 3.0, 0.2}};
  std::vector<float> x(size_t(n), 0.0f);
  for (const Note& nt : notes) {
    for (int h = 1; h <= 4; ++h) {
      const double f = nt.f0 * h;
      if (f >= sr / 2) continue;
      for (int64_t i = int64_t(nt.t_on * sr); i < std::min<int64_t>(n, int64_t(nt.t_off * sr)); ++i) {
        const double t = double(i) / sr;
        const double env = std::min(1.0, std::min(t - nt.t_on, nt.t_off - t) / 0.02);
        x[size_t(i)] += float(nt.amp / h * env * std::sin(2 * kPi * f * t + 0.3 * h));
      }
    }
  }
  return x;
}

std::vector<int64_t> check_frames(int64_t T, int64_t extra_stride) {
  std::set<int64_t> s = {0, 1, 2, T / 2, T - 3, T - 2, T - 1};
  for (int64_t t = extra_stride; t < T; t += extra_stride) s.insert(t);
  std::vector<int64_t> v;
  for (int64_t t : s) {
    if (t >= 0 && t < T) v.push_back(t);
  }
  return v;
}

// max over the given frames and all bins of |ours - ref| / max |ref|.
double relative_error(const CqtConfig& cfg, const std::vector<float>& x, const std::vector<int64_t>& frames) {
  Cqt cqt(cfg);
  const RefCqt ref(cfg);
  const FeatureMatrix out = cqt.compute(x.data(), int64_t(x.size()));
  EXPECT_EQ(out.rows, ref.frames(int64_t(x.size())));
  EXPECT_EQ(out.cols, cfg.n_bins);
  double max_ref = 0, max_diff = 0;
  for (int64_t t : frames) {
    const std::vector<double> r = ref.frame(x, t);
    for (int64_t k = 0; k < cfg.n_bins; ++k) {
      max_ref = std::max(max_ref, r[size_t(k)]);
      max_diff = std::max(max_diff, std::abs(double(out.at(t, k)) - r[size_t(k)]));
    }
  }
  EXPECT_GT(max_ref, 0.0);
  return max_diff / max_ref;
}

CqtConfig small_config(bool center) {
  CqtConfig c;
  c.sample_rate = 16000;
  c.fmin = 55;
  c.n_bins = 84;
  c.bins_per_octave = 12;
  c.hop = 256;
  c.center = center;
  return c;
}

}  // namespace

TEST(CqtBruteForce, KernelGeometryMatchesDefinition) {
  const CqtConfig cfg;
  Cqt cqt(cfg);
  EXPECT_EQ(cqt.kernel_width(), 65536);
  const RefCqt ref(cfg);
  EXPECT_EQ(ref.W, 65536);
  for (int64_t k : {0, 1, 47, 48, 200, 335}) {
    EXPECT_EQ(cqt.kernel_length(k), int64_t(ref.kernels[size_t(k)].sig.size())) << k;
    EXPECT_NEAR(cqt.bin_frequency(k), 32.7 * std::pow(2.0, k / 48.0), 1e-9);
  }
  EXPECT_EQ(cqt.kernel_length(0), 50460);  // ceil(Q * 24000 / 32.7), Q = 1 / (2^(1/48) - 1)
  EXPECT_THROW(cqt.kernel_length(336), mert::Error);
  EXPECT_THROW(cqt.bin_frequency(-1), mert::Error);
}

TEST(CqtBruteForce, WhiteNoiseMertDefaultsMultiBlock) {
  // 25 s: several FFT blocks; check frames at the edges, the middle and around block boundaries.
  const CqtConfig cfg;
  const std::vector<float> x = white_noise(25 * 24000, 1);
  auto bank = mert::cqt_detail::kernel_bank(cfg);
  std::vector<int64_t> frames = check_frames(int64_t(x.size()) / cfg.hop + 1, 600);
  for (int64_t b = bank->V; b < int64_t(x.size()) / cfg.hop; b += bank->V) {
    for (int64_t d : {-1, 0, 1}) frames.push_back(b + d);
  }
  for (int64_t t : {100, 102, 105, 1770, 1775}) frames.push_back(t);  // kernels straddling the signal edges
  const double err = relative_error(cfg, x, frames);
  std::printf("[cqt] white noise, MERT defaults, %zu frames: max rel err %.3g\n", frames.size(), err);
  EXPECT_LE(err, 1e-4);
}

TEST(CqtBruteForce, MusicMertDefaults) {
  const CqtConfig cfg;
  const std::vector<float> x = music(3 * 24000, cfg.sample_rate);
  const double err = relative_error(cfg, x, check_frames(int64_t(x.size()) / cfg.hop + 1, 17));
  std::printf("[cqt] music, MERT defaults: max rel err %.3g\n", err);
  EXPECT_LE(err, 1e-4);
}

TEST(CqtBruteForce, SmallConfigCentred) {
  const CqtConfig cfg = small_config(true);
  for (unsigned seed : {2u, 3u}) {
    const std::vector<float> x = seed == 2 ? white_noise(40000, seed) : music(40000, cfg.sample_rate);
    const double err = relative_error(cfg, x, check_frames(int64_t(x.size()) / cfg.hop + 1, 7));
    std::printf("[cqt] small config, centred, %s: max rel err %.3g\n", seed == 2 ? "noise" : "music", err);
    EXPECT_LE(err, 1e-4);
  }
}

TEST(CqtBruteForce, SmallConfigNotCentred) {
  const CqtConfig cfg = small_config(false);
  for (unsigned seed : {4u, 5u}) {
    const std::vector<float> x = seed == 4 ? white_noise(50000, seed) : music(50000, cfg.sample_rate);
    const int64_t T = (int64_t(x.size()) - 8192) / cfg.hop + 1;
    const double err = relative_error(cfg, x, check_frames(T, 9));
    std::printf("[cqt] small config, not centred, %s: max rel err %.3g\n", seed == 4 ? "noise" : "music", err);
    EXPECT_LE(err, 1e-4);
  }
}

TEST(CqtBruteForce, OddHopNoScalingLowQ) {
  // Odd hop (non-power-of-two block size), no librosa scaling, filter_scale 0.5 (short kernels,
  // wide spectra reaching negative frequencies).
  CqtConfig cfg;
  cfg.sample_rate = 22050;
  cfg.hop = 441;
  cfg.fmin = 40;
  cfg.n_bins = 100;
  cfg.bins_per_octave = 16;
  cfg.filter_scale = 0.5;
  cfg.librosa_scaling = false;
  const std::vector<float> x = white_noise(30000, 6);
  const double err = relative_error(cfg, x, check_frames(int64_t(x.size()) / cfg.hop + 1, 5));
  std::printf("[cqt] odd hop / low Q / unscaled: max rel err %.3g\n", err);
  EXPECT_LE(err, 1e-4);
}

TEST(CqtBruteForce, DigitalSilenceGapIsExactlyZero) {
  // Noise, 1.5 s of exact zeros, noise. Every output whose kernel taps all fall in the gap must
  // be exactly 0 (as the direct sum is) and every other output must not be; plus the usual
  // relative-error bound.
  // The gap start is aligned so that for bin 335 some frame's first kernel tap (weight 0) is the
  // last nonzero sample before the gap: that output is exactly 0 too.
  const CqtConfig cfg;
  Cqt cqt(cfg);
  const RefCqt ref(cfg);
  const int64_t pad = ref.W / 2, s335 = ref.kernels[335].start;
  int64_t gap_start = 24000;
  while ((gap_start - 1 + pad - s335) % cfg.hop != 0) ++gap_start;
  const int64_t t_aligned = (gap_start - 1 + pad - s335) / cfg.hop;
  std::vector<float> x = white_noise(4 * 24000, 10);
  std::fill(x.begin() + gap_start, x.begin() + 60000, 0.0f);
  const FeatureMatrix out = cqt.compute(x.data(), int64_t(x.size()));
  std::vector<int64_t> frames = {t_aligned - 1, t_aligned, t_aligned + 1};
  for (int64_t t = 60; t < 200; t += 3) frames.push_back(t);
  double max_ref = 0, max_diff = 0;
  int64_t exact_zeros = 0;
  for (int64_t t : frames) {
    const std::vector<double> r = ref.frame(x, t);
    for (int64_t k = 0; k < cfg.n_bins; ++k) {
      max_ref = std::max(max_ref, r[size_t(k)]);
      max_diff = std::max(max_diff, std::abs(double(out.at(t, k)) - r[size_t(k)]));
      EXPECT_EQ(out.at(t, k) == 0.0f, r[size_t(k)] == 0.0) << "frame " << t << " bin " << k;
      exact_zeros += r[size_t(k)] == 0.0;
    }
  }
  EXPECT_GT(exact_zeros, 1000);
  EXPECT_LE(max_diff / max_ref, 1e-4);
  std::printf("[cqt] silence gap: %lld exact zeros, max rel err %.3g\n", (long long)exact_zeros, max_diff / max_ref);
}

TEST(CqtTones, ArgmaxAtTheToneBin) {
  // A sinusoid at f_k peaks at bin k on frames whose longest kernel lies inside the signal.
  // Neighbouring bins are one resolution bin away, where the Hann response is 1/2, so the peak
  // is unambiguous even with sqrt(l_k) scaling (neighbours differ by 2^(1/96) in scale).
  const CqtConfig cfg;
  Cqt cqt(cfg);
  const int64_t S = 3 * 24000;
  for (int64_t k : {0, 1, 2, 23, 47, 48, 100, 150, 200, 250, 300, 334, 335}) {
    const double f = cqt.bin_frequency(k);
    std::vector<float> x(static_cast<size_t>(S));
    for (int64_t i = 0; i < S; ++i) x[size_t(i)] = float(0.5 * std::sin(2 * kPi * f * double(i) / cfg.sample_rate));
    const FeatureMatrix out = cqt.compute(x.data(), S);
    const int64_t mid = out.rows / 2;
    for (int64_t t = mid - 10; t <= mid + 10; t += 5) {
      const float* r = out.row(t);
      const int64_t arg = std::max_element(r, r + cfg.n_bins) - r;
      EXPECT_EQ(arg, k) << "tone at bin " << k << ", frame " << t;
    }
  }
}

TEST(CqtFrames, CountsCentred) {
  const CqtConfig cfg;
  Cqt cqt(cfg);
  for (int64_t S : {0, 1, 319, 320, 321, 399, 400, 24000, 65536, 100000}) {
    EXPECT_EQ(cqt.num_frames(S), S / 320 + 1) << S;
    const std::vector<float> x = white_noise(S, 7);
    const FeatureMatrix out = cqt.compute(S ? x.data() : nullptr, S);
    EXPECT_EQ(out.rows, S / 320 + 1) << S;
    EXPECT_EQ(out.cols, 336);
    EXPECT_EQ(out.data.size(), size_t(out.rows * out.cols));
    if (S == 0) {
      // Empty input: one frame (floor(0/hop) + 1), all zeros.
      for (float v : out.data) EXPECT_EQ(v, 0.0f);
    }
  }
  EXPECT_DOUBLE_EQ(cqt.frame_center(7), 7 * 320.0);
  EXPECT_THROW(cqt.num_frames(-1), mert::Error);
}

TEST(CqtFrames, CountsNotCentred) {
  CqtConfig cfg;
  cfg.center = false;
  Cqt cqt(cfg);
  const int64_t W = cqt.kernel_width();
  for (int64_t S : {int64_t(0), int64_t(1), W - 1, W, W + 319, W + 320, int64_t(100000)}) {
    const int64_t expect = S < W ? 0 : (S - W) / 320 + 1;
    EXPECT_EQ(cqt.num_frames(S), expect) << S;
    const std::vector<float> x = white_noise(S, 8);
    const FeatureMatrix out = cqt.compute(S ? x.data() : nullptr, S);
    EXPECT_EQ(out.rows, expect) << S;
    EXPECT_EQ(out.cols, 336);
  }
  EXPECT_DOUBLE_EQ(cqt.frame_center(3), 3 * 320.0 + W / 2);
}

TEST(CqtValidation, BadConfigsThrow) {
  auto expect_bad = [](auto mutate) {
    CqtConfig c;
    mutate(c);
    EXPECT_THROW(c.validate(), mert::Error);
    EXPECT_THROW(Cqt{c}, mert::Error);
  };
  expect_bad([](CqtConfig& c) { c.sample_rate = 0; });
  expect_bad([](CqtConfig& c) { c.sample_rate = -24000; });
  expect_bad([](CqtConfig& c) { c.sample_rate = std::nan(""); });
  expect_bad([](CqtConfig& c) { c.hop = 0; });
  expect_bad([](CqtConfig& c) { c.hop = -320; });
  expect_bad([](CqtConfig& c) { c.fmin = 0; });
  expect_bad([](CqtConfig& c) { c.fmin = -32.7; });
  expect_bad([](CqtConfig& c) { c.fmin = INFINITY; });
  expect_bad([](CqtConfig& c) { c.n_bins = 0; });
  expect_bad([](CqtConfig& c) { c.bins_per_octave = 0; });
  expect_bad([](CqtConfig& c) { c.filter_scale = 0; });
  expect_bad([](CqtConfig& c) { c.filter_scale = -1; });
  expect_bad([](CqtConfig& c) { c.n_bins = 48 * 9; });        // top bin ~16.7 kHz > 12 kHz
  expect_bad([](CqtConfig& c) { c.fmin = 12000; c.n_bins = 1; });  // exactly Nyquist
  expect_bad([](CqtConfig& c) { c.fmin = 0.001; });         // absurd kernel length
  CqtConfig ok;
  EXPECT_NO_THROW(ok.validate());
  Cqt cqt(ok);
  EXPECT_THROW(cqt.compute(nullptr, 10), mert::Error);
  EXPECT_THROW(cqt.compute(nullptr, -1), mert::Error);
}

TEST(CqtDeterminism, SameInputSameBits) {
  const CqtConfig cfg;
  const std::vector<float> x = music(int64_t(2.5 * 24000), cfg.sample_rate);
  Cqt a(cfg);
  const FeatureMatrix r1 = a.compute(x.data(), int64_t(x.size()));
  const FeatureMatrix r2 = a.compute(x.data(), int64_t(x.size()));
  Cqt b(cfg);
  const FeatureMatrix r3 = b.compute(x.data(), int64_t(x.size()));
  ASSERT_EQ(r1.data.size(), r2.data.size());
  ASSERT_EQ(r1.data.size(), r3.data.size());
  EXPECT_EQ(std::memcmp(r1.data.data(), r2.data.data(), r1.data.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(r1.data.data(), r3.data.data(), r1.data.size() * sizeof(float)), 0);
}

TEST(CqtSpeed, ReportSingleThread) {
  // Not a timed assertion: prints the throughput for the record.
  const CqtConfig cfg;
  auto bank = mert::cqt_detail::kernel_bank(cfg);
  std::printf("[cqt] kernel bank: N=%lld M=%lld V=%lld, %zu coefficients, %.1f MB, built in %.3f s\n",
              (long long)bank->N, (long long)bank->M, (long long)bank->V, bank->num_coefficients(),
              double(bank->bytes()) / 1e6, bank->build_seconds);
  Cqt cqt(cfg);
  const int64_t seconds = 120;
  std::vector<float> x = white_noise(seconds * 24000, 9);
  const std::vector<float> m = music(3 * 24000, cfg.sample_rate);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * x[i] + m[i % m.size()];
  cqt.compute(x.data(), 24000);  // warm-up
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  };
  const double c0 = cpu_now();
  const auto t0 = std::chrono::steady_clock::now();
  const FeatureMatrix out = cqt.compute(x.data(), int64_t(x.size()));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double c = cpu_now() - c0;
  std::printf("[cqt] %lld s of audio: wall %.3f s (%.3f ms per second of audio, %.0fx real time), "
              "thread CPU %.3f s (%.3f ms/s, %.0fx)\n",
              (long long)seconds, s, 1e3 * s / double(seconds), double(seconds) / s, c, 1e3 * c / double(seconds),
              double(seconds) / c);
  EXPECT_EQ(out.rows, cqt.num_frames(int64_t(x.size())));
}
