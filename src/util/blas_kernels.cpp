#include "util/blas_kernels.h"

#include "util/runtime_symbol.h"

#include <strings.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

namespace mert {
namespace {

// OpenBLAS's DYNAMIC_ARCH entry points, looked up at run time: the BLAS is whatever libblas.so.3
// Debian's alternatives point at, and may not be OpenBLAS at all.
using CoreNameFn = char* (*)();
using VoidFn = void (*)();

// How good a core's fp32 GEMM kernels are; -1 for a name this table does not know (a newer
// OpenBLAS than ours, which presumably chose well: left alone).
int core_rank(const std::string& core) {
  struct Entry { const char* name; int rank; };
  static constexpr Entry kTable[] = {
      {"SapphireRapids", 4}, {"Cooperlake", 3}, {"SkylakeX", 2}, {"Haswell", 1}, {"Zen", 1},
      {"Excavator", 1}, {"Steamroller", 0}, {"Piledriver", 0}, {"Bulldozer", 0}, {"Sandybridge", 0},
      {"Nehalem", 0}, {"Dunnington", 0}, {"Penryn", 0}, {"Core2", 0}, {"Atom", 0}, {"Nano", 0},
      {"Prescott", 0}, {"Barcelona", 0}, {"Opteron_SSE3", 0}, {"Opteron", 0}, {"Bobcat", 0},
      {"Athlon", 0}, {"Banias", 0}, {"Northwood", 0}, {"Coppermine", 0}, {"Katmai", 0},
      {"Unknown", 0}};
  for (const auto& e : kTable)
    if (!strcasecmp(core.c_str(), e.name)) return e.rank;
  return -1;
}

// The best core this CPU runs among those the loaded OpenBLAS carries ("" if none applies).
std::string best_blas_core() {
  __builtin_cpu_init();  // libgcc's checks include the OS's AVX-512 register state (XCR0)
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (avx512 && __builtin_cpu_supports("avx512bf16") && runtime_symbol<void*>("gotoblas_COOPERLAKE")) return "Cooperlake";
  if (avx512 && runtime_symbol<void*>("gotoblas_SKYLAKEX")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && runtime_symbol<void*>("gotoblas_HASWELL"))
    return "Haswell";
  return "";
}

BlasKernels& last_choice() {
  static BlasKernels choice;
  return choice;
}

}  // namespace

std::string blas_core() {
  auto name = runtime_symbol<CoreNameFn>("openblas_get_corename");
  const char* s = name ? name() : nullptr;
  return s ? s : "";
}

BlasKernels select_blas_kernels() {
  BlasKernels& r = last_choice();
  r = {};
  r.before = r.after = blas_core();
  auto quit = runtime_symbol<VoidFn>("gotoblas_dynamic_quit");
  auto init = runtime_symbol<VoidFn>("gotoblas_dynamic_init");
  if (r.before.empty() || !quit || !init) return r;  // not a DYNAMIC_ARCH OpenBLAS
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  const std::optional<std::string> env_core = env ? std::optional<std::string>(env) : std::nullopt;
  const char* mode = std::getenv("MERT_BLAS_KERNELS");
  if (mode && !std::strcmp(mode, "keep")) {
    r.reason = "MERT_BLAS_KERNELS=keep";
    return r;
  }
  if (mode && *mode)
    std::cerr << "mert: warning: MERT_BLAS_KERNELS='" << mode << "' ignored (the one setting is 'keep')\n";
  const std::string best = best_blas_core();
  if (best.empty() || core_rank(r.before) < 0 || core_rank(r.before) >= core_rank(best)) return r;

  // OpenBLAS re-reads OPENBLAS_CORETYPE when re-initialised; the caller's value is restored after.
  setenv("OPENBLAS_CORETYPE", best.c_str(), /*overwrite=*/1);
  quit();
  init();
  if (env_core) setenv("OPENBLAS_CORETYPE", env_core->c_str(), 1);
  else unsetenv("OPENBLAS_CORETYPE");
  r.after = blas_core();
  r.reason = "chosen by mert; " + (env_core ? "OPENBLAS_CORETYPE=" + *env_core : "OpenBLAS picked " + r.before);
  return r;
}

std::string blas_kernels_info() {
  const BlasKernels& r = last_choice();
  const std::string core = r.after.empty() ? blas_core() : r.after;
  if (core.empty()) return "";
  return core + " kernels" + (r.reason.empty() ? "" : " (" + r.reason + ")");
}

}  // namespace mert
