// fairseq manifests (<root>\n<rel path>\t<n samples>...).
#include "fuzz_util.h"
#include "mert/error.h"
#include "mert/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mert::fuzz::write_input("train.tsv", data, size);
  try {
    auto m = mert::read_manifest(path);
    (void)m;
  } catch (const mert::Error&) {
  }
  return 0;
}
