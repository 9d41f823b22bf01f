// safetensors: header length, JSON header, dtypes, shapes and offsets against the file size.
#include <c10/util/Exception.h>

#include "fuzz_util.h"
#include "mert/error.h"
#include "mert/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mert::fuzz::write_input("model.safetensors", data, size);
  try {
    auto meta = mert::read_safetensors_metadata(path);
    auto tensors = mert::read_safetensors(path);
    (void)meta;
    (void)tensors;
  } catch (const mert::Error&) {
  }
  return 0;
}
