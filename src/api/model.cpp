// mert::Model (mert/mert.h): the typed API over the model loader and the embed engine.
#include <torch/types.h>

#include <cmath>
#include <mutex>
#include <sstream>

#include "mert/audio.h"
#include "embed/embed.h"
#include "mert/mert.h"
#include "model/model_dir.h"
#include "util/system_info.h"

namespace mert {

ComputeType compute_type_from_string(const std::string& name) {
  if (name == "fp32" || name == "float32") return ComputeType::Float32;
  if (name == "bf16" || name == "bfloat16") return ComputeType::BFloat16;
  if (name == "int8") return ComputeType::Int8;
  throw Error("unknown compute type '" + name + "' (expected fp32, bf16 or int8)");
}

const char* to_string(ComputeType t) {
  switch (t) {
    case ComputeType::Float32: return "fp32";
    case ComputeType::BFloat16: return "bf16";
    case ComputeType::Int8: return "int8";
  }
  return "?";
}

void ModelOptions::validate() const {
  if (threads < 0 || threads > 1024) throw Error("threads must be in [0, 1024], got " + std::to_string(threads));
}

std::string ModelOptions::to_string() const {
  return std::string("compute_type=") + mert::to_string(compute_type) + " threads=" + std::to_string(threads);
}

struct Model::Impl {
  LoadedModel m;
  ModelOptions options;
  // One forward at a time (the positional conv keeps a lazily built weight, and libtorch modules
  // are not made for concurrent calls).
  std::mutex mu;

  Embedding run(std::vector<float> wave, const EmbedOptions& o) {
    std::lock_guard<std::mutex> g(mu);
    // With OpenMP the thread count belongs to the calling thread: set it on every call, which
    // may come from any thread.
    set_threads(options.threads);
    const at::Tensor t = embed_waveform(*m.model, m.preprocessor, std::move(wave), o).contiguous();
    Embedding e;
    e.shape = t.sizes().vec();
    e.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    return e;
  }
};

Model::Model(const std::string& dir, const ModelOptions& options) : impl_(std::make_unique<Impl>()) {
  options.validate();
  impl_->options = options;
  set_threads(options.threads);
  impl_->m = load_model_dir(dir, mert::to_string(options.compute_type));
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Embedding Model::embed(const float* samples, size_t n, int64_t sample_rate, const EmbedOptions& options) const {
  if (sample_rate <= 0) throw Error("sample_rate must be positive, got " + std::to_string(sample_rate));
  if (n == 0) throw Error("the waveform is empty");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(samples[i])) throw Error("the waveform has a non-finite sample at index " + std::to_string(i));
  options.validate(impl_->m.config);
  std::vector<float> x(samples, samples + n);
  if (sample_rate != impl_->m.config.sample_rate) x = resample(x, sample_rate, impl_->m.config.sample_rate);
  return impl_->run(std::move(x), options);
}

Embedding Model::embed(const std::vector<float>& samples, int64_t sample_rate, const EmbedOptions& options) const {
  return embed(samples.data(), samples.size(), sample_rate, options);
}

Embedding Model::embed_file(const std::string& path, const EmbedOptions& options, std::string* warning) const {
  options.validate(impl_->m.config);
  Audio a = decode_audio(path, impl_->m.config.sample_rate);
  if (warning) *warning = a.warning;
  return impl_->run(std::move(a.samples), options);
}

const ModelConfig& Model::config() const { return impl_->m.config; }
const PreprocessorConfig& Model::preprocessor() const { return impl_->m.preprocessor; }
const ModelOptions& Model::options() const { return impl_->options; }
const std::string& Model::dir() const { return impl_->m.dir; }
int64_t Model::sample_rate() const { return impl_->m.config.sample_rate; }
int64_t Model::num_layers() const { return impl_->m.config.num_hidden_layers + 1; }
int64_t Model::hidden_size() const { return impl_->m.config.hidden_size; }

std::string system_info() { return system_info_line(); }
std::string version() { return build_info(); }

}  // namespace mert
