// Pre-training data: corpus checks, epoch orders, label-aligned crops and the background loader.
// Audio is read with decode_audio (the whole file, so truncation and NaN checks apply), then cropped.
#include "train/pretrain_data.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>

#include "mert/audio.h"
#include "mert/config.h"
#include "mert/error.h"
#include "train/train_rng.h"

namespace fs = std::filesystem;

namespace mert::train {

namespace {

std::string at_line(const std::string& file, int64_t line) { return file + ":" + std::to_string(line); }

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The whitespace-separated tokens of a line, as views into it.
void split_tokens(const std::string& line, std::vector<std::string_view>& out) {
  out.clear();
  const size_t n = line.size();
  for (size_t i = 0; i < n;) {
    while (i < n && is_blank(line[i])) ++i;
    size_t j = i;
    while (j < n && !is_blank(line[j])) ++j;
    if (j > i) out.emplace_back(line.data() + i, j - i);
    i = j;
  }
}

void check_corpus_options(const CorpusOptions& o) {
  if (o.label_names.empty()) throw Error("no label streams given (label_names is empty)");
  for (const auto& name : o.label_names)
    if (name.empty() || name.find('/') != std::string::npos)
      throw Error("label name '" + name + "' must be a plain word such as km0");
  if (o.sample_rate <= 0) throw Error("sample_rate must be positive (got " + std::to_string(o.sample_rate) + ")");
  if (o.conv_kernel.empty() || o.conv_kernel.size() != o.conv_stride.size())
    throw Error("the conv stack needs as many strides as kernels and at least one layer (got " +
                std::to_string(o.conv_kernel.size()) + " kernels, " + std::to_string(o.conv_stride.size()) + " strides)");
  for (size_t i = 0; i < o.conv_kernel.size(); ++i)
    if (o.conv_kernel[i] < 1 || o.conv_stride[i] < 1)
      throw Error("conv layer " + std::to_string(i) + ": kernel and stride must be >= 1");
}

// dict.<name>.txt: "<symbol> <count>" per line; a symbol's label is its 0-based line number.
std::unordered_map<std::string, int32_t> read_dictionary(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": label dictionary not found");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the label dictionary");
  std::unordered_map<std::string, int32_t> index;
  std::string line;
  std::vector<std::string_view> tok;
  for (int64_t ln = 1; std::getline(in, line); ++ln) {
    split_tokens(line, tok);
    if (tok.size() != 2 || tok[1].find_first_not_of("0123456789") != std::string_view::npos)
      throw Error(at_line(path, ln) + ": expected '<symbol> <count>', got '" + line + "'");
    if (!index.emplace(std::string(tok[0]), static_cast<int32_t>(ln - 1)).second)
      throw Error(at_line(path, ln) + ": symbol '" + std::string(tok[0]) + "' is listed twice");
  }
  if (index.empty()) throw Error(path + ": the label dictionary is empty");
  return index;
}

// One label stream: one line per manifest entry, one symbol per model frame, mapped to dict indices.
void read_label_stream(const std::string& path, const std::string& dict_path,
                       const std::unordered_map<std::string, int32_t>& dict, const Manifest& m,
                       const std::vector<int64_t>& frames, const std::vector<int64_t>& offset, std::vector<int32_t>& out) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": label file not found");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the label file");
  const int64_t entries = static_cast<int64_t>(m.entries.size());
  std::string line, key;
  std::vector<std::string_view> tok;
  int64_t lines = 0;
  while (std::getline(in, line)) {
    const int64_t i = lines++;
    if (i >= entries) continue;  // counted for the message below
    split_tokens(line, tok);
    if (static_cast<int64_t>(tok.size()) != frames[i])
      throw Error(at_line(path, i + 1) + ": " + std::to_string(tok.size()) + " labels, but " + m.entries[i].rel + " (" +
                  std::to_string(m.entries[i].n_samples) + " samples) has " + std::to_string(frames[i]) +
                  " model frames; were the labels made for another manifest or conv stack?");
    int32_t* dst = out.data() + offset[i];
    for (size_t t = 0; t < tok.size(); ++t) {
      key.assign(tok[t]);
      const auto it = dict.find(key);
      if (it == dict.end())
        throw Error(at_line(path, i + 1) + ": label '" + key + "' (frame " + std::to_string(t) + ") is not in " + dict_path);
      dst[t] = it->second;
    }
  }
  if (in.bad()) throw Error(path + ": read error");
  if (lines != entries)
    throw Error(path + ": " + std::to_string(lines) + " lines, but " + m.path + " has " + std::to_string(entries) +
                " entries (one label line per entry expected)");
}

