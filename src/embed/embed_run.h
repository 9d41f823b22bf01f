#pragma once
// Embedding a whole collection: skip what is done, decode ahead, embed, write atomically, record
// failures and carry on. The CLI (`mert embed`) is a thin shell over run_embedding().
#include <cstdint>
#include <string>
#include <vector>

#include "embed/embed.h"
#include "embed/inputs.h"
#include "embed/run_observer.h"
#include "model/model_dir.h"

namespace mert {

struct RunOptions {
  EmbedOptions embed;
  std::string out_dir;
  bool overwrite = false;  // recompute files whose outputs exist (and accept changed settings)
  int shard_index = 0, shard_count = 1;
  // Files whose chunks may share a batch: fixed groups of this many consecutive inputs. A group
  // with any missing output is recomputed whole on resume (outputs stay byte-identical).
  int group_files = 1;
  // Pool::None: store frames as float16 (half the disk; frame-level probe caches).
  bool half_frames = false;
};

// A cheap, stable fingerprint of a model dir (16 hex digits): both JSON files in full and samples
// of the weight file. Equal fingerprints mean the same model.
std::string model_fingerprint(const LoadedModel& m);

// The identity of a run's outputs: model fingerprint plus every option that changes them. Stored
// as <out>/mert-embed.json; a rerun into the same dir with different settings is refused
// (unless overwrite) so that skipped and new files never mix settings.
std::string run_settings_json(const LoadedModel& m, const RunOptions& o);

// Where item `rel_out`'s output goes.
std::string output_path(const RunOptions& o, const std::string& rel_out);

RunStats run_embedding(LoadedModel& m, const std::vector<InputItem>& items, const RunOptions& o, RunObserver& obs);

}  // namespace mert
