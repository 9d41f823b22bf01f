// Constant-Q transform, nnAudio CQT1992v2 semantics (see include/mert/cqt.h).
//
// Definition (per bin k, frame t): y_k[t] = sum_{n<W} xpad[t*hop + n] * conj(K_k[n]), where
// xpad is x zero-padded by W/2 on both sides when centred, K_k the L1-normalised Hann-windowed
// complex exponential of length l_k centred in a length-W frame; output |y_k[t]| * sqrt(l_k).
//
// Algorithm (exact up to float rounding and a kernel-spectrum truncation far below 1e-4):
// block overlap-save in the frequency domain. A block is N = hop * M samples of xpad starting at
// frame t0; its V = (N - W)/hop + 1 first frames need no wrap-around. Per block: one real FFT of
// the block; per bin: multiply by conj(DFT_N(K_k)), which is nonzero (above the threshold) only in
// a narrow band around f_k, and since outputs are wanted only at multiples of hop, fold the
// product modulo M (sampling every hop-th point of a length-N sequence = aliasing its spectrum
// into M bins) and take an M-point inverse FFT. Kernel spectra are evaluated once in closed form
// (cqt_kernels.cpp) and shared by all Cqt objects with the same settings. Outputs whose kernel
// taps see only exact zeros (digital silence) are set to exactly 0, as the direct sum gives.
// MERT defaults: N = 327680 (M = 1024), 820 frames per block, 7.66M stored coefficients (61 MB);
// max error vs a double-precision direct evaluation ~3e-6 of the maximum output.
#include "mert/cqt.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "mert/error.h"
#include "teachers/cqt_kernels.h"
#include "teachers/fft.h"

namespace mert {

void CqtConfig::validate() const {
  auto bad = [](const std::string& what) { throw Error("invalid CQT config: " + what); };
  if (!(std::isfinite(sample_rate) && sample_rate > 0)) bad("sample_rate must be positive, got " + std::to_string(sample_rate));
  if (hop < 1) bad("hop must be >= 1, got " + std::to_string(hop));
  if (hop > (int64_t{1} << 24)) bad("hop " + std::to_string(hop) + " is absurdly large");
  if (!(std::isfinite(fmin) && fmin > 0)) bad("fmin must be positive, got " + std::to_string(fmin));
  if (n_bins < 1) bad("n_bins must be >= 1, got " + std::to_string(n_bins));
  if (bins_per_octave < 1) bad("bins_per_octave must be >= 1, got " + std::to_string(bins_per_octave));
  if (!(std::isfinite(filter_scale) && filter_scale > 0))
    bad("filter_scale must be positive, got " + std::to_string(filter_scale));
  const double ftop = cqt_detail::cqt_bin_frequency(*this, n_bins - 1);
  if (!(ftop < sample_rate / 2))
    bad("top bin frequency " + std::to_string(ftop) + " Hz is not below the Nyquist frequency " +
        std::to_string(sample_rate / 2) + " Hz; reduce n_bins or fmin");
  const double l0 = std::ceil(cqt_detail::cqt_q(*this) * sample_rate / fmin);
  if (!(l0 <= double(int64_t{1} << 24)))
    bad("longest kernel (" + std::to_string(l0) + " samples) is too long; raise fmin or lower filter_scale");
  if (cqt_detail::cqt_kernel_length(*this, n_bins - 1) < 2)
    bad("top bin's kernel is shorter than 2 samples; raise filter_scale or lower the top frequency");
}

struct Cqt::Impl {
  CqtConfig cfg;
  std::shared_ptr<const cqt_detail::KernelBank> bank;
  fft::RealForward rfft;
  fft::ComplexTransform ifft;
  std::vector<float> spec_re, spec_im;  // full N-point spectrum of the block
  std::vector<float> acc_re, acc_im;    // product spectrum folded modulo M

