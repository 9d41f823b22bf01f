#pragma once
// Turning command-line inputs into a work list: audio files, directories (recursive), list
// files, fairseq manifests; each item gets the relative output path it mirrors.
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

struct InputItem {
  std::string path;      // audio file to read
  std::string rel_out;   // output path relative to the out dir, without extension
  std::string error;     // non-empty: the item is known bad before decoding (reported as a failure)
  // Only this part of the file is used: from start_sec, for duration_sec (0 = to the end).
  double start_sec = 0, duration_sec = 0;
};

// Cuts a decoded waveform to an item's segment (a no-op for whole files). Throws mert::Error when
// the segment starts beyond the end of the audio.
void apply_segment(const InputItem& item, std::vector<float>& samples, int64_t sample_rate);

struct InputOptions {
  std::vector<std::string> list_files;  // --list: one audio path per line
};

// Rules (documented in docs/CLI.md):
//  - a file argument            -> <stem>            (flat, as `mert embed a.wav` always did)
//  - a directory argument       -> path relative to that directory, recursively, audio extensions only
//  - a `.tsv` argument          -> fairseq manifest: first line is the root, then relpath<TAB>n_samples;
//                                  output mirrors relpath
//  - each line of a --list file -> the path with the list's longest common directory removed
// Items are returned sorted by rel_out; a second item with the same rel_out gets an error.
// Throws mert::Error for a missing argument path or a malformed manifest/list.
std::vector<InputItem> collect_inputs(const std::vector<std::string>& args, const InputOptions& opts);

// Deterministic shard selection: keeps items whose FNV-1a hash of rel_out is i mod n, so adding
// files to a collection never moves existing files to another shard.
std::vector<InputItem> select_shard(const std::vector<InputItem>& items, int index, int count);

}  // namespace mert
