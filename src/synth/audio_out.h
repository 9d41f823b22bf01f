#pragma once
// Writes rendered audio (mono float) as 16-bit FLAC or WAV, atomically (temp name + rename).
#include <string>
#include <vector>

namespace mert::synth {

enum class AudioFormat { Flac, Wav };

// Encodes in memory with libsndfile and writes `path` atomically. Samples beyond ±1 are clipped.
void write_audio(const std::string& path, const std::vector<float>& samples, int sample_rate, AudioFormat fmt);
const char* audio_ext(AudioFormat fmt);

}  // namespace mert::synth
