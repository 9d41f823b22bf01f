// A small deterministic "music" generator for demos and tests: a I-vi-IV-V progression of
// harmonic tones with attack/decay envelopes, a bass line and a noise-burst hi-hat. Not a
// synthesiser (that is `mert synth`'s job); just structured, non-random audio.
#include <cmath>
#include <random>

#include "mert/audio.h"

namespace mert {

std::vector<float> generate_test_music(double seconds, int64_t sr, uint64_t seed) {
  const size_t n = static_cast<size_t>(std::llround(seconds * static_cast<double>(sr)));
  std::vector<float> out(n, 0.0f);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  const int key = static_cast<int>(rng() % 12);            // transposition
  const double bpm = 90.0 + static_cast<double>(rng() % 60);
  const double beat = 60.0 / bpm;
  const int progression[4][3] = {{0, 4, 7}, {9, 12, 16}, {5, 9, 12}, {7, 11, 14}};
  auto midi_hz = [](double m) { return 440.0 * std::pow(2.0, (m - 69.0) / 12.0); };
  const double two_pi = 2.0 * M_PI;
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(sr);
    const double bar_len = 4 * beat;
    const int bar = static_cast<int>(t / bar_len);
    const auto& chord = progression[bar % 4];
    const double tb = std::fmod(t, beat);
    const double tbar = std::fmod(t, bar_len);
    double s = 0;
    for (int k = 0; k < 3; ++k) {  // chord tones, 4 harmonics each, decaying per bar
      const double f = midi_hz(60 + key + chord[k]);
      for (int h = 1; h <= 4; ++h) s += 0.08 / h * std::sin(two_pi * f * h * t + k) * std::exp(-1.2 * tbar);
    }
    const double fb = midi_hz(36 + key + chord[0]);
    s += 0.18 * std::sin(two_pi * fb * t) * std::exp(-3.0 * tb);          // bass on each beat
    s += 0.05 * uni(rng) * std::exp(-60.0 * std::fmod(t + beat / 2, beat));  // off-beat hi-hat
    out[i] = static_cast<float>(s);
  }
  return out;
}

}  // namespace mert
