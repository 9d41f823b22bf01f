// Moving weights between a MertModel and name->tensor maps: strict loading with validation,
// exporting, fresh initialisation, parameter counting.
#include <ATen/CPUGeneratorImpl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <torch/nn/init.h>

#include <cmath>

#include <sstream>

#include "mert/error.h"
#include "model/model.h"

namespace mert {
namespace {

std::string shape_str(at::IntArrayRef s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Newer transformers re-save weight norm through torch parametrizations.
std::string canonical_name(const std::string& name) {
  static const std::pair<std::string, std::string> renames[] = {
      {"encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv_embed.conv.weight_g"},
      {"encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv_embed.conv.weight_v"},
  };
  for (const auto& [from, to] : renames)
    if (name == from) return to;
  return name;
}

}  // namespace

bool is_training_only_tensor(const std::string& name) {
  // Pre-training heads (fairseq/HF names and ours) and the masking embedding.
  static const char* prefixes[] = {"final_proj.", "label_embs_concat", "label_embs.", "cqt_head.",
                                   "pretrain_heads.", "encoder_cqt_model.", "encoder_mel_model.",
                                   "masked_spec_embed"};
  for (const char* p : prefixes)
    if (starts_with(name, p)) return true;
  return false;
}

namespace {

// Drops the resident pages of a source tensor we are done with (a view of a read-only file
// mapping), so loading never holds the weights twice: the page cache keeps the file, but the
// process's RSS stays at one copy. Only whole pages inside the tensor's own bytes are touched.
void release_pages(const at::Tensor& t) {
  const long page = ::sysconf(_SC_PAGESIZE);
  auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  auto end = begin + static_cast<uintptr_t>(t.numel()) * t.element_size();
  begin = (begin + page - 1) / page * page;
  end = end / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace

void load_weights_into(MertModelImpl& model, const TensorMap& tensors, const std::string& origin,
                       bool release_source_pages) {
  auto params = model.named_parameters(/*recurse=*/true);
  std::map<std::string, at::Tensor> given;
  for (const auto& [name, t] : tensors) {
    auto canon = canonical_name(name);
    if (given.count(canon)) throw Error(origin + ": tensor '" + canon + "' appears twice (under two names)");
    given[canon] = t;
  }

  std::vector<std::string> missing, unexpected;
  for (const auto& item : params) {
    const auto& name = item.key();
    auto it = given.find(name);
    if (it == given.end()) {
      if (name != "masked_spec_embed") missing.push_back(name);
      continue;
    }
    const at::Tensor& src = it->second;
    if (src.sizes() != item.value().sizes())
      throw Error(origin + ": tensor '" + name + "' has shape " + shape_str(src.sizes()) +
                  ", the config expects " + shape_str(item.value().sizes()));
    if (!src.is_floating_point())
      throw Error(origin + ": tensor '" + name + "' has non-floating dtype " +
                  std::string(c10::toString(src.scalar_type())));
  }
  for (const auto& [name, t] : given)
    if (!params.contains(name) && !is_training_only_tensor(name)) unexpected.push_back(name);

  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 5; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 5) s += ", ... (" + std::to_string(v.size()) + " in all)";
    return s;
  };
  if (!missing.empty())
    throw Error(origin + ": missing tensor(s) the config requires: " + list(missing) +
                " (does config.json match these weights?)");
  if (!unexpected.empty())
    throw Error(origin + ": unexpected tensor(s) not in this model: " + list(unexpected) +
                " (does config.json match these weights?)");

  torch::NoGradGuard no_grad;
  for (auto& item : params) {
    auto it = given.find(item.key());
    if (it == given.end()) continue;
    at::Tensor src = it->second.to(item.value().device(), item.value().scalar_type());
    if (!src.isfinite().all().item<bool>())
      throw Error(origin + ": tensor '" + item.key() + "' contains NaN or Inf");
    item.value().copy_(src);
    if (release_source_pages && it->second.is_contiguous() && it->second.device().is_cpu()) release_pages(it->second);
  }
}

TensorMap model_state(MertModelImpl& model) {
  TensorMap out;
  for (const auto& item : model.named_parameters(true)) {
    if (item.value().numel() == 0 && item.key().size() > 7 && item.key().compare(item.key().size() - 7, 7, ".weight") == 0)
      throw Error("'" + item.key() + "' holds no float weight (an int8 model is inference-only and cannot be saved)");
    out[item.key()] = item.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
  }
  return out;
}

void init_weights(MertModelImpl& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : model.named_parameters(true)) {
    const auto& name = item.key();
    at::Tensor p = item.value();
    at::Tensor v;
    auto ends_with = [&](const char* suf) {
      std::string s(suf);
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (name == "masked_spec_embed") {
      v = at::rand(p.sizes(), gen, torch::kFloat);
    } else if (name.find("conv_layers") != std::string::npos && ends_with("conv.weight")) {
      // Kaiming normal (fan_in), as HF initialises the conv front end.
      const double fan_in = static_cast<double>(p.size(1) * p.size(2));
      v = at::normal(0.0, std::sqrt(2.0 / fan_in), p.sizes(), gen);
    } else if (ends_with("weight_v")) {
      const double fan_in = static_cast<double>(p.size(1) * p.size(2));
      v = at::normal(0.0, std::sqrt(2.0 / fan_in), p.sizes(), gen);
    } else if (ends_with("weight_g")) {
      continue;  // set from weight_v below
    } else if (name.find("norm") != std::string::npos && ends_with("weight")) {
      v = torch::ones(p.sizes());
    } else if (ends_with("bias")) {
      v = torch::zeros(p.sizes());
    } else {
      v = at::normal(0.0, 0.02, p.sizes(), gen);
    }
    p.copy_(v);
  }
  // weight_g = ||weight_v|| per tap, so the initial effective weight equals weight_v.
  auto params = model.named_parameters(true);
  auto* g = params.find("encoder.pos_conv_embed.conv.weight_g");
  auto* vv = params.find("encoder.pos_conv_embed.conv.weight_v");
  if (g && vv) g->copy_(vv->to(torch::kFloat).pow(2).sum(at::IntArrayRef{0, 1}, true).sqrt());
  // DeepNorm (post-LN only) scales down the value/output projections and the FFN at init by
  // beta = (8N)^(1/4), N = number of layers.
  if (model.config().deepnorm) {
    const double beta = std::pow(8.0 * model.config().num_hidden_layers, 0.25);
    for (auto& item : params) {
      const auto& name = item.key();
      if (name.find("encoder.layers.") != 0) continue;
      for (const char* part : {".attention.v_proj.", ".attention.out_proj.", ".feed_forward.intermediate_dense.",
                               ".feed_forward.output_dense."})
        if (name.find(part) != std::string::npos) item.value().div_(beta);
    }
  }
}

int64_t count_parameters(MertModelImpl& model, bool include_training_only) {
  int64_t n = 0;
  for (const auto& item : model.named_parameters(true))
    if (include_training_only || !is_training_only_tensor(item.key())) n += item.value().numel();
  return n;
}

}  // namespace mert
