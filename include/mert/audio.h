#pragma once
// Audio in and out: decoding to mono float, the model's waveform normalisation, WAV writing.
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

struct Audio {
  std::vector<float> samples;  // mono, at sample_rate
  int64_t sample_rate = 0;
  int64_t source_rate = 0;     // the file's own rate
  int channels = 0;            // channel count of the source before downmixing
};

// Decodes any format libsndfile reads (WAV int/float, FLAC, OGG/Vorbis, MP3, AIFF...),
// downmixes to mono by averaging channels, and resamples to `target_rate` with libsoxr at very
// high quality (target_rate <= 0: keep the file's rate). Output length is
// round(frames * target_rate / source_rate). Throws mert::Error naming the file on missing,
// unreadable, corrupt, truncated or empty input and on NaN/Inf samples.
Audio decode_audio(const std::string& path, int64_t target_rate = 0);

// Extensions treated as audio when scanning directories.
bool is_audio_extension(const std::string& path);

// Writes mono float samples with libsndfile, atomically; `format` is an SF_FORMAT_* combination.
void write_audio(const std::string& path, const std::vector<float>& samples, int64_t sample_rate, int format);

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