uint64_t mix64(uint64_t h, uint64_t v) {
  uint64_t x = h ^ (v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2));
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// What an epoch order depends on besides the options: the usable clips and their lengths. Hashing
// the content (rather than keying on the Corpus's address) keeps the cache right when a corpus is
// reopened at the same address with other contents.
uint64_t order_fingerprint(const Corpus& c) {
  uint64_t h = mix64(0, c.usable.size());
  for (int64_t e : c.usable) h = mix64(mix64(h, static_cast<uint64_t>(e)), static_cast<uint64_t>(c.manifest.entries[e].n_samples));
  return h;
}

template <class T>
void fisher_yates(std::vector<T>& v, KeyedRng& rng) {
  for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[rng.below(i + 1)]);
}

// Groups clips of similar length into batches: windows of bucket_batches * B positions are sorted by
// length, cut into batches and the batches shuffled within the window. Windows start on the real batch
// grid (epoch e starts at global position e*U, which need not be a multiple of B), so each cut batch
// is a real batch; the positions before the first boundary and a trailing partial batch straddle
// epochs and stay as shuffled.
void bucket_by_length(std::vector<int64_t>& order, const Corpus& c, int64_t B, int64_t bucket_batches, int64_t epoch,
                      KeyedRng& rng) {
  const int64_t U = static_cast<int64_t>(order.size());
  const int64_t lead = (B - (epoch % B) * (U % B) % B) % B;
  const int64_t W = bucket_batches * B;
  auto length = [&](int64_t e) { return c.manifest.entries[e].n_samples; };
  std::vector<int64_t> sorted;
  for (int64_t w0 = std::min(lead, U); w0 < U; w0 += W) {
    const int64_t w1 = std::min(w0 + W, U);
    const int64_t full = (w1 - w0) / B;
    std::stable_sort(order.begin() + w0, order.begin() + w1, [&](int64_t a, int64_t b) { return length(a) < length(b); });
    std::vector<int64_t> batch_order(static_cast<size_t>(full));
    std::iota(batch_order.begin(), batch_order.end(), 0);
    fisher_yates(batch_order, rng);
    sorted.assign(order.begin() + w0, order.begin() + w0 + full * B);
    for (int64_t q = 0; q < full; ++q)
      std::copy_n(sorted.begin() + batch_order[q] * B, B, order.begin() + w0 + q * B);
  }
}

std::vector<int64_t> make_epoch_order(const Corpus& c, const BatchOptions& o, int64_t epoch) {
  std::vector<int64_t> order = c.usable;
  if (!o.shuffle) return order;
  KeyedRng rng(o.seed, RngPurpose::EpochOrder, static_cast<uint64_t>(epoch), 0);
  fisher_yates(order, rng);
  if (o.bucket_batches > 0) bucket_by_length(order, c, o.batch_size, o.bucket_batches, epoch, rng);
  return order;
}

struct OrderKey {
  uint64_t fingerprint;
  uint64_t seed;
  int64_t batch_size;
  int64_t bucket_batches;
  bool shuffle;
  int64_t epoch;
  bool operator==(const OrderKey& o) const {
    return fingerprint == o.fingerprint && seed == o.seed && batch_size == o.batch_size &&
           bucket_batches == o.bucket_batches && shuffle == o.shuffle && epoch == o.epoch;
  }
};

// The most recent epoch orders, shared by every loader thread: consecutive steps (and a batch that
// straddles two epochs) reuse them instead of reshuffling the corpus.
class EpochOrderCache {
 public:
  std::shared_ptr<const std::vector<int64_t>> get(const Corpus& c, const BatchOptions& o, uint64_t fingerprint,
                                                  int64_t epoch) {
    const OrderKey key{fingerprint, o.seed, o.batch_size, o.bucket_batches, o.shuffle, epoch};
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = recent_.begin(); it != recent_.end(); ++it)
      if (it->first == key) {
        auto order = it->second;
        recent_.erase(it);
        recent_.emplace_front(key, order);
        return order;
      }
    auto order = std::make_shared<const std::vector<int64_t>>(make_epoch_order(c, o, epoch));
    recent_.emplace_front(key, order);
    // A few: a batch may straddle two epochs, and training and validation loaders may interleave.
    if (recent_.size() > 4) recent_.pop_back();
    return order;
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<OrderKey, std::shared_ptr<const std::vector<int64_t>>>> recent_;  // most recent first
};

