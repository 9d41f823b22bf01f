#include <iostream>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "model/model_dir.h"
#include "util/system_info.h"

namespace mert::cli {

int cmd_info(int argc, char** argv) {
  Args args("info", "-m <model dir> [--threads N]",
            "Loads and validates a Hugging Face-layout model dir and describes it: architecture,\n"
            "parameter count, stored dtype, preprocessing, and the system/kernels in use.");
  args.option("model", "m", "model dir: config.json, preprocessor_config.json, model.safetensors or pytorch_model.bin (required)");
  args.option("threads", "t", "intra-op threads (0 = one per core)", "0");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("model")) throw Error("missing -m <model dir>");
  set_threads(args.get_int("threads"));
  std::cerr << system_info_line() << "\n";

  LoadedModel m = load_model_dir(args.get("model"));
  const auto& c = m.config;
  std::cout << "model dir:    " << m.dir << "\n"
            << "weights:      " << m.weights_path << " (" << m.weights_dtype << ", computed in float32)\n"
            << "architecture: " << c.to_string() << "\n"
            << "parameters:   " << count_parameters(*m.model) << " (+ " 
            << count_parameters(*m.model, true) - count_parameters(*m.model) << " training-only)\n"
            << "hidden states:" << " " << c.num_hidden_layers + 1 << " x " << c.hidden_size
            << (c.is_pre_ln() ? " (pre-LN: only the last one is layer-normalised)" : "") << "\n"
            << "receptive field: " << c.receptive_field() << " samples, hop " << c.total_stride() << " samples\n"
            << "preprocess:   do_normalize=" << (m.preprocessor.do_normalize ? "true" : "false")
            << ", sampling_rate=" << m.preprocessor.sampling_rate << "\n"
            << "system:       " << system_info_line().substr(8) << "\n"
            << "build:        " << build_info() << "\n";
  return 0;
}

}  // namespace mert::cli
