#pragma once
// Writing any libsndfile format: `mert synth` and the WAV writer use it, and the tests make every
// format the decoder reads with it.
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

// Encodes mono float samples in memory with libsndfile (`format`: an SF_FORMAT_* combination) and
// writes them to `path` atomically. `clip`: integer formats clip samples beyond ±1 instead of
// letting them wrap.
void write_audio(const std::string& path, const std::vector<float>& samples, int64_t sample_rate, int format,
                 bool clip = false);

}  // namespace mert
