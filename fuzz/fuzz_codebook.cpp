// k-means codebooks (`mert label fit` output): a safetensors file plus metadata that must agree
// with its tensors.
#include "fuzz_util.h"
#include "teachers/codebook.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mert::fuzz::load_file("km.safetensors", data, size, [](const std::string& p) {
    mert::load_codebook(p);
  });
}
