// Decoding: every supported format gives the same audio (lossless exactly, lossy within a
// stated tolerance), resampling is correct, and broken files fail with mert::Error, never crash.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "mert/audio.h"
#include "audio/sndfile_writer.h"
#include "embed/embed.h"
#include "model/presets.h"
#include "test_models.h"
#include "test_util.h"

using namespace mert_test;

namespace {

struct Format {
  const char* file;
  int sf_format;
  double max_sample_err;  // vs the float original (lossless: quantisation; lossy: codec)
  bool lossy;
};

const Format kFormats[] = {
    {"x.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0.0, false},
    {"x16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.0 / 32768, false},
    {"x24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1.0 / 8388608, false},
    {"x.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 1.0 / 8388608, false},
    {"x.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1.0 / 32768, false},
    {"x.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.1, true},
    {"x.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0.1, true},
};

std::vector<float> music(double sec, int sr) { return mert::generate_test_music(sec, sr, 5); }

mert::MertModel tiny_model() {
  mert::MertModel m(micro_config());
  mert::init_weights(*m, 1);
  m->eval();
  return m;
}

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

TEST(Decode, EveryFormatMatchesTheWav) {
  TempDir dir;
  const auto x = music(3.0, 24000);
  auto model = tiny_model();
  mert::PreprocessorConfig pre;
  pre.do_normalize = true;
  mert::EmbedOptions opts;
  opts.pool = mert::Pool::None;
  const auto ref = mert::embed_waveform(*model, pre, x, opts);
  for (const auto& f : kFormats) {
    SCOPED_TRACE(f.file);
    mert::write_audio(dir / f.file, x, 24000, f.sf_format);
    const auto a = mert::decode_audio(dir / f.file, 24000);
    ASSERT_EQ(a.samples.size(), x.size());  // no codec delay/padding left in
    double max_err = 0;
    for (size_t i = 0; i < x.size(); ++i) max_err = std::max(max_err, std::abs(double(a.samples[i]) - x[i]));
    EXPECT_LE(max_err, f.max_sample_err + 1e-9);
    const auto emb = mert::embed_waveform(*model, pre, a.samples, opts);
    const double err = rel_err(emb, ref);
    // Lossless formats: quantisation only (1e-3 of the largest activation). Lossy (Vorbis, MP3
    // at libsndfile's default quality): frames within 30% of the largest activation (a random
    // tiny model amplifies codec noise; measured 0.13 / 0.16), mean-pooled features parallel
    // to 0.999 cosine.
    EXPECT_LE(err, f.lossy ? 0.3 : 1e-3) << "embedding error " << err;
    const auto pooled_a = emb.mean(1), pooled_r = ref.mean(1);
    const double cos = torch::cosine_similarity(pooled_a.flatten(), pooled_r.flatten(), 0).item<double>();
    EXPECT_GE(cos, f.lossy ? 0.999 : 0.999999);
  }
}

TEST(Decode, StereoIsAveragedAndRatesAreResampled) {
  TempDir dir;
  // 1 kHz sine at 44.1 kHz in the left channel, silence in the right: mono = half amplitude.
  const int sr = 44100, n = sr * 2;
  std::vector<float> inter(2 * n);
  for (int i = 0; i < n; ++i) inter[2 * i] = 0.8f * std::sin(2 * M_PI * 1000.0 * i / sr);
  SF_INFO info{};
  info.samplerate = sr;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open((dir / "st.wav").c_str(), SFM_WRITE, &info);
  ASSERT_TRUE(f);
  sf_writef_float(f, inter.data(), n);
  sf_close(f);
  const auto a = mert::decode_audio(dir / "st.wav", 24000);
  EXPECT_EQ(a.channels, 2);
  EXPECT_EQ(a.source_rate, 44100);
  ASSERT_EQ(a.samples.size(), 48000u);
  double max_err = 0;
  for (int i = 2000; i < 46000; ++i)  // away from the edges
    max_err = std::max(max_err, std::abs(a.samples[i] - 0.4 * std::sin(2 * M_PI * 1000.0 * i / 24000)));
  EXPECT_LE(max_err, 2e-3);
}

TEST(Decode, TruncatedFilesOfEveryFormatFail) {
  TempDir dir;
  const auto x = music(3.0, 24000);
  for (const auto& f : kFormats) {
    SCOPED_TRACE(f.file);
    mert::write_audio(dir / f.file, x, 24000, f.sf_format);
    const std::string bytes = read_bytes(dir / f.file);
    for (double frac : {0.1, 0.5, 0.9}) {
      const std::string cut = dir / (std::string("cut_") + std::to_string(int(frac * 10)) + "_" + f.file);
      write_bytes(cut, bytes.substr(0, static_cast<size_t>(bytes.size() * frac)));
      expect_mert_error([&] { mert::decode_audio(cut, 24000); }, cut);
    }
    write_bytes(dir / "empty", "");
    expect_mert_error([&] { mert::decode_audio(dir / "empty", 24000); }, "empty", "empty file");
  }
}

TEST(Decode, CorruptBytesNeverCrash) {
  TempDir dir;
  const auto x = music(1.0, 24000);
  for (const auto& f : kFormats) {
    mert::write_audio(dir / f.file, x, 24000, f.sf_format);
    std::string bytes = read_bytes(dir / f.file);
    for (size_t pos = 0; pos < bytes.size(); pos += bytes.size() / 23 + 1) {
      std::string b = bytes;
      for (size_t k = pos; k < std::min(b.size(), pos + 16); ++k) b[k] = static_cast<char>(b[k] ^ 0x5a);
      write_bytes(dir / "bad", b);
      try {
        auto a = mert::decode_audio(dir / "bad", 24000);
        for (float v : a.samples) ASSERT_TRUE(std::isfinite(v));  // decoded: must be usable
      } catch (const mert::Error&) {
        // a clear error is the other acceptable outcome
      }
    }
  }
}

TEST(Decode, NonFiniteSamplesAreRefused) {
  TempDir dir;
  auto x = music(1.0, 24000);
  x[1234] = std::numeric_limits<float>::quiet_NaN();
  mert::write_audio(dir / "nan.wav", x, 24000, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  expect_mert_error([&] { mert::decode_audio(dir / "nan.wav", 24000); }, "nan", "NaN or Inf");
  x[1234] = std::numeric_limits<float>::infinity();
  mert::write_audio(dir / "inf.wav", x, 24000, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  expect_mert_error([&] { mert::decode_audio(dir / "inf.wav", 24000); }, "inf", "NaN or Inf");
}

// Found by fuzz_audio: a FLAC header promising 2^36 - 1 frames made the decoder reserve
// 275 GB up front (std::bad_alloc, not an error naming the file). It is refused as truncated.
TEST(Decode, HeaderPromisingTerabytesIsTruncatedNotAnAllocation) {
  TempDir dir;
  const auto path = dir / "huge.flac";
  mert::write_audio(path, std::vector<float>(12000, 0.25f), 24000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  std::string bytes = read_bytes(path);
  ASSERT_EQ(bytes.substr(0, 4), "fLaC");
  // STREAMINFO starts at byte 8; its 36-bit total-samples field is the low nibble of byte 21
  // and bytes 22-25.
  bytes[21] = static_cast<char>((bytes[21] & 0xF0) | 0x0F);
  for (int i = 22; i < 26; ++i) bytes[i] = static_cast<char>(0xFF);
  write_bytes(path, bytes);
  expect_mert_error([&] { mert::decode_audio(path, 24000); }, "huge.flac", "truncated");
}

TEST(Decode, SilenceEmbedsToFiniteValues) {
  TempDir dir;
  mert::write_audio(dir / "silence.flac", std::vector<float>(24000, 0.0f), 24000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  auto a = mert::decode_audio(dir / "silence.flac", 24000);
  auto model = tiny_model();
  mert::PreprocessorConfig pre;
  pre.do_normalize = true;  // variance 0: must not divide by zero
  auto emb = mert::embed_waveform(*model, pre, a.samples, mert::EmbedOptions{});
  EXPECT_TRUE(emb.isfinite().all().item<bool>());
}

// The end-of-file policy (audio.h, docs/RELIABILITY.md): a WAV whose data chunk lacks `missing`
// frames at the end decodes with a warning while missing <= max(0.1 s, min(1 s, 1 %)) of the
// promised length, and is refused as truncated beyond. One frame either side of the edge, in each
// regime of the rule (the 0.1 s floor, 1 %, the 1 s cap). tests/cli/test_real_world_audio.sh
// covers the other containers with files made by real encoders.
TEST(DecodePolicy, ShortfallToleranceEdges) {
  TempDir dir;
  const int64_t sr = 8000;
  for (const double sec : {2.0, 30.0, 200.0}) {
    const double tol_sec = std::max(mert::kShortfallFloorSec, std::min(mert::kShortfallCapSec, mert::kShortfallFraction * sec));
    const int64_t n = static_cast<int64_t>(sec * sr), tol = std::llround(tol_sec * sr);
    SCOPED_TRACE("promised " + std::to_string(sec) + " s, tolerance " + std::to_string(tol) + " frames");
    EXPECT_EQ(tol, sec == 2.0 ? 800 : sec == 30.0 ? 2400 : 8000);
    mert::write_audio(dir / "full.wav", music(sec, sr), sr, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    const std::string bytes = read_bytes(dir / "full.wav");
    for (const int64_t missing : {int64_t(0), int64_t(1), tol - 1, tol, tol + 1, 3 * tol}) {
      SCOPED_TRACE("missing " + std::to_string(missing) + " frames");
      write_bytes(dir / "cut.wav", bytes.substr(0, bytes.size() - static_cast<size_t>(2 * missing)));
      if (missing > tol) {
        expect_mert_error([&] { mert::decode_audio(dir / "cut.wav"); }, "cut", "truncated (the data chunk header promises");
        continue;
      }
      const auto a = mert::decode_audio(dir / "cut.wav");
      EXPECT_EQ(static_cast<int64_t>(a.samples.size()), n - missing);
      EXPECT_EQ(a.warning.empty(), missing == 0) << a.warning;
      if (missing > 0) EXPECT_NE(a.warning.find("missing at the end"), std::string::npos) << a.warning;
    }
    // Half a frame short (an odd byte count): the partial frame counts as missing, with a warning.
    write_bytes(dir / "odd.wav", bytes.substr(0, bytes.size() - 1));
    const auto a = mert::decode_audio(dir / "odd.wav");
    EXPECT_EQ(static_cast<int64_t>(a.samples.size()), n - 1);
    EXPECT_FALSE(a.warning.empty());
  }
}

// Streaming writers leave placeholder sizes (0, 0xFFFFFFFF, sox's 0x7FFFF000, 0x7FFFFFFF) in the
// WAV header: the audio runs to the end of the file and is decoded whole, without a warning.
// A real, empty data chunk (followed by another chunk) stays "no audio".
TEST(DecodePolicy, StreamingWavSizesDecodeToTheEnd) {
  TempDir dir;
  const auto x = music(1.5, 16000);
  mert::write_audio(dir / "x.wav", x, 16000, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  const std::string bytes = read_bytes(dir / "x.wav");
  const size_t data = bytes.find("data");
  ASSERT_NE(data, std::string::npos);
  const auto ref = mert::decode_audio(dir / "x.wav");
  auto le32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  for (const uint32_t riff : {0u, 0xFFFFFFFFu, 36u})
    for (const uint32_t size : {0u, 0xFFFFFFFFu, 0x7FFFF000u, 0x7FFFFFFFu}) {
      SCOPED_TRACE("RIFF size " + std::to_string(riff) + ", data size " + std::to_string(size));
      std::string b = bytes;
      b.replace(4, 4, le32(riff));
      b.replace(data + 4, 4, le32(size));
      write_bytes(dir / "stream.wav", b);
      const auto a = mert::decode_audio(dir / "stream.wav", 24000);
      const auto r = mert::decode_audio(dir / "x.wav", 24000);
      EXPECT_EQ(a.samples, r.samples);
      EXPECT_TRUE(a.warning.empty()) << a.warning;
      // The same file cut short: nothing promised a length, so the shorter audio is all there is.
      write_bytes(dir / "stream_cut.wav", b.substr(0, b.size() / 2));
      const auto c = mert::decode_audio(dir / "stream_cut.wav");
      EXPECT_EQ(c.samples.size(), (b.size() / 2 - data - 8) / 2);
    }
  EXPECT_EQ(ref.samples.size(), x.size());
  // An empty data chunk followed by a LIST chunk: a valid file with no audio, not a stream.
  std::string b = bytes.substr(0, data + 4) + le32(0) + "LIST" + le32(4) + "INFO";
  write_bytes(dir / "empty_data.wav", b);
  expect_mert_error([&] { mert::decode_audio(dir / "empty_data.wav"); }, "empty data", "contains no audio");
}

TEST(Decode, ExtensionsScannedInDirectories) {
  EXPECT_TRUE(mert::is_audio_extension("a/b/Song.MP3"));
  EXPECT_TRUE(mert::is_audio_extension("x.flac"));
  EXPECT_FALSE(mert::is_audio_extension("notes.txt"));
  EXPECT_FALSE(mert::is_audio_extension("noext"));
}

}  // namespace
