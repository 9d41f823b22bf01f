#include "mert/system_info.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace mert {
namespace {

std::string cpu_model_and_isa() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = " " + line.substr(line.find(':') + 1) + " ";
    if (!model.empty() && !flags.empty()) break;
  }
  std::string isa;
  for (const char* f : {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"})
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) isa += (isa.empty() ? "" : " ") + std::string(f);
  return (model.empty() ? "unknown CPU" : model) + " | ISA: " + (isa.empty() ? "baseline" : isa);
}

// Pulls "KEY=value" out of libtorch's build configuration string.
std::string config_value(const std::string& cfg, const std::string& key) {
  auto pos = cfg.find(key + "=");
  if (pos == std::string::npos) return "?";
  auto end = cfg.find_first_of(", \n", pos);
  return cfg.substr(pos + key.size() + 1, end - pos - key.size() - 1);
}

}  // namespace

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return at::get_num_threads();
}

std::string system_info_line() {
  const std::string cfg = at::show_config();
  std::ostringstream os;
  os << "system: " << cpu_model_and_isa() << " | threads " << at::get_num_threads()
     << " | libtorch " << TORCH_VERSION
     << " | oneDNN " << (at::hasMKLDNN() ? "on" : "off")
     << " | BLAS " << config_value(cfg, "BLAS_INFO");
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
