#include "mert/system_info.h"

#include "mert_git_commit.h"  // generated at build time (cmake/git_commit.cmake)

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/Context.h>
#include <torch/version.h>

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

std::string system_info_line() {
  std::ostringstream os;
  os << "system: " << cpu_model_and_isa() << " | threads " << at::get_num_threads()
     << " | libtorch " << TORCH_VERSION
     << " | oneDNN " << (at::hasMKLDNN() ? "on" : "off")
     << " | BLAS " << blas_library();
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
