#include <iostream>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "model/model.h"
#include "model/model_dir.h"
#include "model/presets.h"

namespace mert::cli {

int cmd_init(int argc, char** argv) {
  Args args("init", "-o <model dir> [--preset NAME | --config config.json] [--seed N]",
            "Creates a model dir with freshly initialised (random) weights in Hugging Face layout.\n"
            "Such a model computes features of no musical value: it is for demos, tests and as the\n"
            "starting point of pre-training. Presets: " + preset_names() + ".");
  args.option("out", "o", "output model dir (required)");
  args.option("preset", "p", "architecture preset", "tiny");
  args.option("config", "c", "a config.json to take the architecture from instead of a preset");
  args.option("seed", "s", "random seed", "0");
  args.option("normalize", "", "do_normalize in preprocessor_config.json (true|false)", "true");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("out")) throw Error("missing -o <model dir>");
  ModelConfig cfg = args.flag_set("config")
                        ? ModelConfig::from_json_file(args.get("config"))
                        : preset_config(args.get("preset"));
  PreprocessorConfig pre;
  const std::string norm = args.get("normalize");
  if (norm != "true" && norm != "false") throw Error("--normalize must be true or false");
  pre.do_normalize = norm == "true";
  pre.sampling_rate = cfg.sample_rate;
  MertModel model(cfg);
  init_weights(*model, static_cast<uint64_t>(args.get_int("seed")));
  save_model_dir(args.get("out"), cfg, pre, *model);
  std::cerr << "wrote random-weight model (" << count_parameters(*model) << " parameters, " << cfg.to_string()
            << ") to " << args.get("out") << "\n";
  return 0;
}

}  // namespace mert::cli
