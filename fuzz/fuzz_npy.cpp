// .npy: magic, version, header dict (descr, fortran_order, shape) and the data size.
#include "fuzz_util.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return mert::fuzz::load_file("in.npy", data, size, [](const std::string& p) {
    mert::read_npy(p);
  });
}
