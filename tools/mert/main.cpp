// `mert`: the command-line front end of libmert. Dispatches to one subcommand; turns any
// error into one clear line on stderr and a non-zero exit.
#include <c10/util/Exception.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "commands.h"
#include "mert/error.h"
#include "util/blas_kernels.h"
#include "util/system_info.h"

namespace {

void print_usage() {
  std::cout << "usage: mert <command> [options]\n\n"
               "MERT music understanding model, native C++.\n\n"
               "commands:\n";
  for (const auto& c : mert::cli::commands()) std::printf("  %-10s %s\n", c.name, c.summary);
  std::cout << "\nRun 'mert <command> --help' for the options of a command.\n";
}

// Large blocks returned to the kernel at every free (glibc's mmap threshold) make each forward
// pass fault in fresh zeroed pages for its activations: 26-75 thousand page faults per 5 s pass
// (`mert bench` prints them), 54 million over a 10 min file, a third of that run's time
// (docs/BENCHMARKS.md, "Allocator").
// Default: freed memory stays in one heap for the next pass. MERT_MALLOC=release returns blocks
// above 4 MiB to the kernel instead (lower peak RSS on long files: 867 vs 1115 MiB for 10 min
// with all layers kept, at 1.5x the run time). A glibc.malloc tunable in GLIBC_TUNABLES wins.
void configure_malloc() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc")) return;
  const char* choice = std::getenv("MERT_MALLOC");
  if (choice && *choice && std::strcmp(choice, "release") != 0)
    std::cerr << "mert: warning: MERT_MALLOC='" << choice << "' ignored (the one setting is 'release')\n";
  if (choice && std::strcmp(choice, "release") == 0) {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);  // fixed: glibc's adaptive one fragmented the heap
    return;
  }
  mallopt(M_ARENA_MAX, 1);               // worker threads' temporaries reuse the same heap
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // only decoded waveforms of long files are mmapped
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // keep the heap top between passes
  mallopt(M_TOP_PAD, 64 << 20);          // grow the heap in large steps
}

// libtorch's kernel caches (see mert::limit_kernel_caches). oneDNN's: more entries than one
// forward pass uses, so repeated shapes (the chunks of a long file, `mert bench`) still hit;
// larger caps let the heap fragment again (docs/RELIABILITY.md, "Memory over a catalogue").
// Pre-training crops fixed lengths, so its caches stop growing by themselves, and one training
// step uses more primitives than this cap: it keeps libtorch's defaults.
constexpr int kOneDnnCacheCapacity = 64;
constexpr int kIdeepCacheCapacity = 8;

}  // namespace

int main(int argc, char** argv) {
  configure_malloc();
  mert::select_blas_kernels();  // before any GEMM: the environment's OpenBLAS core may be a poor one
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd != "pretrain") mert::limit_kernel_caches(kOneDnnCacheCapacity, kIdeepCacheCapacity);
  if (cmd == "--version" || cmd == "version") {
    std::cout << mert::build_info() << "\n";
    return 0;
  }
  try {
    for (const auto& c : mert::cli::commands())
      if (cmd == c.name) return c.run(argc - 2, argv + 2);
    std::cerr << "mert: error: unknown command '" << cmd << "' (run 'mert --help')\n";
    return 2;
  } catch (const mert::OutputError& e) {
    std::cerr << "mert " << cmd << ": error: " << e.what() << "\n"
              << "mert " << cmd << ": " << mert::output_error_hint() << "\n";
    return 3;  // distinct from bad input (1) and usage (2): a retry after freeing space can work
  } catch (const mert::Error& e) {
    std::cerr << "mert " << cmd << ": error: " << e.what() << "\n";
  } catch (const c10::Error& e) {
    std::cerr << "mert " << cmd << ": error (libtorch): " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "mert " << cmd << ": error: " << e.what() << "\n";
  }
  return 1;
}
