#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "mert/audio.h"
#include "mert/error.h"

namespace mert {

Audio decode_audio(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not an audio file");
  SF_INFO info{};
  SNDFILE* raw = sf_open(path.c_str(), SFM_READ, &info);
  if (!raw) throw Error(path + ": cannot decode (" + sf_strerror(nullptr) + ")");
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> file(raw, sf_close);
  if (info.channels <= 0 || info.samplerate <= 0) throw Error(path + ": invalid channel count or sample rate");
  if (info.frames <= 0) throw Error(path + ": contains no audio");

  Audio a;
  a.sample_rate = info.samplerate;
  a.channels = info.channels;
  a.samples.reserve(static_cast<size_t>(info.frames));
  // Read in blocks so a huge file never needs a second full-size interleaved copy.
  const sf_count_t block = 65536;
  std::vector<float> buf(static_cast<size_t>(block * info.channels));
  for (;;) {
    sf_count_t got = sf_readf_float(file.get(), buf.data(), block);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      double acc = 0;
      for (int c = 0; c < info.channels; ++c) acc += buf[static_cast<size_t>(i * info.channels + c)];
      a.samples.push_back(static_cast<float>(acc / info.channels));
    }
  }
  if (sf_error(file.get()) != SF_ERR_NO_ERROR)
    throw Error(path + ": decoding failed (" + sf_strerror(file.get()) + ")");
  if (a.samples.empty()) throw Error(path + ": contains no audio");
  for (size_t i = 0; i < a.samples.size(); ++i)
    if (!std::isfinite(a.samples[i]))
      throw Error(path + ": sample " + std::to_string(i) + " is NaN or Inf");
  return a;
}

void write_wav_f32(const std::string& path, const std::vector<float>& samples, int64_t sample_rate) {
  // libsndfile writes the header; write to a temp name then rename for atomicity.
  const std::string tmp = path + ".tmp";
  SF_INFO info{};
  info.samplerate = static_cast<int>(sample_rate);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) throw Error(path + ": cannot write (" + sf_strerror(nullptr) + ")");
  sf_count_t n = sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_write_sync(f);
  sf_close(f);
  std::error_code ec;
  if (n != static_cast<sf_count_t>(samples.size())) {
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": short write");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(path + ": cannot rename into place: " + ec.message());
  }
}

}  // namespace mert
