// The pre-training data loader on a tiny corpus whose samples and labels encode where they came
// from: clip c's sample i is (c * 16384 + i) / 2^24 (exact in float), and label stream 0 gives frame
// t of clip c the symbol (7c + t) % 50, stream 1 the symbol (3c + 2t) % 20. So every batch row can be
// traced back to its clip and crop start, and its labels checked against that crop.
#include <ATen/ops/cat.h>
#include <ATen/ops/equal.h>
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mert/audio.h"
#include "mert/config.h"
#include "mert/error.h"
#include "train/pretrain_data.h"

namespace fs = std::filesystem;
using namespace mert;
using namespace mert::train;

namespace {

constexpr int64_t kRate = 24000;
constexpr int64_t kHop = 320;
constexpr int64_t kVocab[2] = {50, 20};

float sample_value(int64_t clip, int64_t i) { return static_cast<float>(clip * 16384 + i) / 16777216.0f; }

// (clip, sample index) of a sample value.
std::pair<int64_t, int64_t> trace_sample(float v) {
  const int64_t code = std::llround(static_cast<double>(v) * 16777216.0);
  return {code / 16384, code % 16384};
}

int64_t symbol(int stream, int64_t clip, int64_t frame) {
  return stream == 0 ? (7 * clip + frame) % kVocab[0] : (3 * clip + 2 * frame) % kVocab[1];
}

// Dict line l holds symbol (13 l) % V, so a label's index differs from its symbol.
int64_t dict_symbol(int stream, int64_t line) { return (13 * line) % kVocab[stream]; }
int64_t label_index(int stream, int64_t sym) {
  for (int64_t l = 0; l < kVocab[stream]; ++l)
    if (dict_symbol(stream, l) == sym) return l;
  return -1;
}

int64_t model_frames(int64_t n) {
  const ModelConfig cfg;
  return conv_output_length(cfg.conv_kernel, cfg.conv_stride, n);
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream out(p);
  for (const auto& l : lines) out << l << '\n';
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a mert::Error";
  return "";
}

// 14 clips; clips 0 and 7 are shorter than min_samples (3200).
const std::vector<int64_t> kLengths{2000, 3300, 4000, 4800, 5500, 6100, 7000, 3000, 8000, 9600, 11000, 12500, 14000, 16000};

class PretrainData : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("mert_pretrain_data_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "audio");
    fs::create_directories(dir_ / "labels");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path audio_path(int64_t clip) const { return dir_ / "audio" / ("clip" + std::to_string(clip) + ".wav"); }
  fs::path label_path(int stream) const { return dir_ / "labels" / ("train.km" + std::to_string(stream)); }

  void write_clip(int64_t clip, int64_t n, int64_t rate = kRate) const {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = sample_value(clip, i);
    write_wav_f32(audio_path(clip).string(), x, rate);
  }

  CorpusOptions write_corpus(const std::vector<int64_t>& lengths) {
    lengths_ = lengths;
    std::ofstream tsv(dir_ / "train.tsv");
    tsv << (dir_ / "audio").string() << '\n';
    for (size_t c = 0; c < lengths.size(); ++c) {
      write_clip(static_cast<int64_t>(c), lengths[c]);
      tsv << "clip" << c << ".wav\t" << lengths[c] << '\n';
    }
    for (int s = 0; s < 2; ++s) {
      std::vector<std::string> dict, lines;
      for (int64_t l = 0; l < kVocab[s]; ++l) dict.push_back(std::to_string(dict_symbol(s, l)) + " 1");
      for (size_t c = 0; c < lengths.size(); ++c) {
        std::string line;
        for (int64_t t = 0; t < model_frames(lengths[c]); ++t)
          line += (t ? " " : "") + std::to_string(symbol(s, static_cast<int64_t>(c), t));
        lines.push_back(line);
      }
      write_lines(dir_ / "labels" / ("dict.km" + std::to_string(s) + ".txt"), dict);
      write_lines(label_path(s), lines);
    }
    CorpusOptions o;
    o.manifest = (dir_ / "train.tsv").string();
    o.label_dir = (dir_ / "labels").string();
    o.label_names = {"km0", "km1"};
    o.min_samples = 3200;
    return o;
  }

  static BatchOptions small_batches() {
    BatchOptions b;
    b.batch_size = 4;
    b.crop_samples = 4800;
    b.seed = 7;
    b.bucket_batches = 2;
    b.cqt_target = false;
    return b;
  }

  // Checks every row of a batch against the clip and crop start its first sample names; returns the starts.
  std::vector<int64_t> check_rows(const Batch& b, const std::vector<int64_t>& global_entries, int64_t crop) const {
    int64_t S = crop;
    for (int64_t e : global_entries) S = std::min(S, lengths_[static_cast<size_t>(e)]);
    const int64_t T = model_frames(S);
    const int64_t rows = static_cast<int64_t>(b.entries.size());
    EXPECT_EQ(b.wave.sizes(), (std::vector<int64_t>{rows, S}));
    EXPECT_EQ(b.labels.sizes(), (std::vector<int64_t>{2, rows, T}));
    EXPECT_EQ(b.frames, T);
    std::vector<int64_t> starts;
    if (b.wave.sizes() != std::vector<int64_t>{rows, S} || b.labels.sizes() != std::vector<int64_t>{2, rows, T}) return starts;
    const auto wave = b.wave.accessor<float, 2>();
    const auto labels = b.labels.accessor<int64_t, 3>();
    for (int64_t r = 0; r < rows; ++r) {
      const auto [clip, start] = trace_sample(wave[r][0]);
      EXPECT_EQ(clip, b.entries[static_cast<size_t>(r)]) << "row " << r;
      EXPECT_EQ(start % kHop, 0) << "row " << r;
      EXPECT_LE(start + S, lengths_[static_cast<size_t>(clip)]) << "row " << r;
      int64_t wrong_samples = 0, wrong_labels = 0;
      for (int64_t i = 0; i < S; ++i) wrong_samples += wave[r][i] != sample_value(clip, start + i);
      for (int s = 0; s < 2; ++s)
        for (int64_t t = 0; t < T; ++t) wrong_labels += labels[s][r][t] != label_index(s, symbol(s, clip, start / kHop + t));
      EXPECT_EQ(wrong_samples, 0) << "row " << r;
      EXPECT_EQ(wrong_labels, 0) << "row " << r;
      starts.push_back(start);
    }
    return starts;
  }

  fs::path dir_;
  std::vector<int64_t> lengths_;
};

bool same_batch(const Batch& a, const Batch& b) {
  return a.step == b.step && a.entries == b.entries && a.wave.sizes() == b.wave.sizes() && at::equal(a.wave, b.wave) &&
         a.labels.sizes() == b.labels.sizes() && at::equal(a.labels, b.labels) && a.first_row == b.first_row &&
         a.global_rows == b.global_rows && a.frames == b.frames;
}

// Global positions [first, last) of the concatenated epoch orders, read through load_batch.
std::vector<int64_t> positions(const Corpus& c, const BatchOptions& o, int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t step = first / o.batch_size; step * o.batch_size < last; ++step) {
    const Batch b = load_batch(c, o, step);
    for (int64_t j = 0; j < o.batch_size; ++j) {
      const int64_t p = step * o.batch_size + j;
      if (p >= first && p < last) out.push_back(b.entries[static_cast<size_t>(j)]);
    }
  }
  return out;
}

