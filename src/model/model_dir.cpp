#include "model/model_dir.h"

#include <filesystem>
#include <set>

#include "io/atomic_file.h"
#include "mert/error.h"

namespace mert {
namespace fs = std::filesystem;
namespace {

// The names safetensors uses, which is how users see dtypes on the hub.
std::string safetensors_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    default: return c10::toString(t);
  }
}

}  // namespace

std::string find_weights_file(const std::string& dir) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    fs::path p = fs::path(dir) / name;
    if (fs::exists(p)) return p.string();
  }
  throw Error(dir + ": no weights found (expected model.safetensors or pytorch_model.bin)");
}

TensorMap read_weights_file(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".safetensors") return read_safetensors(path);
  if (ext == ".bin" || ext == ".pt" || ext == ".pth") return read_torch_checkpoint(path);
  throw Error(path + ": unknown weight file type (expected .safetensors or .bin)");
}

MertModel make_model_in_dtype(const ModelConfig& cfg, const std::string& dtype) {
  // The modules create their parameters in the default dtype; switch it for the construction
  // instead of converting afterwards, which would briefly hold both copies.
  const caffe2::TypeMeta previous = c10::get_default_dtype();
  c10::set_default_dtype(c10::scalarTypeToTypeMeta(parse_compute_dtype(dtype)));
  try {
    MertModel model(cfg);
    c10::set_default_dtype(previous);
    return model;
  } catch (...) {
    c10::set_default_dtype(previous);
    throw;
  }
}

LoadedModel load_model_dir(const std::string& dir, const std::string& dtype) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw Error("model dir '" + dir + "' does not exist");
  if (!fs::is_directory(dir, ec)) throw Error("model dir '" + dir + "' is not a directory");
  LoadedModel m;
  m.dir = dir;
  const fs::path cfg_path = fs::path(dir) / "config.json";
  if (!fs::exists(cfg_path)) throw Error(dir + ": missing config.json");
  m.config = ModelConfig::from_json_file(cfg_path.string());
  const fs::path pre_path = fs::path(dir) / "preprocessor_config.json";
  if (!fs::exists(pre_path))
    throw Error(dir + ": missing preprocessor_config.json (it says whether to normalise the waveform)");
  m.preprocessor = PreprocessorConfig::from_json_file(pre_path.string());
  if (m.preprocessor.sampling_rate != m.config.sample_rate)
    throw Error(dir + ": preprocessor sampling_rate " + std::to_string(m.preprocessor.sampling_rate) +
                " differs from config sample_rate " + std::to_string(m.config.sample_rate));

  m.weights_path = find_weights_file(dir);
  TensorMap tensors = read_weights_file(m.weights_path);
  std::set<std::string> dtypes;
  for (const auto& [name, t] : tensors)
    if (!is_training_only_tensor(name)) dtypes.insert(safetensors_dtype_name(t.scalar_type()));
  for (const auto& d : dtypes) m.weights_dtype += (m.weights_dtype.empty() ? "" : "+") + d;

  m.model = make_model_in_dtype(m.config, dtype);
  load_weights_into(*m.model, tensors, m.weights_path, /*release_source_pages=*/true);
  finish_compute_dtype(*m.model, dtype);
  m.model->eval();
  return m;
}

void save_model_dir(const std::string& dir, const ModelConfig& cfg, const PreprocessorConfig& pre,
                    MertModelImpl& model, const std::string& weight_dtype) {
  if (weight_dtype != "fp32" && weight_dtype != "bf16")
    throw Error("weight dtype must be fp32 or bf16, got '" + weight_dtype + "'");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create model dir '" + dir + "': " + ec.message());
  TensorMap state = model_state(model);
  if (weight_dtype == "bf16")
    for (auto& [name, t] : state)
      if (t.is_floating_point()) t = t.to(at::kBFloat16);
  write_safetensors((fs::path(dir) / "model.safetensors").string(), state, {{"format", "pt"}});
  io::write_text_atomic((fs::path(dir) / "config.json").string(), cfg.to_json_string());
  io::write_text_atomic((fs::path(dir) / "preprocessor_config.json").string(), pre.to_json_string());
}

}  // namespace mert
