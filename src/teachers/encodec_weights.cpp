// Loading EnCodec weights as users have them: a Hugging Face dir (safetensors or
// pytorch_model.bin; weight_g/weight_v or parametrizations.weight.original0/1) or the original
// encodec_24khz-*.th (encoder.model.N.conv.conv.*, quantizer.vq.layers.N._codebook.*). Every
// name is mapped to the Hugging Face weight_g/weight_v spelling, then checked strictly against
// the layout the config implies.
#include <torch/types.h>

#include <filesystem>
#include <regex>
#include <set>

#include "io/weights.h"
#include "mert/error.h"
#include "teachers/encodec.h"

namespace fs = std::filesystem;

namespace mert::encodec {
namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// One spelling for every layout (Hugging Face, weight_g / weight_v).
std::string canonical_name(std::string name) {
  name = replace_all(name, ".parametrizations.weight.original0", ".weight_g");
  name = replace_all(name, ".parametrizations.weight.original1", ".weight_v");
  if (name.rfind("encoder.model.", 0) == 0) name = "encoder.layers." + name.substr(14);
  name = replace_all(name, ".conv.conv.", ".conv.");
  static const std::regex vq(R"(^quantizer\.vq\.layers\.(\d+)\._codebook\.)");
  name = std::regex_replace(name, vq, "quantizer.layers.$1.codebook.");
  return name;
}

// Keys a checkpoint carries that the encoder does not use: the decoder, and the quantizer's
// training statistics.
bool ignored(const std::string& name) {
  static const std::regex stats(R"(^quantizer\.layers\.\d+\.codebook\.(inited|cluster_size|embed_avg)$)");
  return name.rfind("decoder.", 0) == 0 || std::regex_match(name, stats);
}

using Shapes = std::map<std::string, std::vector<int64_t>>;

void expect_conv(Shapes& s, const std::string& prefix, int64_t in, int64_t out, int64_t k) {
  s[prefix + ".weight_g"] = {out, 1, 1};
  s[prefix + ".weight_v"] = {out, in, k};
  s[prefix + ".bias"] = {out};
}

// Every tensor the config's encoder and quantizer need, with its shape (HF EncodecEncoder order).
Shapes expected_shapes(const EncodecConfig& c) {
  Shapes s;
  int64_t idx = 0;
  expect_conv(s, "encoder.layers.0.conv", c.audio_channels, c.num_filters, c.kernel_size);
  ++idx;
  int64_t dim = c.num_filters;
  for (auto r = c.upsampling_ratios.rbegin(); r != c.upsampling_ratios.rend(); ++r) {
    for (int64_t j = 0; j < c.num_residual_layers; ++j, ++idx) {
      const std::string b = "encoder.layers." + std::to_string(idx);
      expect_conv(s, b + ".block.1.conv", dim, dim / c.compress, c.residual_kernel_size);
      expect_conv(s, b + ".block.3.conv", dim / c.compress, dim, 1);
      if (c.use_conv_shortcut) expect_conv(s, b + ".shortcut.conv", dim, dim, 1);
    }
    ++idx;  // ELU
    expect_conv(s, "encoder.layers." + std::to_string(idx) + ".conv", dim, dim * 2, *r * 2);
    ++idx;
    dim *= 2;
  }
  const std::string lstm = "encoder.layers." + std::to_string(idx) + ".lstm.";
  for (int64_t l = 0; l < c.num_lstm_layers; ++l) {
    const std::string k = std::to_string(l);
    s[lstm + "weight_ih_l" + k] = {4 * dim, dim};
    s[lstm + "weight_hh_l" + k] = {4 * dim, dim};
    s[lstm + "bias_ih_l" + k] = {4 * dim};
    s[lstm + "bias_hh_l" + k] = {4 * dim};
  }
  idx += 2;  // LSTM, ELU
  expect_conv(s, "encoder.layers." + std::to_string(idx) + ".conv", dim, c.hidden_size, c.last_kernel_size);
  for (int64_t q = 0; q < c.num_quantizers(); ++q)
    s["quantizer.layers." + std::to_string(q) + ".codebook.embed"] = {c.codebook_size, c.hidden_size};
  return s;
}

std::string shape_str(at::IntArrayRef v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

std::string first_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

}  // namespace

EncodecWeights load_encodec_weights(const std::string& path) {
  EncodecWeights w;
  std::string file = path;
  if (fs::is_directory(path)) {
    const fs::path dir(path);
    if (!fs::exists(dir / "config.json")) throw Error(path + ": no config.json (expected a Hugging Face EnCodec dir)");
    w.config = EncodecConfig::from_json_file((dir / "config.json").string());
    if (fs::exists(dir / "model.safetensors")) file = (dir / "model.safetensors").string();
    else if (fs::exists(dir / "pytorch_model.bin")) file = (dir / "pytorch_model.bin").string();
    else throw Error(path + ": neither model.safetensors nor pytorch_model.bin");
  } else if (!fs::exists(path)) {
    throw Error(path + ": no such file or directory");
  }
  // A bare checkpoint (the original encodec_24khz-*.th) has no config: the 24 kHz defaults.
  const std::string ext = fs::path(file).extension().string();
  const TensorMap raw = ext == ".safetensors" ? read_safetensors(file) : read_torch_checkpoint(file);
  w.source = file;

  const Shapes want = expected_shapes(w.config);
  std::vector<std::string> unknown, missing, misshapen;
  for (const auto& [name, t] : raw) {
    const std::string c = canonical_name(name);
    if (ignored(c)) continue;
    const auto it = want.find(c);
    if (it == want.end()) {
      unknown.push_back(name);
      continue;
    }
    if (t.sizes() != at::IntArrayRef(it->second)) {
      misshapen.push_back(name + " " + shape_str(t.sizes()) + " (expected " + shape_str(it->second) + ")");
      continue;
    }
    if (!t.is_floating_point()) {
      misshapen.push_back(name + " has dtype " + std::string(c10::toString(t.scalar_type())));
      continue;
    }
    if (!w.tensors.emplace(c, t.to(torch::kFloat).contiguous().clone()).second)
      unknown.push_back(name + " (a second spelling of " + c + ")");
  }
  for (const auto& [name, shape] : want)
    if (!w.tensors.count(name)) missing.push_back(name);
  if (!unknown.empty()) throw Error(file + ": unknown EnCodec tensor(s): " + first_names(unknown));
  if (!misshapen.empty()) throw Error(file + ": tensor(s) not as the config says: " + first_names(misshapen));
  if (!missing.empty()) throw Error(file + ": missing EnCodec tensor(s): " + first_names(missing));
  return w;
}

}  // namespace mert::encodec