TEST_F(PretrainData, OpensCorpusWithLabelsAsDictIndices) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  EXPECT_EQ(c.skipped_short, 2);
  EXPECT_EQ(c.usable, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13}));
  EXPECT_EQ(c.vocab_sizes, (std::vector<int64_t>{50, 20}));
  ASSERT_EQ(c.labels.size(), 2u);
  ASSERT_EQ(c.label_offset.size(), kLengths.size());
  int64_t wrong = 0, offset = 0;
  for (size_t e = 0; e < kLengths.size(); ++e) {
    EXPECT_EQ(c.label_offset[e], offset);
    const int64_t F = model_frames(kLengths[e]);
    EXPECT_EQ(c.frames_for_samples(kLengths[e]), F);
    for (int s = 0; s < 2; ++s)
      for (int64_t t = 0; t < F; ++t)
        wrong += c.labels[s][static_cast<size_t>(offset + t)] != label_index(s, symbol(s, static_cast<int64_t>(e), t));
    offset += F;
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(static_cast<int64_t>(c.labels[0].size()), offset);
}

TEST_F(PretrainData, CropsAreFrameAlignedAndMatchTheirLabels) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  BatchOptions o = small_batches();
  int64_t nonzero_starts = 0;
  for (int64_t step = 0; step < 8; ++step) {
    const Batch b = load_batch(c, o, step);
    EXPECT_EQ(b.step, step);
    EXPECT_EQ(b.first_row, 0);
    EXPECT_EQ(b.global_rows, 4);
    for (int64_t start : check_rows(b, b.entries, o.crop_samples)) nonzero_starts += start > 0;
    EXPECT_DOUBLE_EQ(b.audio_seconds(), 4.0 * b.wave.size(1) / kRate);
  }
  EXPECT_GT(nonzero_starts, 0) << "random crops never moved off the clip start";

  o.random_crop = false;
  for (int64_t step = 0; step < 4; ++step) {
    const Batch b = load_batch(c, o, step);
    for (int64_t start : check_rows(b, b.entries, o.crop_samples)) EXPECT_EQ(start, 0);
  }
}

