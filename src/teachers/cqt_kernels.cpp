#include "teachers/cqt_kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "mert/error.h"

namespace mert::cqt_detail {
namespace {

constexpr double kPi = 3.14159265358979323846;
using cd = std::complex<double>;

inline cd cis(double phi) { return {std::cos(phi), std::sin(phi)}; }

inline int64_t mod_n(int64_t a, int64_t n) {
  int64_t r = a % n;
  return r < 0 ? r + n : r;
}

// Geometry of one kernel: K[start + m] = w[m] * exp(2 pi i nu (m + n0)) / Z for m in [0, l),
// w = periodic Hann(l), n0 = floor(-l / 2) (numpy's np.r_[-l//2 : l//2]), Z = sum_m w[m] = l/2
// (the L1 norm of w * exp(...) / l, times l).
struct Geom {
  double nu = 0;  // f_k / sr, cycles per sample
  int64_t l = 0;
  int64_t start = 0;
  int64_t n0 = 0;
  double Z = 0;
};

// K_hat[f] = sum_n K[n] e^{-2 pi i f n / N}, for f = fa .. fa + n - 1 (any integers; N-periodic).
// Closed form: sum_m w[m] e^{2 pi i u m} with u = nu - f/N equals
//   e^{i pi u (l-1)} sin(pi u l) [ 0.5/sin(pi u) + 0.25 E/sin(pi (u + 1/l)) + 0.25 E*/sin(pi (u - 1/l)) ]
// with E = e^{i pi (l-1)/l} (three Dirichlet kernels from w = 1/2 - e^{2 pi i m/l}/4 - e^{-2 pi i m/l}/4).
// The unit phasors advance by fixed rotations from f to f+1; they are recomputed directly every
// kAnchor steps so rounding cannot accumulate. Near a removable singularity (a denominator
// vanishes) the value is summed directly.
class SpectrumEval {
 public:
  SpectrumEval(const Geom& g, int64_t N) : g_(g), N_(N) {
    const double l = static_cast<double>(g.l);
    c0_ = cis(2 * kPi * g.nu * static_cast<double>(g.n0)) / g.Z;
    e_ = cis(kPi * (l - 1) / l);
    rot_a_ = cis(-kPi / static_cast<double>(N));
    rot_b_ = cis(-kPi * l / static_cast<double>(N));
    rot_c_ = cis(-(2 * kPi * static_cast<double>(g.start) + kPi * (l - 1)) / static_cast<double>(N));
  }

  void eval(int64_t fa, int64_t n, cd* out) const {
    constexpr int64_t kAnchor = 64;
    const double l = static_cast<double>(g_.l);
    cd a0, ap, am, b, c;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t f = fa + i;
      if (i % kAnchor == 0) {
        const double u = g_.nu - static_cast<double>(f) / static_cast<double>(N_);
        a0 = cis(kPi * u);
        ap = cis(kPi * (u + 1 / l));
        am = cis(kPi * (u - 1 / l));
        b = cis(kPi * u * l);
        const int64_t fs = mod_n(mod_n(f, N_) * g_.start, N_);  // exact (f * start) mod N
        c = cis(-2 * kPi * static_cast<double>(fs) / static_cast<double>(N_) + kPi * u * (l - 1));
      } else {
        a0 *= rot_a_;
        ap *= rot_a_;
        am *= rot_a_;
        b *= rot_b_;
        c *= rot_c_;
      }
      const double d0 = a0.imag(), dp = ap.imag(), dm = am.imag();
      constexpr double kTiny = 1e-9;
      if (std::abs(d0) < kTiny || std::abs(dp) < kTiny || std::abs(dm) < kTiny) {
        out[i] = direct(f);
      } else {
        const cd bracket = 0.5 / d0 + 0.25 * e_ / dp + 0.25 * std::conj(e_) / dm;
        out[i] = c0_ * c * (b.imag() * bracket);
      }
    }
  }