EpochOrderCache& epoch_orders() {
  static EpochOrderCache cache;
  return cache;
}

// Manifest entries of the B global rows of `step`.
std::vector<int64_t> global_batch_entries(const Corpus& c, const BatchOptions& o, int64_t step) {
  const int64_t U = static_cast<int64_t>(c.usable.size());
  const uint64_t fingerprint = order_fingerprint(c);
  std::vector<int64_t> entries(static_cast<size_t>(o.batch_size));
  std::shared_ptr<const std::vector<int64_t>> order;
  int64_t order_epoch = -1;
  for (int64_t j = 0; j < o.batch_size; ++j) {
    const int64_t p = step * o.batch_size + j;
    if (p / U != order_epoch) {
      order_epoch = p / U;
      order = epoch_orders().get(c, o, fingerprint, order_epoch);
    }
    entries[static_cast<size_t>(j)] = (*order)[static_cast<size_t>(p % U)];
  }
  return entries;
}

void check_batch_options(const Corpus& c, const BatchOptions& o, int rank, int world) {
  if (o.batch_size < 1) throw Error("batch_size must be >= 1 (got " + std::to_string(o.batch_size) + ")");
  if (world < 1 || rank < 0 || rank >= world)
    throw Error("rank " + std::to_string(rank) + " is not in [0, world size " + std::to_string(world) + ")");
  if (o.batch_size % world != 0)
    throw Error("batch_size " + std::to_string(o.batch_size) + " is not divisible by the world size " +
                std::to_string(world) + "; every rank needs the same number of clips");
  if (o.bucket_batches < 0) throw Error("bucket_batches must be >= 0 (got " + std::to_string(o.bucket_batches) + ")");
  const auto& co = c.options;
  const int64_t total_stride =
      std::accumulate(co.conv_stride.begin(), co.conv_stride.end(), int64_t{1}, std::multiplies<int64_t>());
  if (o.hop != total_stride)
    throw Error("hop " + std::to_string(o.hop) + " must equal the conv stack's total stride " +
                std::to_string(total_stride) + " so that crops start on model frame boundaries");
  if (c.frames_for_samples(o.crop_samples) < 1)
    throw Error("crop_samples " + std::to_string(o.crop_samples) + " is shorter than the model's receptive field");
  if (o.cqt_target) {
    if (o.cqt.sample_rate != static_cast<double>(co.sample_rate) || o.cqt.hop != o.hop)
      throw Error("the CQT target must be on the model's frame grid: CQT sample_rate " + std::to_string(o.cqt.sample_rate) +
                  " and hop " + std::to_string(o.cqt.hop) + ", model " + std::to_string(co.sample_rate) + " Hz and hop " +
                  std::to_string(o.hop));
    o.cqt.validate();
  }
}

bool same_cqt_config(const CqtConfig& a, const CqtConfig& b) {
  return a.sample_rate == b.sample_rate && a.hop == b.hop && a.fmin == b.fmin && a.n_bins == b.n_bins &&
         a.bins_per_octave == b.bins_per_octave && a.filter_scale == b.filter_scale && a.center == b.center &&
         a.librosa_scaling == b.librosa_scaling;
}

// One Cqt per thread: it owns FFT buffers (not thread-safe) and is costly to build.
Cqt& thread_cqt(const CqtConfig& cfg) {
  thread_local std::unique_ptr<Cqt> cqt;
  if (!cqt || !same_cqt_config(cqt->config(), cfg)) cqt = std::make_unique<Cqt>(cfg);
  return *cqt;
}

}  // namespace

int64_t Corpus::frames_for_samples(int64_t n) const {
  return conv_output_length(options.conv_kernel, options.conv_stride, n);
}