TEST_F(PretrainData, BatchesArePureFunctionsOfTheStep) {
  const CorpusOptions co = write_corpus(kLengths);
  const Corpus c = Corpus::open(co);
  const BatchOptions o = small_batches();
  const Batch a = load_batch(c, o, 3);
  EXPECT_TRUE(same_batch(a, load_batch(c, o, 3)));
  EXPECT_TRUE(same_batch(a, load_batch(Corpus::open(co), o, 3))) << "a reopened corpus must give the same batch";
  EXPECT_FALSE(same_batch(a, load_batch(c, o, 4)));
  BatchOptions other_seed = o;
  other_seed.seed = 8;
  EXPECT_FALSE(same_batch(a, load_batch(c, other_seed, 3)));
}

TEST_F(PretrainData, RanksSplitTheGlobalBatch) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  const BatchOptions o = small_batches();
  for (int64_t step : {0, 5}) {
    const Batch all = load_batch(c, o, step);
    const Batch r0 = load_batch(c, o, step, 0, 2);
    const Batch r1 = load_batch(c, o, step, 1, 2);
    EXPECT_EQ(r0.first_row, 0);
    EXPECT_EQ(r1.first_row, 2);
    EXPECT_EQ(r1.global_rows, 4);
    EXPECT_EQ(r0.frames, all.frames);
    EXPECT_EQ(r1.frames, all.frames);
    std::vector<int64_t> entries = r0.entries;
    entries.insert(entries.end(), r1.entries.begin(), r1.entries.end());
    EXPECT_EQ(entries, all.entries);
    ASSERT_EQ(r0.wave.size(1), all.wave.size(1));
    ASSERT_EQ(r1.wave.size(1), all.wave.size(1));
    EXPECT_TRUE(at::equal(at::cat({r0.wave, r1.wave}, 0), all.wave));
    EXPECT_TRUE(at::equal(at::cat({r0.labels, r1.labels}, 1), all.labels));
    // S comes from the global batch, so a rank's rows are checked against all its entries.
    check_rows(r1, all.entries, o.crop_samples);
  }
}

TEST_F(PretrainData, EveryUsableClipOncePerEpoch) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  std::vector<int64_t> usable = c.usable;
  BatchOptions o = small_batches();
  o.batch_size = 5;  // 12 usable clips: batches straddle epochs and epoch 1 starts mid-batch
  for (int64_t bucket : {0, 2}) {
    o.bucket_batches = bucket;
    const std::vector<int64_t> epoch0 = positions(c, o, 0, 12), epoch1 = positions(c, o, 12, 24);
    std::vector<int64_t> s0 = epoch0, s1 = epoch1;
    std::sort(s0.begin(), s0.end());
    std::sort(s1.begin(), s1.end());
    EXPECT_EQ(s0, usable) << "bucket_batches " << bucket;
    EXPECT_EQ(s1, usable) << "bucket_batches " << bucket;
    EXPECT_NE(epoch0, epoch1) << "each epoch has its own order";
    EXPECT_NE(epoch0, usable) << "shuffled";
  }
  o.shuffle = false;
  EXPECT_EQ(positions(c, o, 0, 12), usable);
  EXPECT_EQ(positions(c, o, 12, 24), usable);
}