  // O(l) direct evaluation (used only at removable singularities).
  cd direct(int64_t f) const {
    const double l = static_cast<double>(g_.l);
    const double u = g_.nu - static_cast<double>(f) / static_cast<double>(N_);
    cd acc = 0;
    for (int64_t m = 0; m < g_.l; ++m) {
      const double md = static_cast<double>(m);
      const double w = 0.5 - 0.5 * std::cos(2 * kPi * md / l);
      const double ph = 2 * kPi * (u * md - std::floor(u * md));
      acc += w * cis(ph);
    }
    const int64_t fs = mod_n(mod_n(f, N_) * g_.start, N_);
    return c0_ * cis(-2 * kPi * static_cast<double>(fs) / static_cast<double>(N_)) * acc;
  }

 private:
  Geom g_;
  int64_t N_;
  cd c0_, e_, rot_a_, rot_b_, rot_c_;
};

std::shared_ptr<KernelBank> build(const CqtConfig& cfg, double rel_threshold) {
  const auto t_begin = std::chrono::steady_clock::now();
  auto bank = std::make_shared<KernelBank>();
  KernelBank& kb = *bank;
  kb.n_bins = cfg.n_bins;
  kb.hop = cfg.hop;
  kb.Q = cqt_q(cfg);
  kb.W = cqt_kernel_width(cfg);

  // Block size: N = hop * M with M a power of two, at least 4x the overlap (W / hop frames), so
  // at least ~3/4 of each block's frames are valid.
  const int64_t overlap_frames = (kb.W + cfg.hop - 1) / cfg.hop;
  int64_t M = 16;
  while (M < 4 * overlap_frames) M *= 2;
  kb.M = M;
  kb.N = cfg.hop * M;
  if (kb.N > (int64_t{1} << 28)) {
    throw Error("CQT block size " + std::to_string(kb.N) + " (hop " + std::to_string(cfg.hop) +
                " x " + std::to_string(M) + " frames) is too large; reduce hop or raise fmin");
  }
  kb.V = (kb.N - kb.W) / cfg.hop + 1;
  const int64_t N = kb.N;

  kb.freqs.resize(cfg.n_bins);
  kb.lengths.resize(cfg.n_bins);
  kb.starts.resize(cfg.n_bins);
  kb.first.resize(cfg.n_bins);
  kb.count.resize(cfg.n_bins);
  kb.offset.resize(cfg.n_bins);

  // Candidate half-width in resolution bins (units of N / l DFT indices): beyond d resolution
  // bins a Hann spectrum's sidelobes are below ~1 / (pi d^3) of the peak. Widened if the
  // thresholded band touches the candidate's edge.
  const double d_cand = 1.25 * std::cbrt(1.0 / (kPi * rel_threshold)) + 4.0;
  std::vector<cd> buf;
  std::vector<double> mag;
  std::vector<std::vector<std::complex<float>>> per_bin(static_cast<size_t>(cfg.n_bins));
  size_t total = 0;
  for (int64_t k = 0; k < cfg.n_bins; ++k) {
    Geom g;
    const double fk = cqt_bin_frequency(cfg, k);
    g.nu = fk / cfg.sample_rate;
    g.l = cqt_kernel_length(cfg, k);
    // nnAudio: start = ceil(W/2 - l/2) - 1 for odd l, else ceil(W/2 - l/2).
    g.start = static_cast<int64_t>(std::ceil(static_cast<double>(kb.W) / 2.0 - static_cast<double>(g.l) / 2.0)) -
              (g.l % 2 == 1 ? 1 : 0);
    g.n0 = -((g.l + 1) / 2);  // floor(-l / 2)
    g.Z = static_cast<double>(g.l) / 2.0;
    kb.freqs[k] = fk;
    kb.lengths[k] = g.l;
    kb.starts[k] = g.start;
    if (g.start < 0 || g.start + g.l > kb.W) throw Error("CQT kernel " + std::to_string(k) + " does not fit its width");

    const SpectrumEval ev(g, N);
    const int64_t fc = static_cast<int64_t>(std::llround(g.nu * static_cast<double>(N)));
    int64_t half = static_cast<int64_t>(std::ceil(d_cand * static_cast<double>(N) / static_cast<double>(g.l)));
    int64_t fa = 0, n = 0, lo = 0, hi = 0;
    for (;;) {
      const bool full = 2 * half + 1 >= N;
      fa = full ? fc - N / 2 : fc - half;
      n = full ? N : 2 * half + 1;
      buf.resize(static_cast<size_t>(n));
      mag.resize(static_cast<size_t>(n));
      ev.eval(fa, n, buf.data());
      double peak = 0;
      for (int64_t i = 0; i < n; ++i) {
        mag[i] = std::sqrt(std::norm(buf[i]));
        peak = std::max(peak, mag[i]);
      }
      const double thr = rel_threshold * peak;
      lo = 0;
      while (lo < n && mag[lo] < thr) ++lo;
      hi = n - 1;
      while (hi > lo && mag[hi] < thr) --hi;
      if (full || (lo > 0 && hi < n - 1)) break;
      half *= 2;
    }
    const double scale = (cfg.librosa_scaling ? std::sqrt(static_cast<double>(g.l)) : 1.0) / static_cast<double>(N);
    kb.first[k] = mod_n(fa + lo, N);
    kb.count[k] = hi - lo + 1;
    kb.offset[k] = total;
    total += static_cast<size_t>(kb.count[k]);
    std::vector<std::complex<float>>& dst = per_bin[static_cast<size_t>(k)];
    dst.resize(static_cast<size_t>(kb.count[k]));
    for (int64_t i = lo; i <= hi; ++i) {
      const cd v = std::conj(buf[i]) * scale;
      dst[static_cast<size_t>(i - lo)] = {static_cast<float>(v.real()), static_cast<float>(v.imag())};
    }
  }
  kb.coef_re.resize(total);
  kb.coef_im.resize(total);
  for (int64_t k = 0; k < cfg.n_bins; ++k) {
    std::vector<std::complex<float>>& src = per_bin[static_cast<size_t>(k)];
    for (size_t i = 0; i < src.size(); ++i) {
      kb.coef_re[kb.offset[k] + i] = src[i].real();
      kb.coef_im[kb.offset[k] + i] = src[i].imag();
    }
    std::vector<std::complex<float>>().swap(src);
  }
  kb.min_length = *std::min_element(kb.lengths.begin(), kb.lengths.end());
  kb.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return bank;
}

}  // namespace

