#include <filesystem>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "model/model.h"
#include "model/model_dir.h"
#include "io/weights.h"

namespace mert::cli {
namespace fs = std::filesystem;

int cmd_convert(int argc, char** argv) {
  Args args("convert", "<in model dir> <out model dir>",
            "Validates a Hugging Face-layout model dir (pytorch_model.bin or model.safetensors) and\n"
            "writes <out model dir> with model.safetensors holding the same tensors in their stored\n"
            "dtypes, plus copies of config.json and preprocessor_config.json. The output dir must\n"
            "not already hold a model.");
  args.flag("force", "overwrite an existing model in the output dir");
  if (!args.parse(argc, argv)) return 0;
  if (args.positionals().size() != 2) throw Error("expected <in model dir> <out model dir>");
  const fs::path in = args.positionals()[0], out = args.positionals()[1];
  std::error_code ec;
  if (fs::exists(out / "model.safetensors") && !args.flag_set("force"))
    throw Error(out.string() + " already holds model.safetensors (use --force to overwrite)");

  // Full load validates config and every tensor against it before anything is written.
  LoadedModel m = load_model_dir(in.string());
  TensorMap tensors = read_weights_file(m.weights_path);
  for (auto& [name, t] : tensors) t = t.contiguous();

  fs::create_directories(out, ec);
  if (ec) throw Error("cannot create '" + out.string() + "': " + ec.message());
  for (const char* f : {"config.json", "preprocessor_config.json"}) {
    fs::copy_file(in / f, out / f, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error("cannot copy " + (in / f).string() + ": " + ec.message());
  }
  write_safetensors((out / "model.safetensors").string(), tensors, {{"format", "pt"}});
  std::cerr << "wrote " << (out / "model.safetensors").string() << " (" << tensors.size() << " tensors, "
            << m.weights_dtype << ") from " << m.weights_path << "\n";
  return 0;
}

}  // namespace mert::cli
