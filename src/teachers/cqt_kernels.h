#pragma once
// Private to the CQT: the frequency-domain kernel bank used by Cqt::compute.
//
// Kernel k (length-W complex, nnAudio CQT1992v2 / create_cqt_kernels) is L1-normalised
// Hann(l_k) * exp(2 pi i f_k n / sr) placed at start_k. The bank holds, for every bin, the
// coefficients of conj(DFT_N(kernel_k)) (zero-padded to the block size N = hop * M), scaled
// by scale_k / N, restricted to one contiguous circular band of DFT indices outside which
// every coefficient is below rel_threshold times the kernel spectrum's peak. The spectrum is
// evaluated in closed form (a windowed complex exponential's DFT is a sum of three Dirichlet
// kernels), in double precision, and stored as float.
#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "mert/cqt.h"

namespace mert::cqt_detail {

// Default truncation threshold for the kernel spectra, relative to each kernel's peak
// magnitude. Measured max |error| / max |output| against a double-precision direct evaluation
// (tests/teachers/test_cqt.cpp): 1e-5 -> 1.6e-5, 3e-6 -> 7.6e-6, 1e-6 -> 3.2e-6,
// 1e-7 -> 5e-7 (float rounding floor); cost and memory grow like threshold^(-1/3).
constexpr double kDefaultRelThreshold = 1e-6;

struct KernelBank {
  int64_t n_bins = 0;
  int64_t hop = 0;
  int64_t W = 0;  // kernel width (nnAudio's kernel_width / fftLen)
  int64_t M = 0;  // frames per block incl. the overlap (power of two)
  int64_t N = 0;  // block FFT size = hop * M
  int64_t V = 0;  // valid frames per block = (N - W) / hop + 1
  double Q = 0;
  std::vector<double> freqs;     // f_k
  std::vector<int64_t> lengths;  // l_k
  std::vector<int64_t> starts;   // start_k: kernel k occupies [start_k, start_k + l_k) of [0, W)
  std::vector<int64_t> first;    // first DFT index of bin k's band, in [0, N)
  std::vector<int64_t> count;    // band length (<= N); indices wrap modulo N
  std::vector<size_t> offset;    // into coef_re / coef_im
  // conj(K_hat[f]) * scale_k / N, split into real and imaginary parts (vectorises cleanly).
  std::vector<float> coef_re, coef_im;
  int64_t min_length = 0;  // min_k l_k
  double build_seconds = 0;
  size_t num_coefficients() const { return coef_re.size(); }
  size_t bytes() const { return 2 * coef_re.size() * sizeof(float); }
};

// Kernel length-independent quantities, shared by the bank and Cqt's accessors.
double cqt_q(const CqtConfig& cfg);
double cqt_bin_frequency(const CqtConfig& cfg, int64_t k);
int64_t cqt_kernel_length(const CqtConfig& cfg, int64_t k);
int64_t cqt_kernel_width(const CqtConfig& cfg);

// Builds (or returns a cached, shared, immutable) bank for cfg. cfg must be valid.
std::shared_ptr<const KernelBank> kernel_bank(const CqtConfig& cfg,
                                              double rel_threshold = kDefaultRelThreshold);

}  // namespace mert::cqt_detail