Corpus Corpus::open(const CorpusOptions& opts) {
  check_corpus_options(opts);
  Corpus c;
  c.options = opts;
  c.manifest = read_manifest(opts.manifest);
  const Manifest& m = c.manifest;
  const size_t n = m.entries.size();

  std::vector<int64_t> frames(n);
  c.label_offset.resize(n);
  int64_t total_frames = 0;
  for (size_t i = 0; i < n; ++i) {
    frames[i] = c.frames_for_samples(m.entries[i].n_samples);
    c.label_offset[i] = total_frames;
    total_frames += frames[i];
  }

  const std::string split = m.split();
  for (const auto& name : opts.label_names) {
    const std::string dict_path = (fs::path(opts.label_dir) / ("dict." + name + ".txt")).string();
    const auto dict = read_dictionary(dict_path);
    c.vocab_sizes.push_back(static_cast<int64_t>(dict.size()));
    c.labels.emplace_back(static_cast<size_t>(total_frames));
    read_label_stream((fs::path(opts.label_dir) / (split + "." + name)).string(), dict_path, dict, m, frames,
                      c.label_offset, c.labels.back());
  }

  int64_t longest = 0;
  for (size_t i = 0; i < n; ++i) {
    longest = std::max(longest, m.entries[i].n_samples);
    if (m.entries[i].n_samples >= opts.min_samples && frames[i] >= 1)
      c.usable.push_back(static_cast<int64_t>(i));
    else
      ++c.skipped_short;
  }
  if (c.usable.empty())
    throw Error(m.path + ": none of the " + std::to_string(n) + " clips has the " + std::to_string(opts.min_samples) +
                " samples training needs (min_samples; the longest has " + std::to_string(longest) + ")");

  // Only clips training reads must exist; a missing file found mid-run would stop it hours in.
  std::vector<std::string> missing;
  int64_t missing_count = 0;
  for (int64_t i : c.usable) {
    const std::string path = m.audio_path(static_cast<size_t>(i));
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (missing.size() < 3) missing.push_back(path);
      ++missing_count;
    }
  }
  if (missing_count > 0) {
    std::string names;
    for (const auto& p : missing) names += (names.empty() ? "" : ", ") + p;
    throw Error(m.path + ": " + std::to_string(missing_count) + " of " + std::to_string(c.usable.size()) +
                " audio files do not exist (" + names + (missing_count > 3 ? ", ..." : "") + ")");
  }
  return c;
}

double Batch::audio_seconds() const {
  if (!wave.defined()) return 0.0;
  return static_cast<double>(wave.size(0) * wave.size(1)) / sample_rate;
}

