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
  // Non-empty when the file decoded but not exactly as its container said (a small shortfall
  // at the end, an Ogg stream without its end-of-stream flag...): one line for the user.
  std::string warning;
};

// The decoding policy for real files (docs/RELIABILITY.md has the reasons and the tests):
// - every decodable frame is used;
// - when a header promises a length (WAV/AIFF data chunk size, FLAC STREAMINFO, an MP3
//   Xing/LAME header) and fewer frames decode, a shortfall of at most
//     max(kShortfallFloorSec, min(kShortfallCapSec, kShortfallFraction x promised length))
//   is accepted with Audio::warning (a writer's padding or rounding quirk); a larger one is
//   refused as truncated;
// - Ogg: a file that ends inside a page is refused as cut; one whose last page carries the
//   end-of-stream flag is whole, so a last granule position promising more than decodes is only
//   warned about; a last page without the flag is warned about (a stopped stream recording);
// - streaming WAVs (data size 0, 0xFFFFFFFF, 0x7FFFF000 or 0x7FFFFFFF), FLAC without a sample
//   count and MP3 without a Xing/LAME header promise nothing: they decode to the end of the file,
//   and a cut copy of them cannot be told from a whole one.
constexpr double kShortfallFloorSec = 0.1;
constexpr double kShortfallCapSec = 1.0;
constexpr double kShortfallFraction = 0.01;

// Decodes WAV (int 8-32 bit, float), FLAC, OGG/Vorbis, AIFF and the other libsndfile formats,
// and MP3 (libmpg123, gapless); downmixes to mono by averaging channels, and resamples to
// `target_rate` with libsoxr at very high quality (target_rate <= 0: keep the file's rate).
// Output length is round(frames * target_rate / source_rate). Throws mert::Error naming the
// file on missing, unreadable, corrupt, truncated (policy above) or empty input and on NaN/Inf
// samples.
Audio decode_audio(const std::string& path, int64_t target_rate = 0);

// Resamples a mono waveform from `in_rate` to `out_rate` exactly as decode_audio does (libsoxr,
// very high quality, output length round(n * out_rate / in_rate)), so that decoding a file at
// its own rate and resampling gives the same samples as decoding it at `out_rate`. Throws
// mert::Error on NaN/Inf samples or a non-positive rate.
std::vector<float> resample(const std::vector<float>& x, int64_t in_rate, int64_t out_rate);

// Extensions treated as audio when scanning directories.
bool is_audio_extension(const std::string& path);

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
