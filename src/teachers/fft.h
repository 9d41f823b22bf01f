#pragma once
// Thin RAII wrappers over single-precision FFTW plans. Plans are made with FFTW_ESTIMATE so the
// same size always gives the same algorithm, hence bit-identical features from run to run
// (resumed label runs must match uninterrupted ones). Planning is serialised by a global mutex
// (FFTW's planner is not thread-safe); executing plans from several threads is safe as long as
// each thread uses its own object.
#include <complex>
#include <cstdint>

namespace mert::fft {

// Forward real-to-complex DFT of size n: out[k] = sum_j in[j] e^{-2 pi i jk/n}, k = 0..n/2.
class RealForward {
 public:
  explicit RealForward(int n);
  ~RealForward();
  RealForward(const RealForward&) = delete;
  RealForward& operator=(const RealForward&) = delete;
  int size() const { return n_; }
  // Aligned input buffer of n floats; fill it, then call run().
  float* input() { return in_; }
  // Output after run(): n/2+1 complex values.
  const std::complex<float>* output() const { return out_; }
  void run();

 private:
  int n_;
  float* in_;
  std::complex<float>* out_;
  void* plan_;
};

// Complex DFT of size n, either sign, unnormalised: out[k] = sum_j in[j] e^{sign 2 pi i jk/n}.
class ComplexTransform {
 public:
  ComplexTransform(int n, int sign);  // sign = -1 forward, +1 inverse
  ~ComplexTransform();
  ComplexTransform(const ComplexTransform&) = delete;
  ComplexTransform& operator=(const ComplexTransform&) = delete;
  int size() const { return n_; }
  std::complex<float>* input() { return in_; }
  const std::complex<float>* output() const { return out_; }
  void run();

 private:
  int n_;
  std::complex<float>* in_;
  std::complex<float>* out_;
  void* plan_;
};

}  // namespace mert::fft
