#pragma once
// A whole file's FNV-1a 64 (util/random.h) as 16 hex digits: the identity of a codebook, a
// manifest or a teacher checkpoint in a run's settings. Throws mert::Error if unreadable.
#include <string>

namespace mert::util {

std::string file_fingerprint(const std::string& path);

}  // namespace mert::util
