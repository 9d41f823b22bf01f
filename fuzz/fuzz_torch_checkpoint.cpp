// pytorch_model.bin: the zip archive, the pickle program (never executed, only interpreted for
// the opcodes a state dict uses) and the storages it points to.
#include <c10/util/Exception.h>

#include "fuzz_util.h"
#include "mert/error.h"
#include "mert/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mert::fuzz::write_input("pytorch_model.bin", data, size);
  try {
    auto tensors = mert::read_torch_checkpoint(path);
    (void)tensors;
  } catch (const mert::Error&) {
  }
  return 0;
}
