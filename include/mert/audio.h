#pragma once
// Audio in and out: decoding to mono float, the model's waveform normalisation, WAV writing.
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

struct Audio {
  std::vector<float> samples;  // mono
  int64_t sample_rate = 0;
  int channels = 0;            // channel count of the source before downmixing
};

// Decodes any format libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3...) and downmixes to mono by
// averaging channels. Throws mert::Error naming the file on unreadable, corrupt or empty input
// and on non-finite samples.
Audio decode_audio(const std::string& path);

// Hugging Face Wav2Vec2FeatureExtractor normalisation, in place:
// x <- (x - mean) / sqrt(var + 1e-7), population variance, accumulated in double.
// Silence stays zero (no division by zero).
void normalize_waveform(std::vector<float>& x);
void normalize_waveform(float* x, size_t n);

// Writes mono float samples as a 32-bit float WAV, atomically.
void write_wav_f32(const std::string& path, const std::vector<float>& samples, int64_t sample_rate);

// A deterministic musical test signal (chord progression of harmonic tones with envelopes,
// a bass line, light percussion) for demos and tests, peak around 0.5.
std::vector<float> generate_test_music(double seconds, int64_t sample_rate, uint64_t seed);

}  // namespace mert
