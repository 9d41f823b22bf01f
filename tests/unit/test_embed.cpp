// What `mert embed` promises about chunking, pooling and normalisation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mert/audio.h"
#include "embed/embed.h"
#include "mert/error.h"
#include "embed/inputs.h"
#include "model/presets.h"
#include "test_models.h"

namespace {

struct Fixture {
  mert::ModelConfig cfg;
  mert::MertModel model{nullptr};
  Fixture() {
    cfg = mert_test::micro_config();
    model = mert::MertModel(cfg);
    mert::init_weights(*model, 42);
    model->eval();
  }
};

TEST(Embed, ChunksConcatenateAndMeanPools) {
  Fixture f;
  mert::PreprocessorConfig pre;
  pre.do_normalize = false;
  auto wave = mert::generate_test_music(2.5, 24000, 1);  // 60000 samples
  mert::EmbedOptions o;
  o.pool = mert::Pool::None;
  o.chunk_sec = 1.0;  // chunks of 24000, 24000, 12000 samples
  auto frames = mert::embed_waveform(*f.model, pre, wave, o);
  const int64_t expect_T = 2 * f.cfg.frames_for_samples(24000) + f.cfg.frames_for_samples(12000);
  ASSERT_EQ(frames.sizes(), torch::IntArrayRef({3, expect_T, 32}));
  // The third chunk equals a separate run on those 12000 samples.
  std::vector<float> tail(wave.begin() + 48000, wave.end());
  mert::EmbedOptions whole = o;
  whole.chunk_sec = 0;
  auto t = mert::embed_waveform(*f.model, pre, tail, whole);
  auto last = frames.narrow(1, expect_T - t.size(1), t.size(1));
  EXPECT_LE((last - t).abs().max().item<double>(), 1e-5);
  // Mean pooling = mean over all frames of all chunks.
  o.pool = mert::Pool::Mean;
  auto mean = mert::embed_waveform(*f.model, pre, wave, o);
  ASSERT_EQ(mean.sizes(), torch::IntArrayRef({3, 32}));
  EXPECT_LE((mean - frames.mean(1)).abs().max().item<double>(), 1e-5);
}

TEST(Embed, ChunkLongerThanFileEqualsOnePass) {
  Fixture f;
  mert::PreprocessorConfig pre;
  pre.do_normalize = true;
  auto wave = mert::generate_test_music(1.3, 24000, 2);
  mert::EmbedOptions a, b;
  a.pool = b.pool = mert::Pool::None;
  a.chunk_sec = 0;
  b.chunk_sec = 30;
  EXPECT_TRUE(torch::equal(mert::embed_waveform(*f.model, pre, wave, a), mert::embed_waveform(*f.model, pre, wave, b)));
}

TEST(Embed, LayerSelectionOrder) {
  Fixture f;
  mert::PreprocessorConfig pre;
  auto wave = mert::generate_test_music(0.5, 24000, 3);
  mert::EmbedOptions all, some;
  all.pool = some.pool = mert::Pool::None;
  some.layers = {2, 0};
  auto A = mert::embed_waveform(*f.model, pre, wave, all);
  auto S = mert::embed_waveform(*f.model, pre, wave, some);
  EXPECT_TRUE(torch::equal(S[0], A[2]));
  EXPECT_TRUE(torch::equal(S[1], A[0]));
}

TEST(Embed, ShortTailChunkDroppedOnlyIfNoFrame) {
  Fixture f;
  mert::PreprocessorConfig pre;
  auto wave = mert::generate_test_music(1.0, 24000, 4);
  wave.resize(24000 + 399);  // tail of 399 samples gives no frame -> dropped
  mert::EmbedOptions o;
  o.pool = mert::Pool::None;
  o.chunk_sec = 1.0;
  EXPECT_EQ(mert::embed_waveform(*f.model, pre, wave, o).size(1), f.cfg.frames_for_samples(24000));
  wave.resize(24000 + 400);  // 400 samples -> one more frame
  EXPECT_EQ(mert::embed_waveform(*f.model, pre, wave, o).size(1), f.cfg.frames_for_samples(24000) + 1);
}

TEST(Embed, ChunkPoolIsEachChunksMeanAndShortTailRule) {
  Fixture f;
  mert::PreprocessorConfig pre;
  pre.do_normalize = false;
  auto wave = mert::generate_test_music(2.5, 24000, 5);  // chunks of 1 s, 1 s, 0.5 s
  mert::EmbedOptions o;
  o.pool = mert::Pool::None;
  o.chunk_sec = 1.0;
  const auto frames = mert::embed_waveform(*f.model, pre, wave, o);
  o.pool = mert::Pool::Chunks;
  const auto chunks = mert::embed_waveform(*f.model, pre, wave, o);
  ASSERT_EQ(chunks.sizes(), torch::IntArrayRef({3, 3, 32}));
  const int64_t T1 = f.cfg.frames_for_samples(24000);
  EXPECT_LE((chunks.select(1, 0) - frames.narrow(1, 0, T1).mean(1)).abs().max().item<double>(), 1e-5);
  EXPECT_LE((chunks.select(1, 2) - frames.narrow(1, 2 * T1, frames.size(1) - 2 * T1).mean(1)).abs().max().item<double>(), 1e-5);
  // MARBLE drops a last chunk under 1 s; a single short chunk is always kept.
  o.min_last_chunk_sec = 0.6;
  EXPECT_EQ(mert::embed_waveform(*f.model, pre, wave, o).size(1), 2);
  o.min_last_chunk_sec = 0.5;
  EXPECT_EQ(mert::embed_waveform(*f.model, pre, wave, o).size(1), 3);
  std::vector<float> short_wave(wave.begin(), wave.begin() + 6000);
  o.min_last_chunk_sec = 1.0;
  EXPECT_EQ(mert::embed_waveform(*f.model, pre, short_wave, o).size(1), 1);
}

TEST(Embed, SegmentCutsTheDecodedWave) {
  std::vector<float> w(100);
  for (int i = 0; i < 100; ++i) w[static_cast<size_t>(i)] = static_cast<float>(i);
  mert::InputItem item{"x.wav", "x", "", 0.2, 0.3};  // 10 Hz: samples 2..4
  auto a = w;
  mert::apply_segment(item, a, 10);
  EXPECT_EQ(a, (std::vector<float>{2, 3, 4}));
  item.duration_sec = 0;  // to the end
  auto b = w;
  mert::apply_segment(item, b, 10);
  EXPECT_EQ(b.size(), 98u);
  EXPECT_EQ(b.front(), 2.0f);
  item.start_sec = 11;  // beyond the end
  auto c = w;
  EXPECT_THROW(mert::apply_segment(item, c, 10), mert::Error);
}

TEST(Embed, RejectsBadOptionsAndShortAudio) {
  Fixture f;
  mert::PreprocessorConfig pre;
  EXPECT_THROW(mert::parse_layers("0,x", 2), mert::Error);
  EXPECT_THROW(mert::parse_layers("3", 2), mert::Error);
  EXPECT_THROW(mert::parse_pool("max"), mert::Error);
  EXPECT_EQ(mert::parse_layers("all", 2).size(), 3u);
  mert::EmbedOptions o;
  EXPECT_THROW(mert::embed_waveform(*f.model, pre, std::vector<float>(399, 0.1f), o), mert::Error);
  o.chunk_sec = 0.001;  // 24 samples < receptive field
  EXPECT_THROW(mert::embed_waveform(*f.model, pre, std::vector<float>(4000, 0.1f), o), mert::Error);
}

TEST(Normalize, MatchesDefinitionAndSilenceStaysZero) {
  std::vector<float> x = {1, 2, 3, 4, 10};
  double mean = 4, var = (9 + 4 + 1 + 0 + 36) / 5.0;
  auto y = x;
  mert::normalize_waveform(y);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], (x[i] - mean) / std::sqrt(var + 1e-7), 1e-6);
  std::vector<float> silence(1000, 0.0f);
  mert::normalize_waveform(silence);
  for (float v : silence) EXPECT_EQ(v, 0.0f);
  std::vector<float> dc(1000, 0.25f);
  mert::normalize_waveform(dc);
  for (float v : dc) EXPECT_TRUE(std::isfinite(v) && std::abs(v) < 1e-6);
}

}  // namespace
