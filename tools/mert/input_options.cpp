#include "input_options.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "mert/error.h"

namespace mert::cli {

int jobs_from(const Args& args) {
  int j = args.get_int("jobs");
  if (j < 0 || j > 256) throw Error("--jobs must be in [0, 256]");
  if (j == 0) j = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return j;
}

void parse_shard(const std::string& spec, int& index, int& count) {
  const auto slash = spec.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t p1 = 0, p2 = 0;
    index = std::stoi(spec.substr(0, slash), &p1);
    count = std::stoi(spec.substr(slash + 1), &p2);
    if (p1 != slash || p2 != spec.size() - slash - 1) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    throw Error("--shard must look like i/n (e.g. 0/4), got '" + spec + "'");
  }
  if (count < 1 || index < 0 || index >= count)
    throw Error("--shard " + spec + ": need 0 <= i < n");
}

InputOptions input_options_from(const Args& args) {
  InputOptions io;
  if (args.flag_set("list")) io.list_files = split_commas(args.get("list"), "--list");
  return io;
}

}  // namespace mert::cli
