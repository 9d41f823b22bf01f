// .npy: magic, version, header dict (descr, fortran_order, shape) and the data size.
#include <c10/util/Exception.h>

#include "fuzz_util.h"
#include "mert/error.h"
#include "mert/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mert::fuzz::write_input("in.npy", data, size);
  try {
    auto t = mert::read_npy(path);
    (void)t;
  } catch (const mert::Error&) {
  }
  return 0;
}
