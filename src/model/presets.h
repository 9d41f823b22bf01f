#pragma once
// Named architectures: the released MERT geometries and a tiny one for demos and tests.
#include <string>

#include "mert/config.h"

namespace mert {

// "tiny", "v1-95m", "v1-330m", "v0". Throws mert::Error for an unknown name.
ModelConfig preset_config(const std::string& name);
std::string preset_names();

}  // namespace mert
