#include "teacher_options.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mert/config.h"
#include "mert/error.h"

namespace fs = std::filesystem;

namespace mert::cli {

void declare_teacher_options(Args& args) {
  args.option("params", "", "teacher parameters: a JSON file or inline JSON object overriding the defaults "
                            "(see docs/TEACHERS.md), e.g. '{\"cqt\":{\"n_bins\":84,\"bins_per_octave\":12}}'");
  args.option("model", "m", "model dir whose config.json conv stack defines the frame grid (default: MERT's, 75 Hz)");
  args.option("jobs", "j", "files processed in parallel (0 = one per core)", "0");
}

TeacherParams teacher_params_from(const Args& args) {
  TeacherParams p;
  if (args.has("params")) {
    std::string text = args.get("params");
    const auto first = text.find_first_not_of(" \t\n");
    if (first == std::string::npos || text[first] != '{') {
      std::ifstream in(text);
      if (!in) throw Error("--params: '" + text + "' is neither a JSON object nor a readable file");
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    p = TeacherParams::from_json(text);
  }
  p.validate();
  return p;
}

ModelGrid model_grid_from(const Args& args) {
  ModelGrid g;
  if (args.has("model")) {
    const ModelConfig c = ModelConfig::from_json_file((fs::path(args.get("model")) / "config.json").string());
    g.conv_kernel = c.conv_kernel;
    g.conv_stride = c.conv_stride;
  }
  return g;
}

}  // namespace mert::cli