TEST_F(PretrainData, BucketingGroupsSimilarLengths) {
  std::vector<int64_t> lengths;
  uint64_t x = 12345;
  for (int i = 0; i < 61; ++i) {  // 61 clips: batches of 4 do not line up with epoch 1's start
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    lengths.push_back(3300 + static_cast<int64_t>((x >> 33) % 12700));
  }
  const Corpus c = Corpus::open(write_corpus(lengths));
  BatchOptions o = small_batches();
  o.bucket_batches = 4;
  // Mean (longest - shortest) over the batches of steps [first, last).
  auto mean_spread = [&](const BatchOptions& opts, int64_t first, int64_t last) {
    double sum = 0;
    for (int64_t step = first; step < last; ++step) {
      const Batch b = load_batch(c, opts, step);
      int64_t lo = INT64_MAX, hi = 0;
      for (int64_t e : b.entries) {
        lo = std::min(lo, lengths[static_cast<size_t>(e)]);
        hi = std::max(hi, lengths[static_cast<size_t>(e)]);
      }
      sum += static_cast<double>(hi - lo);
    }
    return sum / static_cast<double>(last - first);
  };
  BatchOptions plain = o;
  plain.bucket_batches = 0;
  // Epoch 0 holds steps 0-14, epoch 1 the whole steps 16-29.
  const double bucketed0 = mean_spread(o, 0, 15), plain0 = mean_spread(plain, 0, 15);
  const double bucketed1 = mean_spread(o, 16, 30), plain1 = mean_spread(plain, 16, 30);
  EXPECT_LT(bucketed0, 0.5 * plain0);
  EXPECT_LT(bucketed1, 0.5 * plain1);
}

TEST_F(PretrainData, CqtTargetIsTheCqtOfTheCrop) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  BatchOptions o = small_batches();
  o.cqt_target = true;
  const Batch b = load_batch(c, o, 1);
  const int64_t T = b.frames, S = b.wave.size(1);
  ASSERT_EQ(b.cqt.sizes(), (std::vector<int64_t>{4, T, o.cqt.n_bins}));
  Cqt cqt(o.cqt);
  for (int64_t r = 0; r < 4; ++r) {
    const at::Tensor row = b.wave[r].contiguous();
    const FeatureMatrix want = cqt.compute(row.data_ptr<float>(), S);
    ASSERT_GE(want.rows, T);
    const at::Tensor got = b.cqt[r].contiguous();
    const float* g = got.data_ptr<float>();
    int64_t wrong = 0;
    for (int64_t i = 0; i < T * want.cols; ++i) wrong += g[i] != want.data[static_cast<size_t>(i)];
    EXPECT_EQ(wrong, 0) << "row " << r;
  }
  o.cqt.hop = 160;
  EXPECT_NE(error_of([&] { load_batch(c, o, 0); }).find("CQT"), std::string::npos);
}

TEST_F(PretrainData, CqtLogGainCompressesTheTarget) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  BatchOptions o = small_batches();
  o.cqt_target = true;
  const Batch linear = load_batch(c, o, 1);
  o.cqt_log_gain = 100;
  const Batch compressed = load_batch(c, o, 1);
  EXPECT_TRUE(compressed.wave.equal(linear.wave));
  const at::Tensor want = at::log1p(100 * linear.cqt);
  EXPECT_TRUE(at::allclose(compressed.cqt, want, 1e-5, 1e-6));
  EXPECT_GT(compressed.cqt.max().item<float>(), 2 * linear.cqt.max().item<float>());
}

TEST_F(PretrainData, PrefetcherYieldsTheBatchesOfLoadBatch) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  const BatchOptions o = small_batches();
  {
    BatchPrefetcher prefetch(c, o, 5, 1, 2, 2);
    for (int64_t step = 5; step < 11; ++step) EXPECT_TRUE(same_batch(prefetch.next(), load_batch(c, o, step, 1, 2)));
  }
  { BatchPrefetcher never_read(c, o, 0); }  // stops before or while loading
  {
    BatchPrefetcher full(c, o, 0, 0, 1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it fill its queue and wait
  }
  EXPECT_THROW(BatchPrefetcher(c, o, 0, 0, 3), Error);
}

TEST_F(PretrainData, PrefetcherRethrowsAfterTheBatchesBeforeTheError) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  BatchOptions o = small_batches();
  o.shuffle = false;  // steps 0, 1, 2 are usable clips 0-3, 4-7, 8-11
  const Batch first = load_batch(c, o, 0), second = load_batch(c, o, 1);
  const int64_t victim = load_batch(c, o, 2).entries[0];
  fs::remove(audio_path(victim));
  BatchPrefetcher prefetch(c, o, 0);
  EXPECT_TRUE(same_batch(prefetch.next(), first));
  EXPECT_TRUE(same_batch(prefetch.next(), second));
  const std::string msg = error_of([&] { prefetch.next(); });
  EXPECT_NE(msg.find(audio_path(victim).string()), std::string::npos) << msg;
}

