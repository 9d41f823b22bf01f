#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>
#include <sstream>

#include "mert/audio.h"
#include "embed/embed.h"
#include "mert/error.h"

namespace mert {

Pool parse_pool(const std::string& s) {
  if (s == "none") return Pool::None;
  if (s == "mean") return Pool::Mean;
  if (s == "chunks") return Pool::Chunks;
  throw Error("pool must be 'none', 'mean' or 'chunks', got '" + s + "'");
}

const char* pool_name(Pool p) {
  switch (p) {
    case Pool::None: return "none";
    case Pool::Mean: return "mean";
    case Pool::Chunks: return "chunks";
  }
  return "?";
}

std::vector<int64_t> parse_layers(const std::string& s, int64_t num_hidden_layers) {
  std::vector<int64_t> out;
  if (s == "all" || s.empty()) {
    for (int64_t i = 0; i <= num_hidden_layers; ++i) out.push_back(i);
    return out;
  }
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t pos = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != item.size() || item.empty())
      throw Error("layers: '" + item + "' is not a layer index (use 'all' or e.g. 0,6,12)");
    if (v < 0 || v > num_hidden_layers)
      throw Error("layers: " + item + " is out of range; this model has hidden states 0.." +
                  std::to_string(num_hidden_layers));
    out.push_back(v);
  }
  return out;
}

void EmbedOptions::validate(const ModelConfig& cfg) const {
  if (!(chunk_sec >= 0) || !std::isfinite(chunk_sec)) throw Error("chunk_sec must be >= 0");
  if (chunk_sec > 0 && chunk_sec * static_cast<double>(cfg.sample_rate) < static_cast<double>(cfg.receptive_field()))
    throw Error("chunk_sec " + std::to_string(chunk_sec) + " is shorter than the model's receptive field (" +
                std::to_string(cfg.receptive_field()) + " samples)");
  for (auto l : layers)
    if (l < 0 || l > cfg.num_hidden_layers) throw Error("layers: " + std::to_string(l) + " is out of range; this model has hidden states 0.." +
                                                              std::to_string(cfg.num_hidden_layers));
  if (!(hop_sec >= 0) || !std::isfinite(hop_sec)) throw Error("hop_sec must be >= 0");
  if (hop_sec > 0 && chunk_sec == 0) throw Error("hop_sec needs chunk_sec > 0");
  if (hop_sec > 0 && hop_sec * static_cast<double>(cfg.sample_rate) < 1.0) throw Error("hop_sec is shorter than one sample");
  if (!(min_last_chunk_sec >= 0) || !std::isfinite(min_last_chunk_sec)) throw Error("min_last_chunk_sec must be >= 0");
  if (batch < 1 || batch > 4096) throw Error("batch must be in [1, 4096]");
}

std::string EmbedOptions::to_string() const {
  std::ostringstream os;
  os << "layers=";
  if (layers.empty()) os << "all";
  for (size_t i = 0; i < layers.size(); ++i) os << (i ? "," : "") << layers[i];
  os << " pool=" << pool_name(pool) << " chunk-sec=" << chunk_sec
     << " hop-sec=" << (hop_sec > 0 ? hop_sec : chunk_sec) << " batch=" << batch
     << " normalize=" << (normalize_per_chunk ? "per-chunk" : "per-file");
  return os.str();
}

std::vector<int64_t> selected_layers(const EmbedOptions& opts, const ModelConfig& cfg) {
  std::vector<int64_t> layers = opts.layers;
  if (layers.empty())
    for (int64_t i = 0; i <= cfg.num_hidden_layers; ++i) layers.push_back(i);
  return layers;
}

ChunkPlan plan_chunks(int64_t n, const EmbedOptions& opts, const ModelConfig& cfg) {
  ChunkPlan p;
  const int64_t chunk = opts.chunk_sec > 0 ? static_cast<int64_t>(std::llround(opts.chunk_sec * cfg.sample_rate)) : n;
  const int64_t hop = opts.chunk_sec > 0 && opts.hop_sec > 0
                          ? static_cast<int64_t>(std::llround(opts.hop_sec * cfg.sample_rate)) : chunk;
  for (int64_t start = 0; start < n; start += hop) {
    const int64_t len = std::min(chunk, n - start);
    const int64_t frames = cfg.frames_for_samples(len);
    const bool too_short_tail = start > 0 && len < chunk &&
                                static_cast<double>(len) < opts.min_last_chunk_sec * static_cast<double>(cfg.sample_rate);
    if (frames >= 1 && !too_short_tail) {
      p.start.push_back(start);
      p.length.push_back(len);
      p.frames.push_back(frames);
      p.frame_offset.push_back(p.total_frames);
      p.total_frames += frames;
    }
    if (start + len >= n) break;  // this chunk reached the end
  }
  if (p.total_frames == 0)
    throw Error("audio is " + std::to_string(n) + " samples long, shorter than the model's receptive field (" +
                std::to_string(cfg.receptive_field()) + " samples = " +
                std::to_string(1000.0 * cfg.receptive_field() / cfg.sample_rate) + " ms)");
  return p;
}

