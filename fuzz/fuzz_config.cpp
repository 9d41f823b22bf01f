// config.json (types, ranges, conv stack) and preprocessor_config.json from one input:
// the part before "\n--\n" is the model config, the part after the preprocessor config.
#include "fuzz_util.h"
#include "mert/config.h"
#include "mert/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string model = mert::fuzz::part(data, size, 0);
  const std::string pre = mert::fuzz::part(data, size, 1);
  try {
    auto c = mert::ModelConfig::from_json_string(model, "fuzz/config.json");
    (void)c;
  } catch (const mert::Error&) {
  }
  const std::string path =
      mert::fuzz::write_input("preprocessor_config.json", reinterpret_cast<const uint8_t*>(pre.data()), pre.size());
  try {
    auto p = mert::PreprocessorConfig::from_json_file(path);
    (void)p;
  } catch (const mert::Error&) {
  }
  return 0;
}
