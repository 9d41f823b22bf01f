#pragma once
#include <string>

namespace mert {

// Sets libtorch's intra-op thread count (n <= 0: one per core) and returns what is in effect.
int set_threads(int n);

// One line describing the machine and the kernels in use: CPU model, ISA extensions, threads,
// libtorch version, oneDNN and BLAS. Printed first by every tool (cf. whisper.cpp).
std::string system_info_line();

// The BLAS library the process has loaded, e.g. "OpenBLAS (OpenMP)".
std::string blas_library();

// CPU model name and the ISA extensions that matter for the kernels (avx2 ... amx_int8).
std::string cpu_model();
std::string cpu_isa();
std::string git_commit();

// Project version and git commit this binary was built from.
std::string build_info();

// Peak resident set size of this process in MiB (VmHWM), or -1 if unknown.
double peak_rss_mib();

}  // namespace mert