namespace {
// (file, chunk) in file order, then chunk order, cut into batches of opts.batch.
std::vector<std::vector<std::pair<size_t, size_t>>> batches_of(const std::vector<const ChunkPlan*>& plans,
                                                               const EmbedOptions& opts) {
  std::vector<std::vector<std::pair<size_t, size_t>>> batches;
  const size_t batch = static_cast<size_t>(std::max(1, opts.batch));
  for (size_t f = 0; f < plans.size(); ++f)
    for (size_t c = 0; c < plans[f]->size(); ++c) {
      if (batches.empty() || batches.back().size() == batch) batches.emplace_back();
      batches.back().emplace_back(f, c);
    }
  return batches;
}
}  // namespace

std::vector<std::pair<int64_t, int64_t>> batch_shapes(const std::vector<const ChunkPlan*>& plans,
                                                      const EmbedOptions& opts) {
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (const auto& jobs : batches_of(plans, opts)) {
    int64_t max_len = 0;
    for (const auto& [f, c] : jobs) max_len = std::max(max_len, plans[f]->length[c]);
    shapes.emplace_back(static_cast<int64_t>(jobs.size()), max_len);
  }
  return shapes;
}

void run_chunks_multi(MertModelImpl& model, const PreprocessorConfig& pre,
                      const std::vector<const std::vector<float>*>& waves, const std::vector<const ChunkPlan*>& plans,
                      const EmbedOptions& opts,
                      const std::function<void(size_t, size_t, const at::Tensor&)>& sink) {
  torch::NoGradGuard no_grad;
  const auto layers = selected_layers(opts, model.config());
  const auto device = model.masked_spec_embed.device();
  for (const auto& jobs : batches_of(plans, opts)) {
    const size_t count = jobs.size();
    int64_t max_len = 0;
    for (const auto& [f, c] : jobs) max_len = std::max(max_len, plans[f]->length[c]);
    auto input = torch::zeros({static_cast<int64_t>(count), max_len});
    std::vector<int64_t> lengths;
    for (size_t j = 0; j < count; ++j) {
      const auto& [f, c] = jobs[j];
      const int64_t len = plans[f]->length[c];
      auto row = input[static_cast<int64_t>(j)].narrow(0, 0, len);
      row.copy_(torch::from_blob(const_cast<float*>(waves[f]->data()) + plans[f]->start[c], {len}, torch::kFloat));
      if (pre.do_normalize && opts.normalize_per_chunk) normalize_waveform(row.data_ptr<float>(), len);
      lengths.push_back(len);
    }
    auto out = model.forward(input.to(device), count > 1 ? torch::tensor(lengths) : at::Tensor(), layers);
    for (size_t j = 0; j < count; ++j) {
      const auto& [f, c] = jobs[j];
      std::vector<at::Tensor> picked;
      for (auto l : layers)
        picked.push_back(out.hidden_states[l][static_cast<int64_t>(j)].narrow(0, 0, plans[f]->frames[c]));
      sink(f, c, torch::stack(picked).to(torch::kCPU, torch::kFloat));
    }
  }
}

void run_chunks(MertModelImpl& model, const PreprocessorConfig& pre, const std::vector<float>& wave,
                const ChunkPlan& plan, const EmbedOptions& opts,
                const std::function<void(size_t, const at::Tensor&)>& sink) {
  run_chunks_multi(model, pre, {&wave}, {&plan}, opts,
                   [&](size_t, size_t c, const at::Tensor& frames) { sink(c, frames); });
}

at::Tensor embed_waveform(MertModelImpl& model, const PreprocessorConfig& pre, std::vector<float> wave,
                          const EmbedOptions& opts) {
  const ModelConfig& cfg = model.config();
  opts.validate(cfg);
  const ChunkPlan plan = plan_chunks(static_cast<int64_t>(wave.size()), opts, cfg);
  if (pre.do_normalize && !opts.normalize_per_chunk) normalize_waveform(wave);
  std::vector<at::Tensor> frames(plan.size());
  at::Tensor sum;  // float64 accumulation for the mean
  run_chunks(model, pre, wave, plan, opts, [&](size_t c, const at::Tensor& f) {
    if (opts.pool == Pool::Chunks) {
      frames[c] = f.to(torch::kDouble).mean(1).to(torch::kFloat);
    } else if (opts.pool == Pool::Mean) {
      auto s = f.to(torch::kDouble).sum(1);
      sum = sum.defined() ? sum + s : s;
    } else {
      frames[c] = f;
    }
  });
  if (opts.pool == Pool::Mean) return (sum / static_cast<double>(plan.total_frames)).to(torch::kFloat).contiguous();
  if (opts.pool == Pool::Chunks) return torch::stack(frames, 1).contiguous();
  return (frames.size() == 1 ? frames[0] : torch::cat(frames, 1)).contiguous();
}

}  // namespace mert
