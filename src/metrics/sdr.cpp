// Source separation: the "global SDR" of the MDX 2021 challenge that MARBLE reports (one number
// per track and source, not museval's median over 1 s frames), and its mean / median over tracks.
#include <algorithm>
#include <cmath>
#include <string>

#include "mert/error.h"
#include "mert/metrics.h"

namespace mert::metrics {

double global_sdr(const std::vector<float>& reference, const std::vector<float>& estimate) {
  constexpr double kEps = 1e-7;
  double signal = 0, noise = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double s = reference[i], e = i < estimate.size() ? estimate[i] : 0.0;
    signal += s * s;
    noise += (s - e) * (s - e);
  }
  return 10.0 * std::log10((signal + kEps) / (noise + kEps));
}

SdrSummary summarize_sdr(const std::vector<double>& per_track) {
  if (per_track.empty()) throw Error("no SDR values to summarize");
  SdrSummary s;
  s.tracks = static_cast<int64_t>(per_track.size());
  for (double v : per_track) {
    if (!std::isfinite(v)) throw Error("non-finite SDR value " + std::to_string(v));
    s.mean += v;
  }
  s.mean /= static_cast<double>(per_track.size());
  std::vector<double> v = per_track;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}

}  // namespace mert::metrics
