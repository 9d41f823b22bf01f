#pragma once
#include <string>

namespace mert {

// Sets libtorch's intra-op thread count (n <= 0: one per core) and returns what is in effect.
int set_threads(int n);

// Caps libtorch's per-shape kernel caches: oneDNN's primitive cache at `onednn_capacity` entries
// and ideep's LRU cache at `ideep_capacity` (both 1024 by default). Every input length creates new
// primitives (JIT-compiled kernels) that both caches keep alive, and those long-lived blocks
// scattered through the heap fragment it, so over a catalogue of different lengths memory grew
// with every file (docs/RELIABILITY.md, "Memory over a catalogue"). oneDNN's cap must exceed the
// primitives one forward pass uses (a few dozen for MERT) so that repeated shapes still hit;
// ideep's entries pin the largest ones and may be few (a miss there is served by oneDNN's cache).
// A capacity set in the environment (ONEDNN_PRIMITIVE_CACHE_CAPACITY or
// DNNL_PRIMITIVE_CACHE_CAPACITY; LRU_CACHE_CAPACITY) wins. Call it before the first oneDNN op:
// ideep reads its capacity once per thread.
void limit_kernel_caches(int onednn_capacity, int ideep_capacity);
// Raises oneDNN's primitive cache to at least `capacity` entries (never lowers it; a no-op when
// the environment sets it), for work whose passes use more primitives (int8 Linear layers).
void reserve_kernel_cache(int capacity);
// Empties oneDNN's primitive cache, keeping its capacity (a no-op without oneDNN's API).
void release_kernel_cache();
// What is in effect, e.g. "oneDNN 64, ideep 8" (for the system line).
std::string kernel_cache_info();

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
