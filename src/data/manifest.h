#pragma once
// fairseq audio manifests (`<split>.tsv`): the first line is the root directory, then one
// `relpath<TAB>n_samples` line per clip. Label files produced for a manifest have one line per
// entry, in the same order.
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

struct ManifestEntry {
  std::string rel;        // path relative to the root
  int64_t n_samples = 0;  // as written in the manifest
};

struct Manifest {
  std::string path;  // the .tsv file
  std::string root;
  std::vector<ManifestEntry> entries;
  std::string audio_path(size_t i) const;  // root / rel (rel used as-is when absolute)
  std::string split() const;               // file name without .tsv: "train" for train.tsv
};

// Throws mert::Error naming file and line for an unreadable file, a missing root line, or an
// entry without a tab or with a non-integer / negative sample count. Blank lines are skipped.
Manifest read_manifest(const std::string& path);

}  // namespace mert
