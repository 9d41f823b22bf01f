#include "input_options.h"

#include <algorithm>
#include <thread>

#include "mert/error.h"

namespace mert::cli {

int jobs_from(const Args& args) {
  int j = args.get_int("jobs");
  if (j < 0 || j > 256) throw Error("--jobs must be in [0, 256]");
  if (j == 0) j = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return j;
}

InputOptions input_options_from(const Args& args) {
  InputOptions io;
  if (args.flag_set("list")) io.list_files = split_commas(args.get("list"), "--list");
  return io;
}

}  // namespace mert::cli
