#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>
#include <sstream>

#include "mert/audio.h"
#include "mert/embed.h"
#include "mert/error.h"

namespace mert {

Pool parse_pool(const std::string& s) {
  if (s == "none") return Pool::None;
  if (s == "mean") return Pool::Mean;
  throw Error("--pool must be 'none' or 'mean', got '" + s + "'");
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
      throw Error("--layers: '" + item + "' is not a layer index (use 'all' or e.g. 0,6,12)");
    if (v < 0 || v > num_hidden_layers)
      throw Error("--layers: " + item + " is out of range; this model has hidden states 0.." +
                  std::to_string(num_hidden_layers));
    out.push_back(v);
  }
  return out;
}

void EmbedOptions::validate(const ModelConfig& cfg) const {
  if (!(chunk_sec >= 0) || !std::isfinite(chunk_sec)) throw Error("--chunk-sec must be >= 0");
  if (chunk_sec > 0 && chunk_sec * static_cast<double>(cfg.sample_rate) < static_cast<double>(cfg.receptive_field()))
    throw Error("--chunk-sec " + std::to_string(chunk_sec) + " is shorter than the model's receptive field (" +
                std::to_string(cfg.receptive_field()) + " samples)");
  for (auto l : layers)
    if (l < 0 || l > cfg.num_hidden_layers) throw Error("layer index out of range");
}

std::string EmbedOptions::to_string() const {
  std::ostringstream os;
  os << "layers=";
  if (layers.empty()) os << "all";
  for (size_t i = 0; i < layers.size(); ++i) os << (i ? "," : "") << layers[i];
  os << " pool=" << (pool == Pool::Mean ? "mean" : "none") << " chunk-sec=" << chunk_sec
     << " normalize=" << (normalize_per_chunk ? "per-chunk" : "per-file");
  return os.str();
}

at::Tensor embed_waveform(MertModelImpl& model, const PreprocessorConfig& pre, std::vector<float> wave,
                          const EmbedOptions& opts) {
  const ModelConfig& cfg = model.config();
  opts.validate(cfg);
  const int64_t n = static_cast<int64_t>(wave.size());
  if (n < cfg.receptive_field())
    throw Error("audio is " + std::to_string(n) + " samples long, shorter than the model's receptive field (" +
                std::to_string(cfg.receptive_field()) + " samples = " +
                std::to_string(1000.0 * cfg.receptive_field() / cfg.sample_rate) + " ms)");
  if (pre.do_normalize && !opts.normalize_per_chunk) normalize_waveform(wave);

  std::vector<int64_t> layers = opts.layers;
  if (layers.empty())
    for (int64_t i = 0; i <= cfg.num_hidden_layers; ++i) layers.push_back(i);

  // Chunk boundaries: fixed-length, non-overlapping; the last may be shorter.
  const int64_t chunk = opts.chunk_sec > 0 ? static_cast<int64_t>(std::llround(opts.chunk_sec * cfg.sample_rate)) : n;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t len = std::min(chunk, n - start);
    if (cfg.frames_for_samples(len) >= 1) chunks.emplace_back(start, len);
  }

  torch::NoGradGuard no_grad;
  const auto device = model.masked_spec_embed.device();
  std::vector<at::Tensor> frames;  // per chunk [n_layers, T_c, H] (Pool::None)
  at::Tensor sum;                  // [n_layers, H] (Pool::Mean)
  int64_t total_frames = 0;
  for (const auto& [start, len] : chunks) {
    auto input = torch::from_blob(wave.data() + start, {1, len}, torch::kFloat).clone();
    if (pre.do_normalize && opts.normalize_per_chunk) normalize_waveform(input.data_ptr<float>(), len);
    auto out = model.forward(input.to(device), {}, layers);
    std::vector<at::Tensor> picked;
    for (auto l : layers) picked.push_back(out.hidden_states[l][0]);
    auto stacked = torch::stack(picked).to(torch::kCPU, torch::kFloat);  // [n_layers, T_c, H]
    total_frames += stacked.size(1);
    if (opts.pool == Pool::Mean) {
      auto s = stacked.to(torch::kDouble).sum(1);
      sum = sum.defined() ? sum + s : s;
    } else {
      frames.push_back(stacked);
    }
  }
  if (opts.pool == Pool::Mean) return (sum / static_cast<double>(total_frames)).to(torch::kFloat).contiguous();
  return (frames.size() == 1 ? frames[0] : torch::cat(frames, 1)).contiguous();
}

}  // namespace mert
