#pragma once
// Options every catalogue command shares: input lists and job counts.
#include <string>

#include "args.h"
#include "embed/inputs.h"

namespace mert::cli {

// --jobs: files processed in parallel (0 = one per core).
int jobs_from(const Args& args);
// --shard i/n -> index, count (0 <= i < n).
void parse_shard(const std::string& spec, int& index, int& count);
// --list a,b,c -> InputOptions.
InputOptions input_options_from(const Args& args);

}  // namespace mert::cli
