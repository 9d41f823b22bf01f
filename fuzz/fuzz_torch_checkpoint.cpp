// pytorch_model.bin: the zip archive, the pickle program (never executed, only interpreted for
// the opcodes a state dict uses) and the storages it points to.
#include "fuzz_util.h"
#include "io/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mert::fuzz::load_file("pytorch_model.bin", data, size, [](const std::string& p) {
    mert::read_torch_checkpoint(p);
  });
}
