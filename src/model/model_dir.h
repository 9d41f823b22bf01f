#pragma once
// A Hugging Face-layout model directory: config.json, preprocessor_config.json, and
// model.safetensors or pytorch_model.bin.
#include <string>

#include "mert/config.h"
#include "model/model.h"

namespace mert {

struct LoadedModel {
  std::string dir;
  ModelConfig config;
  PreprocessorConfig preprocessor;
  MertModel model{nullptr};
  std::string weights_path;   // the file the weights came from
  std::string weights_dtype;  // dtype(s) as stored in the file, e.g. "F32" or "F16"
};

// Locates the weight file (model.safetensors preferred over pytorch_model.bin). Throws
// mert::Error when the directory or the files are missing.
std::string find_weights_file(const std::string& dir);

// Reads the weight file of either format into a name -> tensor map.
TensorMap read_weights_file(const std::string& path);

// Loads and validates everything, puts the model in eval mode. Throws mert::Error with
// the offending file in the message. `dtype` ("fp32" or "bf16") is the compute dtype: the
// parameters are created in it and the file's tensors converted as they are copied, so a bf16
// load never holds a float32 copy of the weights.
LoadedModel load_model_dir(const std::string& dir, const std::string& dtype = "fp32");

// A model whose parameters are created directly in `dtype` ("fp32" or "bf16"), with the
// constructors' default values (call init_weights or load_weights_into next).
MertModel make_model_in_dtype(const ModelConfig& cfg, const std::string& dtype);

// Writes config.json, preprocessor_config.json and model.safetensors into `dir` (created if
// needed). Every file is written atomically.
// `weight_dtype` "fp32" or "bf16": how floating-point weights are stored (they are computed in the
// model's dtype when loaded: a bf16 file halves the size and changes results by bf16 rounding).
void save_model_dir(const std::string& dir, const ModelConfig& cfg, const PreprocessorConfig& pre,
                    MertModelImpl& model, const std::string& weight_dtype = "fp32");

}  // namespace mert
