#pragma once
// The model `mert embed` and `mert probe` use when -m is not given: the project's own trained
// model, models/mert-synth-small (docs/RESULTS.md), found next to the binary wherever it runs.
#include <string>

namespace mert::cli {

// The name used in --help texts and messages.
inline constexpr const char* kDefaultModelName = "mert-synth-small";

// Its directory: $MERT_DEFAULT_MODEL if set, else the first of <binary>/../models/<name> (build
// tree), <binary>/../share/mert/models/<name> (installed) and the source tree's models/<name>
// that holds a config.json. Throws mert::Error naming the places looked in when none does.
std::string default_model_dir();

}  // namespace mert::cli
