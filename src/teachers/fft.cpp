#include "teachers/fft.h"

#include <fftw3.h>

#include <mutex>
#include <new>

#include "mert/error.h"

namespace mert::fft {
namespace {
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

RealForward::RealForward(int n) : n_(n) {
  if (n < 1) throw Error("FFT size must be positive");
  in_ = static_cast<float*>(fftwf_malloc(sizeof(float) * n));
  out_ = static_cast<std::complex<float>*>(fftwf_malloc(sizeof(fftwf_complex) * (n / 2 + 1)));
  if (!in_ || !out_) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(planner_mutex());
  plan_ = fftwf_plan_dft_r2c_1d(n, in_, reinterpret_cast<fftwf_complex*>(out_), FFTW_ESTIMATE);
  if (!plan_) throw Error("FFTW could not plan a real FFT of size " + std::to_string(n));
}

RealForward::~RealForward() {
  {
    std::lock_guard<std::mutex> lock(planner_mutex());
    fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  }
  fftwf_free(in_);
  fftwf_free(out_);
}

void RealForward::run() { fftwf_execute(static_cast<fftwf_plan>(plan_)); }

ComplexTransform::ComplexTransform(int n, int sign) : n_(n) {
  if (n < 1) throw Error("FFT size must be positive");
  in_ = static_cast<std::complex<float>*>(fftwf_malloc(sizeof(fftwf_complex) * n));
  out_ = static_cast<std::complex<float>*>(fftwf_malloc(sizeof(fftwf_complex) * n));
  if (!in_ || !out_) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(planner_mutex());
  plan_ = fftwf_plan_dft_1d(n, reinterpret_cast<fftwf_complex*>(in_), reinterpret_cast<fftwf_complex*>(out_),
                            sign < 0 ? FFTW_FORWARD : FFTW_BACKWARD, FFTW_ESTIMATE);
  if (!plan_) throw Error("FFTW could not plan a complex FFT of size " + std::to_string(n));
}

ComplexTransform::~ComplexTransform() {
  {
    std::lock_guard<std::mutex> lock(planner_mutex());
    fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  }
  fftwf_free(in_);
  fftwf_free(out_);
}

void ComplexTransform::run() { fftwf_execute(static_cast<fftwf_plan>(plan_)); }

}  // namespace mert::fft
