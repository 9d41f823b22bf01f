// Decoding any libsndfile format to mono float at a target rate. Reads in blocks, downmixes each
// block (channel mean) and feeds it to a streaming soxr resampler, so no full-size interleaved
// or source-rate copy of a long file ever exists: memory is the output samples plus one block.
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "mert/audio.h"
#include "mert/error.h"

namespace mert {
namespace {

using SndFilePtr = std::unique_ptr<SNDFILE, int (*)(SNDFILE*)>;

SndFilePtr open_for_read(const std::string& path, SF_INFO& info) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not an audio file");
  if (std::filesystem::file_size(path, ec) == 0) throw Error(path + ": empty file (0 bytes)");
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::fclose(probe);
  info = SF_INFO{};
  SNDFILE* raw = sf_open(path.c_str(), SFM_READ, &info);
  if (!raw) throw Error(path + ": cannot decode (" + sf_strerror(nullptr) + ")");
  SndFilePtr f(raw, sf_close);
  if (info.channels <= 0 || info.samplerate <= 0) throw Error(path + ": invalid channel count or sample rate");
  // Float files: let libsndfile return samples as stored (no clipping/normalisation games).
  sf_command(f.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  return f;
}

// Streaming soxr wrapper (very high quality), or a pass-through when rates match.
class Resampler {
 public:
  Resampler(double in_rate, double out_rate) : passthrough_(in_rate == out_rate) {
    if (passthrough_) return;
    soxr_error_t err = nullptr;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
    soxr_ = soxr_create(in_rate, out_rate, 1, &err, &io, &q, nullptr);
    if (err || !soxr_) throw Error(std::string("cannot create resampler: ") + (err ? err : "unknown"));
    ratio_ = out_rate / in_rate;
  }
  ~Resampler() {
    if (soxr_) soxr_delete(soxr_);
  }
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // in == nullptr flushes the resampler's tail.
  void process(const float* in, size_t n, std::vector<float>& out) {
    if (passthrough_) {
      if (in) out.insert(out.end(), in, in + n);
      return;
    }
    const size_t cap = static_cast<size_t>(std::ceil(n * ratio_)) + 1024;
    buf_.resize(cap);
    for (;;) {
      size_t idone = 0, odone = 0;
      soxr_error_t err = soxr_process(soxr_, in, in ? n : 0, &idone, buf_.data(), cap, &odone);
      if (err) throw Error(std::string("resampling failed: ") + err);
      out.insert(out.end(), buf_.data(), buf_.data() + odone);
      if (in) {
        in += idone;
        n -= idone;
        if (n == 0) break;
      } else if (odone == 0) {
        break;  // flushed
      }
    }
  }

 private:
  bool passthrough_;
  soxr_t soxr_ = nullptr;
  double ratio_ = 1;
  std::vector<float> buf_;
};

// libsndfile notes in its log, but does not report as an error, a sample-data chunk cut short
// ("data : N (should be M)" for WAV, "SSND : ..." for AIFF) and an Ogg stream without its end.
bool log_says_truncated(const std::string& log) {
  size_t pos = 0;
  while (pos < log.size()) {
    const size_t end = std::min(log.find('\n', pos), log.size());
    std::string line = log.substr(pos, end - pos);
    pos = end + 1;
    line.erase(0, line.find_first_not_of(' '));
    const bool data_chunk = line.rfind("data :", 0) == 0 || line.rfind("SSND :", 0) == 0;
    if (data_chunk && line.find("(should be") != std::string::npos) return true;
    if (line.find("ended unexpectedly") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

Audio decode_audio(const std::string& path, int64_t target_rate) {
  SF_INFO info;
  SndFilePtr file = open_for_read(path, info);
  Audio a;
  a.channels = info.channels;
  a.source_rate = info.samplerate;
  a.sample_rate = target_rate > 0 ? target_rate : info.samplerate;
  if (info.frames > 0 && info.frames < (int64_t(1) << 40))
    a.samples.reserve(static_cast<size_t>(static_cast<double>(info.frames) * a.sample_rate / info.samplerate) + 16);
  Resampler rs(info.samplerate, static_cast<double>(a.sample_rate));

  const sf_count_t block = 65536;
  std::vector<float> buf(static_cast<size_t>(block * info.channels));
  std::vector<float> mono(static_cast<size_t>(block));
  int64_t frame_index = 0;
  for (;;) {
    const sf_count_t got = sf_readf_float(file.get(), buf.data(), block);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      double acc = 0;
      for (int c = 0; c < info.channels; ++c) acc += buf[static_cast<size_t>(i * info.channels + c)];
      const float v = static_cast<float>(acc / info.channels);
      // NaN/Inf would poison normalisation and every frame after it: refuse the file.
      if (!std::isfinite(v))
        throw Error(path + ": sample " + std::to_string(frame_index + i) + " is NaN or Inf");
      mono[static_cast<size_t>(i)] = v;
    }
    frame_index += got;
    rs.process(mono.data(), static_cast<size_t>(got), a.samples);
  }
  if (sf_error(file.get()) != SF_ERR_NO_ERROR)
    throw Error(path + ": decoding failed after " + std::to_string(frame_index) + " frames (" +
                sf_strerror(file.get()) + ")");
  if (frame_index == 0)
    throw Error(path + (info.frames > 0 ? ": no decodable audio (truncated or corrupt)" : ": contains no audio (0 frames)"));
  // Truncation that libsndfile tolerates silently: fewer frames than the container promised
  // (MP3 Xing/LAME header, FLAC STREAMINFO), or a WAV/AIFF data chunk cut short (its log says
  // "data : N (should be M)").
  const bool frames_known = info.frames > 0 && info.frames < (int64_t(1) << 50);
  if (frames_known && frame_index < info.frames)
    throw Error(path + ": truncated (header promises " + std::to_string(info.frames) + " frames, only " +
                std::to_string(frame_index) + " decodable)");
  char log[2048] = {0};
  sf_command(file.get(), SFC_GET_LOG_INFO, log, sizeof log);
  if (log_says_truncated(log))
    throw Error(path + ": truncated (the data chunk is shorter than its header says)");
  rs.process(nullptr, 0, a.samples);
  // soxr's output length can differ from round(n * ratio) by a sample; make it exact.
  const int64_t expect = static_cast<int64_t>(std::llround(static_cast<double>(frame_index) * a.sample_rate / info.samplerate));
  a.samples.resize(static_cast<size_t>(expect), 0.0f);
  return a;
}

void write_audio(const std::string& path, const std::vector<float>& samples, int64_t sample_rate, int format) {
  // libsndfile writes the header; write to a temp name then rename for atomicity.
  const std::string tmp = path + ".tmp";
  SF_INFO info{};
  info.samplerate = static_cast<int>(sample_rate);
  info.channels = 1;
  info.format = format;
  if (!sf_format_check(&info)) throw Error(path + ": unsupported output format");
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) throw Error(path + ": cannot write (" + sf_strerror(nullptr) + ")");
  const sf_count_t n = sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_write_sync(f);
  sf_close(f);
  std::error_code ec;
  if (n != static_cast<sf_count_t>(samples.size())) {
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": short write");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": cannot rename into place: " + ec.message());
  }
}

void write_wav_f32(const std::string& path, const std::vector<float>& samples, int64_t sample_rate) {
  write_audio(path, samples, sample_rate, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
}

bool is_audio_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* exts[] = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf"};
  // Not .opus: libsndfile 1.2.0 does not apply Opus pre-skip (decoded audio is shifted by
  // ~2500 samples), so we would silently misalign it.
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

}  // namespace mert
