#include "synth/audio_out.h"

#include <sndfile.h>

#include "audio/sndfile_writer.h"

namespace mert::synth {

const char* audio_ext(AudioFormat fmt) { return fmt == AudioFormat::Flac ? ".flac" : ".wav"; }

void write_audio(const std::string& path, const std::vector<float>& samples, int sample_rate, AudioFormat fmt) {
  mert::write_audio(path, samples, sample_rate, (fmt == AudioFormat::Flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_16,
                    /*clip=*/true);
}

}  // namespace mert::synth
