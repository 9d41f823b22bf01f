#include "util/system_info.h"

#include "util/blas_kernels.h"
#include "util/runtime_symbol.h"

#include "mert_git_commit.h"  // generated at build time (cmake/git_commit.cmake)

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace mert {
namespace {
void read_cpuinfo(std::string& model, std::string& flags) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = " " + line.substr(line.find(':') + 1) + " ";
    if (!model.empty() && !flags.empty()) break;
  }
}
}  // namespace

std::string cpu_model() {
  std::string model, flags;
  read_cpuinfo(model, flags);
  return model.empty() ? "unknown CPU" : model;
}

std::string cpu_isa() {
  std::string model, flags, isa;
  read_cpuinfo(model, flags);
  for (const char* f : {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"})
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) isa += (isa.empty() ? "" : " ") + std::string(f);
  return isa.empty() ? "baseline" : isa;
}

std::string git_commit() { return MERT_GIT_COMMIT; }

namespace {
std::string cpu_model_and_isa() { return cpu_model() + " | ISA: " + cpu_isa(); }
}  // namespace

std::string blas_library() {
  // Which libblas.so.3 the dynamic loader actually mapped (Debian switches it with
  // update-alternatives), since the build config only says "generic".
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("libblas.so") == std::string::npos && line.find("libopenblas") == std::string::npos) continue;
    if (line.find("openblas-openmp") != std::string::npos) return "OpenBLAS (OpenMP)";
    if (line.find("openblas-pthread") != std::string::npos) return "OpenBLAS (pthreads)";
    if (line.find("openblas") != std::string::npos) return "OpenBLAS";
    if (line.find("blis") != std::string::npos) return "BLIS";
    if (line.find("/blas/libblas.so") != std::string::npos)
      return "reference BLAS (SLOW: install libopenblas0-openmp)";
    return line.substr(line.rfind(' ') + 1);
  }
  return "none loaded";
}

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return at::get_num_threads();
}

namespace {
// oneDNN's C API, looked up at run time: Debian's libtorch links the shared libdnnl, other builds
// carry oneDNN inside libtorch_cpu (hidden) or have none; there is no oneDNN header to include.
using DnnlSetCapacity = int (*)(int);
using DnnlGetCapacity = int (*)(int*);
bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

bool onednn_capacity_from_env() {
  return env_set("ONEDNN_PRIMITIVE_CACHE_CAPACITY") || env_set("DNNL_PRIMITIVE_CACHE_CAPACITY");
}

void set_onednn_capacity(int capacity) {
  if (onednn_capacity_from_env()) return;
  if (auto set = runtime_symbol<DnnlSetCapacity>("dnnl_set_primitive_cache_capacity")) {
    set(capacity);
  } else {
    // A oneDNN we cannot call reads the variable when it creates its cache.
    setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", std::to_string(capacity).c_str(), /*overwrite=*/1);
  }
}
}  // namespace

void limit_kernel_caches(int onednn_capacity, int ideep_capacity) {
  // ideep (compiled into libtorch) reads this when a thread first uses its cache.
  setenv("LRU_CACHE_CAPACITY", std::to_string(ideep_capacity).c_str(), /*overwrite=*/0);
  set_onednn_capacity(onednn_capacity);
}

void reserve_kernel_cache(int capacity) {
  int current = -1;
  if (auto get = runtime_symbol<DnnlGetCapacity>("dnnl_get_primitive_cache_capacity"); get && get(&current) == 0) {
    if (current < capacity) set_onednn_capacity(capacity);
  }
}

void release_kernel_cache() {
  auto get = runtime_symbol<DnnlGetCapacity>("dnnl_get_primitive_cache_capacity");
  auto set = runtime_symbol<DnnlSetCapacity>("dnnl_set_primitive_cache_capacity");
  int capacity = -1;
  if (!get || !set || get(&capacity) != 0 || capacity <= 0) return;
  set(0);  // evicts everything
  set(capacity);
}

std::string kernel_cache_info() {
  std::string onednn = "?";
  int cap = -1;
  if (auto get = runtime_symbol<DnnlGetCapacity>("dnnl_get_primitive_cache_capacity"); get && get(&cap) == 0)
    onednn = std::to_string(cap);
  else if (env_set("ONEDNN_PRIMITIVE_CACHE_CAPACITY"))
    onednn = std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY");
  const char* lru = std::getenv("LRU_CACHE_CAPACITY");
  return "oneDNN " + onednn + ", ideep " + (lru && *lru ? std::string(lru) : std::string("1024"));
}

std::string system_info_line() {
  std::ostringstream os;
  os << "system: " << cpu_model_and_isa() << " | threads " << at::get_num_threads()
     << " | libtorch " << TORCH_VERSION
     << " | oneDNN " << (at::hasMKLDNN() ? "on" : "off") << " (kernel caches: " << kernel_cache_info() << ")"
     << " | BLAS " << blas_library();
  if (const std::string kernels = blas_kernels_info(); !kernels.empty()) os << ", " << kernels;
  return os.str();
}

std::string build_info() {
  return std::string("mert ") + MERT_VERSION + " (" + MERT_GIT_COMMIT + ")";
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

}  // namespace mert
