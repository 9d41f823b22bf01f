#pragma once
#include <string>

namespace mert {

// OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its GEMM kernels once, when it is loaded: from
// OPENBLAS_CORETYPE if the environment sets it, else from its own CPU table. Both go wrong in
// practice: some hosts set OPENBLAS_CORETYPE=Haswell for every process (1.7x slower fp32 on an
// AVX-512 CPU), and OpenBLAS releases older than the CPU fall back to old kernels. fp32 inference
// and training spend most of their time in these GEMMs, so the binary chooses itself.
//
// select_blas_kernels() asks the CPU (cpuid, with the OS's AVX-512 state) for the best kernel set
// this OpenBLAS carries (Cooperlake > SkylakeX > Haswell) and, when OpenBLAS is running a weaker
// one, re-initialises it with that set. Call it first thing, before any BLAS call and before
// threads start. MERT_BLAS_KERNELS=keep leaves OpenBLAS's own choice (to measure it, or to work
// around a kernel bug). Without a DYNAMIC_ARCH OpenBLAS it does nothing.
struct BlasKernels {
  std::string before;  // core OpenBLAS chose ("" without OpenBLAS)
  std::string after;   // core in use afterwards
  std::string reason;  // why it changed or stayed, for the system line
};
BlasKernels select_blas_kernels();

// The kernels in use and why, e.g. "Cooperlake kernels (chosen by mert; OPENBLAS_CORETYPE=Haswell)";
// just "<core> kernels" if select_blas_kernels() changed nothing or was never called; "" without
// OpenBLAS.
std::string blas_kernels_info();

// The OpenBLAS core whose kernels run now, e.g. "Cooperlake" ("" without OpenBLAS).
std::string blas_core();

}  // namespace mert