  explicit Impl(const CqtConfig& c)
      : cfg(c),
        bank(cqt_detail::kernel_bank(c)),
        rfft(static_cast<int>(bank->N)),
        ifft(static_cast<int>(bank->M), +1),
        spec_re(static_cast<size_t>(bank->N)),
        spec_im(static_cast<size_t>(bank->N)),
        acc_re(static_cast<size_t>(bank->M)),
        acc_im(static_cast<size_t>(bank->M)) {}
};

namespace {

const CqtConfig& validated(const CqtConfig& cfg) {
  cfg.validate();
  return cfg;
}

// (ar + i ai)[j] += (sr + i si)[j] * (cr + i ci)[j], j < n.
inline void cmul_acc(float* __restrict ar, float* __restrict ai, const float* __restrict sr,
                     const float* __restrict si, const float* __restrict cr, const float* __restrict ci,
                     int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    ar[j] += sr[j] * cr[j] - si[j] * ci[j];
    ai[j] += sr[j] * ci[j] + si[j] * cr[j];
  }
}

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

Cqt::Cqt(const CqtConfig& cfg) : impl_(std::make_unique<Impl>(validated(cfg))) {}
Cqt::~Cqt() = default;

const CqtConfig& Cqt::config() const { return impl_->cfg; }
int64_t Cqt::kernel_width() const { return impl_->bank->W; }

int64_t Cqt::kernel_length(int64_t bin) const {
  if (bin < 0 || bin >= impl_->cfg.n_bins) throw Error("CQT bin " + std::to_string(bin) + " out of range");
  return impl_->bank->lengths[static_cast<size_t>(bin)];
}

double Cqt::bin_frequency(int64_t bin) const {
  if (bin < 0 || bin >= impl_->cfg.n_bins) throw Error("CQT bin " + std::to_string(bin) + " out of range");
  return impl_->bank->freqs[static_cast<size_t>(bin)];
}

int64_t Cqt::num_frames(int64_t num_samples) const {
  if (num_samples < 0) throw Error("CQT: negative number of samples");
  const int64_t W = impl_->bank->W;
  const int64_t padded = num_samples + (impl_->cfg.center ? 2 * (W / 2) : 0);
  if (padded < W) return 0;
  return (padded - W) / impl_->cfg.hop + 1;
}

double Cqt::frame_center(int64_t frame) const {
  const double t = static_cast<double>(frame) * static_cast<double>(impl_->cfg.hop);
  return impl_->cfg.center ? t : t + static_cast<double>(impl_->bank->W / 2);
}

FeatureMatrix Cqt::compute(const float* x, int64_t n) {
  if (n < 0) throw Error("CQT: negative number of samples");
  if (n > 0 && x == nullptr) throw Error("CQT: null input");
  const cqt_detail::KernelBank& kb = *impl_->bank;
  const int64_t T = num_frames(n);
  const int64_t nb = kb.n_bins, N = kb.N, M = kb.M, hop = kb.hop;
  FeatureMatrix out(T, nb);
  if (T == 0) return out;
  const int64_t pad = impl_->cfg.center ? kb.W / 2 : 0;

  float* seg = impl_->rfft.input();
  float* spec_re = impl_->spec_re.data();
  float* spec_im = impl_->spec_im.data();
  float* acc_re = impl_->acc_re.data();
  float* acc_im = impl_->acc_im.data();
  std::complex<float>* yin = impl_->ifft.input();
  const std::complex<float>* y = impl_->ifft.output();
  std::vector<std::pair<int64_t, int64_t>> zero_runs;

  for (int64_t t0 = 0; t0 < T; t0 += kb.V) {
    const int64_t nv = std::min(kb.V, T - t0);
    // Block: seg[j] = xpad[t0*hop + j] = x[t0*hop + j - pad] (zero outside x).
    const int64_t p0 = t0 * hop - pad;
    const int64_t j_begin = std::clamp<int64_t>(-p0, 0, N);
    const int64_t j_end = std::clamp<int64_t>(n - p0, j_begin, N);
    std::fill(seg, seg + j_begin, 0.0f);
    if (j_end > j_begin) std::memcpy(seg + j_begin, x + p0 + j_begin, sizeof(float) * static_cast<size_t>(j_end - j_begin));
    std::fill(seg + j_end, seg + N, 0.0f);

    // Runs of exact zeros long enough to hold a whole kernel (padding, digital silence). Where a
    // kernel sees only zeros the exact result is 0, but the FFT route leaves rounding noise
    // (~1e-7 of the block's level); those outputs are set to exactly 0 below.
    zero_runs.clear();
    bool any_nonzero = false;
    for (int64_t j = 0; j < N;) {
      if (seg[j] != 0.0f) {
        any_nonzero = true;
        ++j;
        continue;
      }
      int64_t e = j;
      while (e < N && seg[e] == 0.0f) ++e;
      if (e - j >= kb.min_length - 1) zero_runs.emplace_back(j, e);
      j = e;
    }
    if (!any_nonzero) continue;  // silent block: its rows stay zero
    impl_->rfft.run();

    // Full spectrum (real input: S[N - f] = conj(S[f])), so circular bands need no special case.
    const std::complex<float>* half = impl_->rfft.output();
    for (int64_t f = 0; f <= N / 2; ++f) {
      spec_re[f] = half[f].real();
      spec_im[f] = half[f].imag();
    }
    for (int64_t f = N / 2 + 1; f < N; ++f) {
      spec_re[f] = half[N - f].real();
      spec_im[f] = -half[N - f].imag();
    }

    for (int64_t k = 0; k < nb; ++k) {
      std::fill(acc_re, acc_re + M, 0.0f);
      std::fill(acc_im, acc_im + M, 0.0f);
      const size_t off = kb.offset[static_cast<size_t>(k)];
      const float* cr = kb.coef_re.data() + off;
      const float* ci = kb.coef_im.data() + off;
      int64_t g = kb.first[static_cast<size_t>(k)];
      int64_t left = kb.count[static_cast<size_t>(k)];
      while (left > 0) {
        const int64_t r = g % M;  // M divides N, so wrapping at N is also a wrap at M
        const int64_t len = std::min(left, M - r);
        cmul_acc(acc_re + r, acc_im + r, spec_re + g, spec_im + g, cr, ci, len);
        cr += len;
        ci += len;
        g += len;
        if (g == N) g = 0;
        left -= len;
      }
      for (int64_t r = 0; r < M; ++r) yin[r] = {acc_re[r], acc_im[r]};
      impl_->ifft.run();
      float* o = out.row(t0) + k;
      for (int64_t tau = 0; tau < nv; ++tau, o += nb) {
        const float re = y[tau].real(), im = y[tau].imag();
        *o = std::sqrt(re * re + im * im);
      }
      // Kernel k of frame tau covers seg[tau*hop + s_k, + l_k); its first tap is 0 (periodic
      // Hann), so the output is exactly zero when seg[tau*hop + s_k + 1, tau*hop + s_k + l_k)
      // lies inside a zero run.
      const int64_t s_k = kb.starts[static_cast<size_t>(k)], l_k = kb.lengths[static_cast<size_t>(k)];
      for (const auto& [z0, z1] : zero_runs) {
        const int64_t lo = std::max<int64_t>(0, -floor_div(-(z0 - s_k - 1), hop));
        const int64_t hi = std::min<int64_t>(nv - 1, floor_div(z1 - l_k - s_k, hop));
        for (int64_t tau = lo; tau <= hi; ++tau) out.at(t0 + tau, k) = 0.0f;
      }
    }
  }
  return out;
}

}  // namespace mert
