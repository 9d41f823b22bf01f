// fairseq manifests (<root>\n<rel path>\t<n samples>...).
#include "fuzz_util.h"
#include "data/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mert::fuzz::load_file("train.tsv", data, size, [](const std::string& p) {
    mert::read_manifest(p);
  });
}
