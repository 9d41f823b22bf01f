// k-means codebooks (`mert label fit` output): a safetensors file plus metadata that must agree
// with its tensors.
#include <c10/util/Exception.h>

#include "fuzz_util.h"
#include "mert/codebook.h"
#include "mert/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mert::fuzz::write_input("km.safetensors", data, size);
  try {
    auto cb = mert::load_codebook(path);
    (void)cb;
  } catch (const mert::Error&) {
  }
  return 0;
}
