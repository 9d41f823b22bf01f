#pragma once
#include <dlfcn.h>

namespace mert {

// A function or object of a library the process may or may not have loaded, looked up at run
// time (nullptr if absent): for APIs of libraries we do not link against directly, such as the
// oneDNN inside libtorch or whichever BLAS Debian's alternatives point libblas.so.3 at.
template <typename T>
T runtime_symbol(const char* name) {
  return reinterpret_cast<T>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace mert