Batch load_batch(const Corpus& corpus, const BatchOptions& opts, int64_t step, int rank, int world) {
  check_batch_options(corpus, opts, rank, world);
  if (step < 0) throw Error("step must be >= 0 (got " + std::to_string(step) + ")");
  const std::vector<int64_t> global = global_batch_entries(corpus, opts, step);
  const Manifest& m = corpus.manifest;

  // Every rank derives S from the global batch, so all ranks agree on T.
  int64_t S = opts.crop_samples;
  for (int64_t e : global) S = std::min(S, m.entries[e].n_samples);
  const int64_t T = corpus.frames_for_samples(S);
  const int64_t K = static_cast<int64_t>(corpus.labels.size());
  const int64_t rows = opts.batch_size / world;
  const int64_t first = rank * rows;
  const int64_t rate = corpus.options.sample_rate;

  Batch b;
  b.step = step;
  b.first_row = first;
  b.global_rows = opts.batch_size;
  b.frames = T;
  b.sample_rate = static_cast<double>(rate);
  b.entries.assign(global.begin() + first, global.begin() + first + rows);
  // Filled by hand (no parallel torch ops): the loader thread must not compete with training for
  // torch's intra-op threads.
  b.wave = at::empty({rows, S}, at::kFloat);
  b.labels = at::empty({K, rows, T}, at::kLong);
  if (opts.cqt_target) b.cqt = at::empty({rows, T, opts.cqt.n_bins}, at::kFloat);
  float* wave = b.wave.data_ptr<float>();
  int64_t* labels = b.labels.data_ptr<int64_t>();

  for (int64_t r = 0; r < rows; ++r) {
    const int64_t j = first + r;
    const int64_t e = global[static_cast<size_t>(j)];
    const int64_t n = m.entries[e].n_samples;
    const int64_t k_max = (n - S) / opts.hop;
    const int64_t k = opts.random_crop ? KeyedRng(opts.seed, RngPurpose::Crop, static_cast<uint64_t>(step),
                                                  static_cast<uint64_t>(j)).between(0, k_max)
                                       : 0;
    const int64_t clip_frames = corpus.frames_for_samples(n);
    if (k + T > clip_frames)
      throw Error("internal error: crop at frame " + std::to_string(k) + " of " + std::to_string(T) +
                  " frames overruns the " + std::to_string(clip_frames) + " labels of " + m.entries[e].rel);

    const std::string path = m.audio_path(static_cast<size_t>(e));
    const Audio audio = decode_audio(path);
    if (audio.sample_rate != rate)
      throw Error(path + ": " + std::to_string(audio.sample_rate) + " Hz, but the model trains at " + std::to_string(rate) +
                  " Hz; resample the corpus first");
    if (static_cast<int64_t>(audio.samples.size()) != n)
      throw Error(path + ": the manifest says " + std::to_string(n) + " samples but the file has " +
                  std::to_string(audio.samples.size()) + "; regenerate the manifest and the labels");

    const float* crop = audio.samples.data() + k * opts.hop;
    std::memcpy(wave + r * S, crop, static_cast<size_t>(S) * sizeof(float));
    for (int64_t s = 0; s < K; ++s) {
      const int32_t* src = corpus.labels[s].data() + corpus.label_offset[e] + k;
      std::copy_n(src, T, labels + (s * rows + r) * T);
    }
    if (opts.cqt_target) {
      const FeatureMatrix spec = thread_cqt(opts.cqt).compute(crop, S);
      if (spec.rows < T || spec.cols != opts.cqt.n_bins)
        throw Error("internal error: the CQT of " + std::to_string(S) + " samples has " + std::to_string(spec.rows) +
                    " frames, fewer than the model's " + std::to_string(T));
      float* dst = b.cqt.data_ptr<float>() + r * T * spec.cols;
      const size_t n = static_cast<size_t>(T * spec.cols);
      if (opts.cqt_log_gain > 0) {
        const float g = static_cast<float>(opts.cqt_log_gain);
        for (size_t i = 0; i < n; ++i) dst[i] = std::log1p(g * spec.data[i]);
      } else {
        std::memcpy(dst, spec.data.data(), n * sizeof(float));
      }
    }
  }
  return b;
}

struct BatchPrefetcher::Impl {
  const Corpus& corpus;
  const BatchOptions opts;
  const int rank, world;
  const size_t depth;

  std::mutex mutex;
  std::condition_variable has_room, has_batch;
  std::deque<Batch> ready;
  std::exception_ptr error;
  bool stopping = false;
  std::thread thread;

  Impl(const Corpus& c, BatchOptions o, int r, int w, int d)
      : corpus(c), opts(std::move(o)), rank(r), world(w), depth(static_cast<size_t>(d)) {}

  void run(int64_t step) {
    for (;; ++step) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        has_room.wait(lock, [&] { return stopping || ready.size() < depth; });
        if (stopping) return;
      }
      try {
        Batch b = load_batch(corpus, opts, step, rank, world);
        std::lock_guard<std::mutex> lock(mutex);
        ready.push_back(std::move(b));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        error = std::current_exception();
        has_batch.notify_one();
        return;
      }
      has_batch.notify_one();
    }
  }
};

BatchPrefetcher::BatchPrefetcher(const Corpus& corpus, BatchOptions opts, int64_t first_step, int rank, int world,
                                 int depth) {
  if (depth < 1) throw Error("prefetch depth must be >= 1 (got " + std::to_string(depth) + ")");
  if (first_step < 0) throw Error("first_step must be >= 0 (got " + std::to_string(first_step) + ")");
  check_batch_options(corpus, opts, rank, world);  // fail here rather than at the first next()
  impl_ = std::make_unique<Impl>(corpus, std::move(opts), rank, world, depth);
  Impl* impl = impl_.get();
  impl_->thread = std::thread([impl, first_step] { impl->run(first_step); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->has_room.notify_one();
  impl_->thread.join();
}

Batch BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->has_batch.wait(lock, [&] { return !impl_->ready.empty() || impl_->error; });
  // Batches loaded before a failure are still delivered, in order.
  if (impl_->ready.empty()) std::rethrow_exception(impl_->error);
  Batch b = std::move(impl_->ready.front());
  impl_->ready.pop_front();
  lock.unlock();
  impl_->has_room.notify_one();
  return b;
}

}  // namespace mert::train
