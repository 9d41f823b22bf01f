// safetensors: header length, JSON header, dtypes, shapes and offsets against the file size.
#include "fuzz_util.h"
#include "io/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mert::fuzz::load_file("model.safetensors", data, size, [](const std::string& p) {
    mert::read_safetensors_metadata(p);
    mert::read_safetensors(p);
  });
}
