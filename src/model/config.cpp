#include "mert/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/json_value.h"
#include "mert/error.h"

namespace mert {
namespace {

using nlohmann::json;

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open ") + what + " '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json parse_json(const std::string& text, const std::string& origin) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) throw Error(origin + ": expected a JSON object at top level");
    return j;
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    throw Error(origin + ": malformed JSON (" + e.what() + ")");
  }
}

// Typed getters that name the key and the file in their errors, and keep the default when the
// key is absent (or null, as Hugging Face writes for unset options).
using io::read_key;

void get_opt_bool(const json& j, const char* key, bool& out, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_boolean())
    throw Error(origin + ": key '" + key + "' must be true/false, got " + it->dump());
  out = it->get<bool>();
}

template <typename T>
std::string join(const std::vector<T>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}

}  // namespace

ModelConfig ModelConfig::from_json_file(const std::string& path) {
  return from_json_string(read_text_file(path, "model config"), path);
}

ModelConfig ModelConfig::from_json_string(const std::string& text, const std::string& origin) {
  const json j = parse_json(text, origin);
  ModelConfig c;
  read_key(j, "conv_dim", c.conv_dim, origin);
  read_key(j, "conv_kernel", c.conv_kernel, origin);
  read_key(j, "conv_stride", c.conv_stride, origin);
  get_opt_bool(j, "conv_bias", c.conv_bias, origin);
  read_key(j, "feat_extract_norm", c.feat_extract_norm, origin);
  get_opt_bool(j, "feat_proj_layer_norm", c.feat_proj_layer_norm, origin);
  read_key(j, "hidden_size", c.hidden_size, origin);
  read_key(j, "num_hidden_layers", c.num_hidden_layers, origin);
  read_key(j, "num_attention_heads", c.num_attention_heads, origin);
  read_key(j, "intermediate_size", c.intermediate_size, origin);
  read_key(j, "num_conv_pos_embeddings", c.num_conv_pos_embeddings, origin);
  read_key(j, "num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups, origin);
  get_opt_bool(j, "do_stable_layer_norm", c.do_stable_layer_norm, origin);
  get_opt_bool(j, "deepnorm", c.deepnorm, origin);
  read_key(j, "attention_relax", c.attention_relax, origin);
  read_key(j, "layer_norm_eps", c.layer_norm_eps, origin);
  read_key(j, "hidden_dropout", c.hidden_dropout, origin);
  read_key(j, "attention_dropout", c.attention_dropout, origin);
  read_key(j, "activation_dropout", c.activation_dropout, origin);
  read_key(j, "feat_proj_dropout", c.feat_proj_dropout, origin);
  read_key(j, "layerdrop", c.layerdrop, origin);
  read_key(j, "sample_rate", c.sample_rate, origin);

  // Options this implementation does not run. Refuse rather than silently compute
  // something else.
  bool cqt = false;
  get_opt_bool(j, "feature_extractor_cqt", cqt, origin);
  if (cqt)
    throw Error(origin + ": feature_extractor_cqt=true (CQT input branch) is not supported; "
                "no released MERT checkpoint uses it");
  bool conv_pos_bn = false;
  get_opt_bool(j, "conv_pos_batch_norm", conv_pos_bn, origin);
  if (conv_pos_bn)
    throw Error(origin + ": conv_pos_batch_norm=true is not supported");
  for (const char* act_key : {"hidden_act", "feat_extract_activation"}) {
    std::string act = "gelu";
    read_key(j, act_key, act, origin);
    if (act != "gelu")
      throw Error(origin + ": " + act_key + "='" + act + "' is not supported (only exact 'gelu')");
  }
  std::string pos_type;
  read_key(j, "position_embeddings_type", pos_type, origin);
  if (!pos_type.empty() && pos_type != "conv")
    throw Error(origin + ": position_embeddings_type='" + pos_type + "' is not supported");
  int64_t n_feat_layers = -1;
  read_key(j, "num_feat_extract_layers", n_feat_layers, origin);
  if (n_feat_layers >= 0 && n_feat_layers != static_cast<int64_t>(c.conv_dim.size()))
    throw Error(origin + ": num_feat_extract_layers=" + std::to_string(n_feat_layers) +
                " but conv_dim has " + std::to_string(c.conv_dim.size()) + " entries");
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
  return c;
}

void ModelConfig::validate() const {
  const size_t n = conv_dim.size();
  if (n == 0) throw Error("conv_dim is empty");
  if (conv_kernel.size() != n || conv_stride.size() != n)
    throw Error("conv_dim, conv_kernel and conv_stride must have equal lengths (got " +
                std::to_string(n) + ", " + std::to_string(conv_kernel.size()) + ", " +
                std::to_string(conv_stride.size()) + ")");
  for (size_t i = 0; i < n; ++i)
    if (conv_dim[i] <= 0 || conv_kernel[i] <= 0 || conv_stride[i] <= 0)
      throw Error("conv layer " + std::to_string(i) + ": dim, kernel and stride must be positive");
  if (feat_extract_norm != "group" && feat_extract_norm != "layer")
    throw Error("feat_extract_norm must be \"group\" or \"layer\", got \"" + feat_extract_norm + "\"");
  if (hidden_size <= 0 || num_hidden_layers <= 0 || num_attention_heads <= 0 || intermediate_size <= 0)
    throw Error("hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive");
  if (hidden_size % num_attention_heads != 0)
    throw Error("hidden_size " + std::to_string(hidden_size) + " is not divisible by num_attention_heads " +
                std::to_string(num_attention_heads));
  if (num_conv_pos_embeddings <= 0 || num_conv_pos_embedding_groups <= 0 ||
      hidden_size % num_conv_pos_embedding_groups != 0)
    throw Error("num_conv_pos_embeddings must be positive and hidden_size divisible by num_conv_pos_embedding_groups");
  if (deepnorm && do_stable_layer_norm)
    throw Error("deepnorm=true requires the post-LN encoder (do_stable_layer_norm=false)");
  if (!(layer_norm_eps > 0)) throw Error("layer_norm_eps must be positive");
  if (sample_rate <= 0) throw Error("sample_rate must be positive");
}

int64_t ModelConfig::total_stride() const {
  int64_t s = 1;
  for (auto v : conv_stride) s *= v;
  return s;
}

int64_t ModelConfig::receptive_field() const {
  // Walk backwards: one output sample of layer i covers (r-1)*stride + kernel inputs.
  int64_t r = 1;
  for (int64_t i = num_conv_layers() - 1; i >= 0; --i) r = (r - 1) * conv_stride[i] + conv_kernel[i];
  return r;
}

int64_t conv_output_length(const std::vector<int64_t>& kernels, const std::vector<int64_t>& strides, int64_t len) {
  for (size_t i = 0; i < kernels.size(); ++i) {
    if (len < kernels[i]) return 0;
    len = (len - kernels[i]) / strides[i] + 1;
  }
  return len;
}

int64_t ModelConfig::frames_for_samples(int64_t len) const { return conv_output_length(conv_kernel, conv_stride, len); }

std::string ModelConfig::to_string() const {
  std::ostringstream os;
  os << num_hidden_layers << "x" << hidden_size << " (ffn " << intermediate_size << ", heads "
     << num_attention_heads << "), " << (do_stable_layer_norm ? "pre-LN" : "post-LN")
     << (deepnorm ? " deepnorm" : "") << ", conv " << num_conv_layers() << " layers ["
     << join(conv_dim) << "] k[" << join(conv_kernel) << "] s[" << join(conv_stride) << "] "
     << feat_extract_norm << "-norm" << (conv_bias ? " +bias" : "") << ", pos-conv "
     << num_conv_pos_embeddings << "/" << num_conv_pos_embedding_groups << ", "
     << sample_rate << " Hz, " << static_cast<double>(sample_rate) / total_stride() << " frames/s";
  return os.str();
}

std::string ModelConfig::to_json_string() const {
  json j;
  j["architectures"] = {"MERTModel"};
  j["model_type"] = "mert_model";
  j["conv_dim"] = conv_dim;
  j["conv_kernel"] = conv_kernel;
  j["conv_stride"] = conv_stride;
  j["conv_bias"] = conv_bias;
  j["num_feat_extract_layers"] = num_conv_layers();
  j["feat_extract_norm"] = feat_extract_norm;
  j["feat_extract_activation"] = "gelu";
  j["feat_proj_layer_norm"] = feat_proj_layer_norm;
  j["hidden_size"] = hidden_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["intermediate_size"] = intermediate_size;
  j["hidden_act"] = "gelu";
  j["num_conv_pos_embeddings"] = num_conv_pos_embeddings;
  j["num_conv_pos_embedding_groups"] = num_conv_pos_embedding_groups;
  j["do_stable_layer_norm"] = do_stable_layer_norm;
  j["deepnorm"] = deepnorm;
  j["attention_relax"] = attention_relax;
  j["layer_norm_eps"] = layer_norm_eps;
  j["hidden_dropout"] = hidden_dropout;
  j["attention_dropout"] = attention_dropout;
  j["activation_dropout"] = activation_dropout;
  j["feat_proj_dropout"] = feat_proj_dropout;
  j["layerdrop"] = layerdrop;
  j["feature_extractor_cqt"] = false;
  j["sample_rate"] = sample_rate;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

PreprocessorConfig PreprocessorConfig::from_json_file(const std::string& path) {
  const json j = parse_json(read_text_file(path, "preprocessor config"), path);
  PreprocessorConfig p;
  get_opt_bool(j, "do_normalize", p.do_normalize, path);
  read_key(j, "sampling_rate", p.sampling_rate, path);
  read_key(j, "padding_value", p.padding_value, path);
  get_opt_bool(j, "return_attention_mask", p.return_attention_mask, path);
  int64_t feature_size = 1;
  read_key(j, "feature_size", feature_size, path);
  if (feature_size != 1) throw Error(path + ": feature_size must be 1 (mono waveform), got " + std::to_string(feature_size));
  try {
    p.validate();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return p;
}

void PreprocessorConfig::validate() const {
  if (sampling_rate <= 0) throw Error("sampling_rate must be positive");
}

std::string PreprocessorConfig::to_json_string() const {
  json j;
  j["do_normalize"] = do_normalize;
  j["feature_extractor_type"] = "Wav2Vec2FeatureExtractor";
  j["feature_size"] = 1;
  j["padding_side"] = "right";
  j["padding_value"] = padding_value;
  j["return_attention_mask"] = return_attention_mask;
  j["sampling_rate"] = sampling_rate;
  return j.dump(2) + "\n";
}

}  // namespace mert