double cqt_q(const CqtConfig& cfg) {
  return cfg.filter_scale / (std::pow(2.0, 1.0 / static_cast<double>(cfg.bins_per_octave)) - 1.0);
}

double cqt_bin_frequency(const CqtConfig& cfg, int64_t k) {
  return cfg.fmin * std::pow(2.0, static_cast<double>(k) / static_cast<double>(cfg.bins_per_octave));
}

int64_t cqt_kernel_length(const CqtConfig& cfg, int64_t k) {
  return static_cast<int64_t>(std::ceil(cqt_q(cfg) * cfg.sample_rate / cqt_bin_frequency(cfg, k)));
}

int64_t cqt_kernel_width(const CqtConfig& cfg) {
  // nnAudio: 2 ** ceil(log2(ceil(Q * sr / fmin))), i.e. the smallest power of two >= l_0.
  const double l0 = std::ceil(cqt_q(cfg) * cfg.sample_rate / cfg.fmin);
  int64_t w = 1;
  while (static_cast<double>(w) < l0) w *= 2;
  return w;
}

std::shared_ptr<const KernelBank> kernel_bank(const CqtConfig& cfg, double rel_threshold) {
  using Key = std::tuple<double, int64_t, double, int64_t, int64_t, double, bool, double>;
  static std::mutex mu;
  static std::map<Key, std::weak_ptr<const KernelBank>> cache;
  const Key key{cfg.sample_rate, cfg.hop,  cfg.fmin,        cfg.n_bins, cfg.bins_per_octave,
                cfg.filter_scale, cfg.librosa_scaling, rel_threshold};
  // Built under the lock: concurrent constructions with one config then share one build.
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) {
    if (auto sp = it->second.lock()) return sp;
  }
  std::shared_ptr<const KernelBank> bank = build(cfg, rel_threshold);
  cache[key] = bank;
  return bank;
}

}  // namespace mert::cqt_detail