TEST_F(PretrainData, MissingLabelFileOrDict) {
  const CorpusOptions o = write_corpus(kLengths);
  fs::remove(label_path(1));
  std::string msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find(label_path(1).string()), std::string::npos) << msg;
  fs::remove(dir_ / "labels" / "dict.km0.txt");
  msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find("dict.km0.txt"), std::string::npos) << msg;
}

TEST_F(PretrainData, LabelLineCountMustMatchTheManifest) {
  const CorpusOptions o = write_corpus(kLengths);
  auto lines = read_lines(label_path(0));
  lines.pop_back();
  write_lines(label_path(0), lines);
  const std::string msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find(label_path(0).string() + ": 13 lines"), std::string::npos) << msg;
  EXPECT_NE(msg.find("14 entries"), std::string::npos) << msg;
}

TEST_F(PretrainData, LabelCountMustMatchTheClipFrames) {
  const CorpusOptions o = write_corpus(kLengths);
  auto lines = read_lines(label_path(0));
  lines[2] = lines[2].substr(0, lines[2].rfind(' '));  // entry 2 loses its last label
  write_lines(label_path(0), lines);
  const std::string msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find(label_path(0).string() + ":3: " + std::to_string(model_frames(kLengths[2]) - 1) + " labels"),
            std::string::npos)
      << msg;
}

TEST_F(PretrainData, LabelsMustBeInTheDict) {
  const CorpusOptions o = write_corpus(kLengths);
  auto lines = read_lines(label_path(1));
  lines[4] = "999" + lines[4].substr(lines[4].find(' '));
  write_lines(label_path(1), lines);
  const std::string msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find(label_path(1).string() + ":5: label '999'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dict.km1.txt"), std::string::npos) << msg;
}

TEST_F(PretrainData, MissingAudioIsCountedAndNamed) {
  const CorpusOptions o = write_corpus(kLengths);
  fs::remove(audio_path(0));  // too short to train on: not needed
  EXPECT_NO_THROW(Corpus::open(o));
  for (int64_t clip : {1, 2, 3, 4}) fs::remove(audio_path(clip));
  const std::string msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find("4 of 12 audio files do not exist"), std::string::npos) << msg;
  for (int64_t clip : {1, 2, 3}) EXPECT_NE(msg.find(audio_path(clip).string()), std::string::npos) << msg;
  EXPECT_EQ(msg.find(audio_path(4).string()), std::string::npos) << msg;
}

TEST_F(PretrainData, AllClipsTooShort) {
  CorpusOptions o = write_corpus(kLengths);
  o.min_samples = 20000;
  const std::string msg = error_of([&] { Corpus::open(o); });
  EXPECT_NE(msg.find("20000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("longest has 16000"), std::string::npos) << msg;
}

TEST_F(PretrainData, WrongSampleRateIsRefusedAtLoad) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  write_clip(1, kLengths[1], 16000);
  BatchOptions o = small_batches();
  o.shuffle = false;  // step 0 holds clips 1, 2, 3, 4
  const std::string msg = error_of([&] { load_batch(c, o, 0); });
  EXPECT_NE(msg.find(audio_path(1).string() + ": 16000 Hz, but the model trains at 24000 Hz"), std::string::npos) << msg;
}

TEST_F(PretrainData, DecodedLengthMustMatchTheManifest) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  write_clip(2, kLengths[2] + 100);
  BatchOptions o = small_batches();
  o.shuffle = false;
  const std::string msg = error_of([&] { load_batch(c, o, 0); });
  EXPECT_NE(msg.find(audio_path(2).string() + ": the manifest says 4000 samples but the file has 4100"),
            std::string::npos)
      << msg;
}

TEST_F(PretrainData, BatchOptionsAreChecked) {
  const Corpus c = Corpus::open(write_corpus(kLengths));
  BatchOptions o = small_batches();
  EXPECT_NE(error_of([&] { load_batch(c, o, 0, 0, 3); }).find("not divisible by the world size 3"), std::string::npos);
  o.hop = 160;
  EXPECT_NE(error_of([&] { load_batch(c, o, 0); }).find("total stride 320"), std::string::npos);
}

}  // namespace
