// Decoding any supported file to mono float at a target rate. Reads in blocks, downmixes each
// block (channel mean) and feeds it to a streaming soxr resampler, so no full-size interleaved
// or source-rate copy of a long file ever exists: memory is the output samples plus one block.
//
// libsndfile decodes everything except MP3, which goes to libmpg123 directly: libsndfile stops
// reading at the length mpg123 *estimates* from the first frame when there is no Xing/LAME
// header, which cuts a VBR file short (or leaves it looking truncated). The end-of-file policy
// (what is accepted with a warning, what is refused as truncated) is documented in audio.h and
// docs/RELIABILITY.md.
#include <mpg123.h>
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "mert/audio.h"
#include "audio/sndfile_writer.h"
#include "mert/error.h"

namespace mert {
namespace {

// ---- The end-of-file policy ----

// A shortfall of at most max(0.1 s, min(1 s, 1 % of the promised length)) is a container quirk;
// anything more is a cut file.
double tolerated_shortfall_sec(double promised_sec) {
  return std::max(kShortfallFloorSec, std::min(kShortfallCapSec, kShortfallFraction * promised_sec));
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

void add_warning(Audio& a, const std::string& w) { a.warning += (a.warning.empty() ? "" : "; ") + w; }

// The length the container promises, in source frames; < 0 when it promises nothing reliable
// (then every decodable frame is taken and a cut is undetectable).
struct Promise {
  int64_t frames = -1;
  const char* source = "header";
  // The file's structure shows it is whole (an Ogg stream whose last page, complete, carries the
  // end-of-stream flag): a shortfall is then the header's error, never a cut, and only warned.
  bool whole = false;
};

void check_length(const std::string& path, const Promise& p, int64_t decoded, int64_t rate, Audio& a) {
  if (p.frames <= 0 || decoded == p.frames) return;
  const double total = static_cast<double>(p.frames) / static_cast<double>(rate);
  const double diff = static_cast<double>(std::llabs(p.frames - decoded)) / static_cast<double>(rate);
  if (decoded > p.frames) {  // only MP3 decodes past its header's length; nothing is lost
    add_warning(a, std::string(p.source) + " promises " + std::to_string(p.frames) + " frames, " +
                       std::to_string(decoded) + " decoded (" + seconds(diff) + " more); kept them all");
    return;
  }
  const double tol = tolerated_shortfall_sec(total);
  const std::string what = std::string(p.source) + " promises " + std::to_string(p.frames) + " frames, only " +
                           std::to_string(decoded) + " decodable: " + seconds(diff) + " of " + seconds(total) +
                           " missing";
  if (p.whole) {
    add_warning(a, what + ", but the stream ends properly; decoded what is there");
    return;
  }
  if (diff > tol + 1e-9) throw Error(path + ": truncated (" + what + ", more than the " + seconds(tol) + " tolerated)");
  add_warning(a, what + " at the end (tolerated up to " + seconds(tol) + "); decoded what is there");
}

// ---- Container facts libsndfile does not expose ----

int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

bool read_at(std::FILE* f, int64_t pos, void* dst, size_t n) {
  return fseeko(f, static_cast<off_t>(pos), SEEK_SET) == 0 && std::fread(dst, 1, n, f) == n;
}

uint32_t le32(const unsigned char* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }
uint32_t be32(const unsigned char* p) { return (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

// WAV data-chunk sizes that streaming writers leave in place of the real size: 0 (never filled
// in), 0xFFFFFFFF and 0x7FFFFFFF (the largest unsigned/signed sizes, "unknown"), 0x7FFFF000 (sox
// writing to a pipe). Such a file promises nothing; its audio runs to the end of the file.
bool is_streaming_size(uint64_t n) { return n == 0 || n == 0xFFFFFFFFu || n == 0x7FFFF000u || n == 0x7FFFFFFFu; }

// The offset of a WAV data chunk's size field when that size is 0 but audio bytes follow it (a
// recorder that never came back to write the size; libsndfile then reads 0 frames); -1 otherwise,
// including an empty data chunk followed by another chunk.
int64_t wav_zero_data_size_offset(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  const int64_t size = file_size(path);
  unsigned char h[12];
  if (!f || !read_at(f.get(), 0, h, 12) || std::memcmp(h, "RIFF", 4) || std::memcmp(h + 8, "WAVE", 4)) return -1;
  int64_t pos = 12;
  for (int k = 0; k < 256 && pos + 8 <= size; ++k) {
    unsigned char c[8];
    if (!read_at(f.get(), pos, c, 8)) return -1;
    const uint32_t n = le32(c + 4);
    if (std::memcmp(c, "data", 4) != 0) {
      pos += 8 + int64_t(n) + (n & 1);
      continue;
    }
    const int64_t after = pos + 8, rest = size - after;
    if (n != 0 || rest <= 0) return -1;
    unsigned char next[8];
    if (rest >= 8 && read_at(f.get(), after, next, 8)) {
      const bool id = std::all_of(next, next + 4, [](unsigned char ch) { return ch >= 0x20 && ch < 0x7f; });
      if (id && int64_t(le32(next + 4)) + 8 <= rest) return -1;  // a real, empty data chunk
    }
    return pos + 4;
  }
  return -1;
}

// libsndfile notes a WAV/AIFF sample-data chunk that runs past the end of the file in its log
// ("data : N (should be M)", "SSND : N (should be M)") and reads the M bytes that are there.
// Returns N and M (bytes), or false.
bool log_data_chunk_short(const std::string& log, uint64_t& declared, uint64_t& present) {
  size_t pos = 0;
  while (pos < log.size()) {
    const size_t end = std::min(log.find('\n', pos), log.size());
    std::string line = log.substr(pos, end - pos);
    pos = end + 1;
    line.erase(0, line.find_first_not_of(' '));
    unsigned long long n = 0, m = 0;
    if ((line.rfind("data :", 0) == 0 || line.rfind("SSND :", 0) == 0) &&
        std::sscanf(line.c_str() + 6, " %llu (should be %llu)", &n, &m) == 2) {
      declared = n, present = m;
      return true;
    }
  }
  return false;
}

enum class OggEnd { Eos, NoEos, InsidePage, Unknown };

// Walks the Ogg page headers: does the file end exactly after a page, and does that page carry the
// end-of-stream flag? A file cut by a partial download ends inside a page (pages are a few KiB).
OggEnd ogg_stream_end(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  const int64_t size = file_size(path);
  if (!f || size <= 0) return OggEnd::Unknown;
  int64_t pos = 0;
  bool eos = false;
  unsigned char h[27], lacing[255];
  while (pos < size) {
    const int64_t rest = size - pos;
    const size_t n = static_cast<size_t>(std::min<int64_t>(rest, 27));
    if (!read_at(f.get(), pos, h, n)) return OggEnd::Unknown;
    if (std::memcmp(h, "OggS", std::min<size_t>(n, 4)) != 0) return OggEnd::Unknown;  // trailing junk
    if (rest < 27 || rest < 27 + h[26]) return OggEnd::InsidePage;
    if (!read_at(f.get(), pos + 27, lacing, h[26])) return OggEnd::Unknown;
    int64_t body = 0;
    for (int i = 0; i < h[26]; ++i) body += lacing[i];
    if (pos + 27 + h[26] + body > size) return OggEnd::InsidePage;
    eos = (h[5] & 4) != 0;
    pos += 27 + h[26] + body;
  }
  return eos ? OggEnd::Eos : OggEnd::NoEos;
}

// What the start of an MP3 file says: whether it is one (a frame header right after any ID3v2 tag
// and zero padding), and whether that first frame is a Xing/Info (LAME) tag carrying the stream's
// frame count. With the tag mpg123's length is exact (and gapless); without it, it is an estimate
// from the file size and the first frame's bitrate, useless for VBR.
struct Mp3Start {
  bool mp3 = false;
  bool length_tag = false;
};

bool mpeg_frame_header(const unsigned char* h) {
  if (h[0] != 0xFF || (h[1] & 0xE0) != 0xE0) return false;
  const int version = (h[1] >> 3) & 3, layer = (h[1] >> 1) & 3, bitrate = h[2] >> 4, rate = (h[2] >> 2) & 3;
  return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

Mp3Start mp3_start(const std::string& path) {
  Mp3Start r;
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return r;
  std::vector<unsigned char> b(64 * 1024);
  b.resize(std::fread(b.data(), 1, b.size(), f.get()));
  size_t p = 0;
  if (b.size() >= 10 && std::memcmp(b.data(), "ID3", 3) == 0) {  // skip an ID3v2 tag (syncsafe size)
    p = 10 + ((size_t(b[6] & 0x7f) << 21) | (size_t(b[7] & 0x7f) << 14) | (size_t(b[8] & 0x7f) << 7) | (b[9] & 0x7f));
    if (b[5] & 0x10) p += 10;  // footer
    if (p + 4 > b.size()) {    // a large tag (cover art): read from after it
      if (fseeko(f.get(), static_cast<off_t>(p), SEEK_SET) != 0) return r;
      b.resize(64 * 1024);
      b.resize(std::fread(b.data(), 1, b.size(), f.get()));
      p = 0;
    }
  }
  while (p < b.size() && p < 4096 && b[p] == 0) ++p;  // padding after the tag
  if (p + 4 > b.size() || !mpeg_frame_header(&b[p])) return r;
  r.mp3 = true;
  const bool mono = (b[p + 3] >> 6) == 3, mpeg1 = ((b[p + 1] >> 3) & 3) == 3;
  const size_t side = mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17);
  for (size_t q : {p + 4 + side, p + 6 + side}) {  // without and with the CRC word
    if (q + 8 > b.size()) continue;
    if (std::memcmp(&b[q], "Xing", 4) == 0 || std::memcmp(&b[q], "Info", 4) == 0) {
      r.length_tag = (be32(&b[q + 4]) & 1) != 0;
      break;
    }
  }
  return r;
}

// ---- Reading ----

// A file seen through libsndfile's virtual I/O with four bytes replaced (a WAV data size).
struct PatchedFile {
  FilePtr f;
  sf_count_t size = 0, pos = 0, patch_at = -1;
  unsigned char patch[4] = {0xff, 0xff, 0xff, 0xff};

  static sf_count_t length(void* u) { return static_cast<PatchedFile*>(u)->size; }
  static sf_count_t tell(void* u) { return static_cast<PatchedFile*>(u)->pos; }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t seek(sf_count_t off, int whence, void* u) {
    auto* p = static_cast<PatchedFile*>(u);
    const sf_count_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? p->pos + off : p->size + off;
    if (to < 0) return -1;
    return p->pos = to;
  }
  static sf_count_t read(void* dst, sf_count_t n, void* u) {
    auto* p = static_cast<PatchedFile*>(u);
    if (fseeko(p->f.get(), static_cast<off_t>(p->pos), SEEK_SET) != 0) return 0;
    const sf_count_t got = static_cast<sf_count_t>(std::fread(dst, 1, static_cast<size_t>(n), p->f.get()));
    for (sf_count_t i = std::max(p->pos, p->patch_at); i < std::min(p->pos + got, p->patch_at + 4); ++i)
      static_cast<unsigned char*>(dst)[i - p->pos] = p->patch[i - p->patch_at];
    p->pos += got;
    return got;
  }
};

struct SndFile {
  std::unique_ptr<PatchedFile> patched;  // outlives `f`
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> f{nullptr, sf_close};
  SF_INFO info{};
};

void check_readable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not an audio file");
  if (file_size(path) == 0) throw Error(path + ": empty file (0 bytes)");
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::fclose(probe);
}

// Opens with libsndfile; `data_size_at` >= 0 presents the WAV data size there as 0xFFFFFFFF.
SndFile open_sndfile(const std::string& path, int64_t data_size_at = -1) {
  SndFile s;
  SNDFILE* raw = nullptr;
  if (data_size_at < 0) {
    raw = sf_open(path.c_str(), SFM_READ, &s.info);
  } else {
    s.patched = std::make_unique<PatchedFile>();
    s.patched->f.reset(std::fopen(path.c_str(), "rb"));
    if (!s.patched->f) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    s.patched->size = file_size(path);
    s.patched->patch_at = data_size_at;
    SF_VIRTUAL_IO io{&PatchedFile::length, &PatchedFile::seek, &PatchedFile::read, &PatchedFile::write, &PatchedFile::tell};
    raw = sf_open_virtual(&io, SFM_READ, &s.info, s.patched.get());
  }
  if (!raw) throw Error(path + ": cannot decode (" + sf_strerror(nullptr) + ")");
  s.f.reset(raw);
  if (s.info.channels <= 0 || s.info.samplerate <= 0) throw Error(path + ": invalid channel count or sample rate");
  // Float files: let libsndfile return samples as stored (no clipping/normalisation games).
  sf_command(s.f.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  return s;
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

// Takes interleaved blocks: downmixes (channel mean), refuses NaN/Inf, resamples into `a`.
class MonoSink {
 public:
  MonoSink(const std::string& path, int channels, int64_t in_rate, Audio& a)
      : path_(path), channels_(channels), in_rate_(in_rate), a_(a), rs_(static_cast<double>(in_rate), static_cast<double>(a.sample_rate)) {}
  static constexpr int64_t kBlock = 65536;  // frames per block

  void push(const float* inter, int64_t got) {
    mono_.resize(static_cast<size_t>(got));
    for (int64_t i = 0; i < got; ++i) {
      double acc = 0;
      for (int c = 0; c < channels_; ++c) acc += inter[static_cast<size_t>(i * channels_ + c)];
      const float v = static_cast<float>(acc / channels_);
      // NaN/Inf would poison normalisation and every frame after it: refuse the file.
      if (!std::isfinite(v)) throw Error(path_ + ": sample " + std::to_string(frames + i) + " is NaN or Inf");
      mono_[static_cast<size_t>(i)] = v;
    }
    frames += got;
    rs_.process(mono_.data(), static_cast<size_t>(got), a_.samples);
  }
  void finish() {
    rs_.process(nullptr, 0, a_.samples);
    // soxr's output length can differ from round(n * ratio) by a sample; make it exact.
    const int64_t expect = static_cast<int64_t>(
        std::llround(static_cast<double>(frames) * static_cast<double>(a_.sample_rate) / static_cast<double>(in_rate_)));
    a_.samples.resize(static_cast<size_t>(expect), 0.0f);
  }
  int64_t frames = 0;

 private:
  const std::string& path_;
  int channels_;
  int64_t in_rate_;
  Audio& a_;
  Resampler rs_;
  std::vector<float> mono_;
};

void begin_audio(Audio& a, int channels, int64_t rate, int64_t target_rate, int64_t frames_hint) {
  a.channels = channels;
  a.source_rate = rate;
  a.sample_rate = target_rate > 0 ? target_rate : rate;
  // The hint comes from the header, which a corrupt file can make promise terabytes: reserve
  // at most ten minutes up front and let a longer file grow the buffer as it decodes.
  constexpr double kMaxReserveSeconds = 600;
  if (frames_hint > 0 && rate > 0) {
    const double want = static_cast<double>(frames_hint) * static_cast<double>(a.sample_rate) / static_cast<double>(rate);
    a.samples.reserve(static_cast<size_t>(std::min(want, kMaxReserveSeconds * static_cast<double>(a.sample_rate))) + 16);
  }
}

struct Mpg123Closer {
  void operator()(mpg123_handle* h) const {
    mpg123_close(h);
    mpg123_delete(h);
  }
};

Audio decode_mp3(const std::string& path, int64_t target_rate, bool length_tag) {
  static std::once_flag init;
  std::call_once(init, [] { mpg123_init(); });  // a no-op since mpg123 1.27, required before
  int err = MPG123_OK;
  std::unique_ptr<mpg123_handle, Mpg123Closer> h(mpg123_new(nullptr, &err));
  if (!h) throw Error(path + ": cannot create an MP3 decoder (" + mpg123_plain_strerror(err) + ")");
  mpg123_param(h.get(), MPG123_ADD_FLAGS, MPG123_FORCE_FLOAT | MPG123_GAPLESS | MPG123_QUIET, 0);
  if (mpg123_open(h.get(), path.c_str()) != MPG123_OK)
    throw Error(path + ": cannot decode (mpg123: " + mpg123_strerror(h.get()) + ")");
  long rate = 0;
  int channels = 0, encoding = 0;
  if (mpg123_getformat(h.get(), &rate, &channels, &encoding) != MPG123_OK || rate <= 0 || channels <= 0)
    throw Error(path + ": cannot decode (no MPEG audio frame found)");
  mpg123_format_none(h.get());
  mpg123_format(h.get(), rate, channels, MPG123_ENC_FLOAT_32);
  Promise promise;
  promise.source = "the Xing/LAME header";
  if (length_tag) promise.frames = mpg123_length(h.get());

  Audio a;
  begin_audio(a, channels, rate, target_rate, promise.frames);
  MonoSink sink(path, channels, rate, a);
  std::vector<float> buf(static_cast<size_t>(MonoSink::kBlock * channels));
  for (int idle = 0; idle < 64;) {
    size_t done = 0;
    const int e = mpg123_read(h.get(), reinterpret_cast<unsigned char*>(buf.data()), buf.size() * sizeof(float), &done);
    const int64_t got = static_cast<int64_t>(done / (sizeof(float) * static_cast<size_t>(channels)));
    if (got > 0) sink.push(buf.data(), got);
    idle = got > 0 ? 0 : idle + 1;
    if (e == MPG123_DONE) break;
    if (e == MPG123_NEW_FORMAT) {
      long r = 0;
      int c = 0, enc = 0;
      mpg123_getformat(h.get(), &r, &c, &enc);
      if (r != rate || c != channels)
        throw Error(path + ": the MPEG stream changes from " + std::to_string(rate) + " Hz/" + std::to_string(channels) +
                    " ch to " + std::to_string(r) + " Hz/" + std::to_string(c) + " ch after " +
                    std::to_string(sink.frames) + " frames");
      continue;
    }
    if (e != MPG123_OK)
      throw Error(path + ": decoding failed after " + std::to_string(sink.frames) + " frames (mpg123: " +
                  mpg123_strerror(h.get()) + ")");
  }
  if (sink.frames == 0) throw Error(path + ": no decodable audio (truncated or corrupt)");
  check_length(path, promise, sink.frames, rate, a);
  sink.finish();
  return a;
}

}  // namespace

Audio decode_audio(const std::string& path, int64_t target_rate) {
  check_readable(path);
  // MP3 goes straight to mpg123 (libsndfile would not read past its length estimate); files
  // libsndfile recognises as MPEG that do not start like one (junk before the first frame) too.
  const Mp3Start mp3 = mp3_start(path);
  if (mp3.mp3) return decode_mp3(path, target_rate, mp3.length_tag);
  SndFile s = open_sndfile(path);
  const int major = s.info.format & SF_FORMAT_TYPEMASK;
  if (major == SF_FORMAT_MPEG) {
    s = SndFile{};
    return decode_mp3(path, target_rate, false);
  }
  bool streaming = false;
  if ((major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX) && s.info.frames == 0) {
    const int64_t at = wav_zero_data_size_offset(path);
    if (at >= 0) s = open_sndfile(path, at), streaming = true;
  }
  const SF_INFO info = s.info;
  // A download cut short ends inside an Ogg page (pages are a few KiB): refuse before decoding.
  const OggEnd ogg_end = major == SF_FORMAT_OGG ? ogg_stream_end(path) : OggEnd::Unknown;
  if (ogg_end == OggEnd::InsidePage)
    throw Error(path + ": truncated (the Ogg stream ends inside a page: the file is cut)");

  Audio a;
  begin_audio(a, info.channels, info.samplerate, target_rate, info.frames);
  MonoSink sink(path, info.channels, info.samplerate, a);
  std::vector<float> buf(static_cast<size_t>(MonoSink::kBlock * info.channels));
  for (;;) {
    const sf_count_t got = sf_readf_float(s.f.get(), buf.data(), MonoSink::kBlock);
    if (got <= 0) break;
    sink.push(buf.data(), got);
  }
  if (sf_error(s.f.get()) != SF_ERR_NO_ERROR)
    throw Error(path + ": decoding failed after " + std::to_string(sink.frames) + " frames (" +
                sf_strerror(s.f.get()) + ")");
  const bool frames_known = info.frames > 0 && info.frames < (int64_t(1) << 50);
  if (sink.frames == 0)
    throw Error(path + (frames_known ? ": no decodable audio (truncated or corrupt)" : ": contains no audio (0 frames)"));

  // What did the container promise? libsndfile already stops at info.frames (FLAC STREAMINFO,
  // the last Ogg granule position); for WAV/AIFF it reads what is there and says in its log
  // when the data chunk claims more.
  char log_buf[4096] = {0};
  sf_command(s.f.get(), SFC_GET_LOG_INFO, log_buf, sizeof log_buf);
  const std::string log = log_buf;
  Promise promise;
  if (frames_known) promise.frames = info.frames;
  if (major == SF_FORMAT_FLAC) promise.source = "the FLAC STREAMINFO header";
  uint64_t declared = 0, present = 0;
  if (log_data_chunk_short(log, declared, present) && present > 0) {
    if (!streaming && !is_streaming_size(declared)) {
      // Frames scale with bytes; a partial last frame counts as missing.
      const unsigned __int128 num = static_cast<unsigned __int128>(sink.frames) * declared;
      promise.frames = static_cast<int64_t>((num + present - 1) / present);
      promise.source = "the data chunk header";
    }
  }
  if (major == SF_FORMAT_OGG) {
    if (ogg_end == OggEnd::NoEos)  // ends after a whole page: a stopped stream recording, most likely
      add_warning(a, "the Ogg stream has no end-of-stream flag (a stopped recording?); decoded up to its last page");
    if (ogg_end == OggEnd::Unknown && !frames_known && log.find("ended unexpectedly") != std::string::npos)
      throw Error(path + ": truncated (the Ogg stream ends without its end-of-stream page)");
    promise.source = "the last Ogg granule position";
    promise.whole = ogg_end == OggEnd::Eos;
  }
  check_length(path, promise, sink.frames, info.samplerate, a);
  sink.finish();
  return a;
}

void write_wav_f32(const std::string& path, const std::vector<float>& samples, int64_t sample_rate) {
  write_audio(path, samples, sample_rate, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
}

std::vector<float> resample(const std::vector<float>& x, int64_t in_rate, int64_t out_rate) {
  if (in_rate <= 0 || out_rate <= 0)
    throw Error("cannot resample from " + std::to_string(in_rate) + " Hz to " + std::to_string(out_rate) + " Hz");
  const std::string what = "waveform";
  Audio a;
  a.sample_rate = out_rate;
  MonoSink sink(what, 1, in_rate, a);
  // The decoder's block size, so that the two paths feed soxr alike.
  for (size_t at = 0; at < x.size(); at += static_cast<size_t>(MonoSink::kBlock))
    sink.push(x.data() + at, static_cast<int64_t>(std::min(x.size() - at, static_cast<size_t>(MonoSink::kBlock))));
  sink.finish();
  return std::move(a.samples);
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
