#pragma once
// Bookkeeping shared by the resumable catalogue jobs (embed, features, labels): a settings file
// that keeps one output dir to one set of settings, the failures list, and stale temp files.
#include <string>
#include <utility>
#include <vector>

namespace mert::io {

// Writes `settings_json` to `path`, first refusing (mert::Error naming `what`) when an existing
// file there holds different settings, unless `overwrite`. Keys in `ignored` (e.g. paths that
// do not change outputs) are left out of the comparison.
void check_and_record_settings(const std::string& path, const std::string& settings_json, bool overwrite,
                               const std::vector<std::string>& ignored, const std::string& what);

// <dir>/failures.tsv, or failures.shard-<i>-of-<n>.tsv when sharded (shards never share a file).
std::string failures_path(const std::string& dir, int shard_index, int shard_count);

// Rewrites the failures file (header "path<TAB>reason"), atomically.
void write_failures(const std::string& path, const std::vector<std::pair<std::string, std::string>>& failures);

// A killed run can leave `<out>.tmp.<pid>` behind (never under the final name). Whoever writes
// `out` next removes them: shards are disjoint, so no live writer owns them.
void remove_stale_temps(const std::string& out);

}  // namespace mert::io
