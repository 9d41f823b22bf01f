// Source separation data: one folder per track holding the mixture and the four target stems.
// `mert synth stems`: <root>/{train,valid,test}/stems_NNNNNN/{mixture,vocals,drums,bass,other}.flac.
// MUSDB18 decoded to WAV (musdb's `--wav` layout, or MUSDB18-HQ): <root>/{train,test}/<track>/
// {mixture,vocals,drums,bass,other}.wav, with musdb's 14 validation tracks taken out of train.
#include <set>

#include "mert/error.h"
#include "probe/frame_targets.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

using namespace detail;

// musdb's configs/mus.yaml `validation_tracks`.
const std::set<std::string> kMusdbValid = {
    "Actions - One Minute Smile",     "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies", "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",           "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",     "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",      "Young Griffo - Pennies",
    "ANiMAL - Rockshow",              "James May - On The Line",
    "Meaxic - Take A Step",           "Traffic Experiment - Sirens"};

// A track folder as an item: the mixture is the audio, the folder the annotation. Every stem
// must be there (the builder checks the mixture; the targets are checked here).
void add_track(DatasetBuilder& b, const std::string& dir, const std::string& id, const std::string& split,
               const std::vector<std::string>& exts) {
  auto file = [&](const std::string& name) {
    std::vector<std::string> c;
    for (const auto& e : exts) c.push_back(join(dir, name + e));
    return first_existing(c);
  };
  for (const auto& s : stem_target_names())
    if (!is_file(file(s))) throw Error(b.name() + ": " + dir + " has no " + s + " stem (" + file(s) + ")");
  ProbeItem it;
  it.id = safe_id(id);
  it.split = split;
  it.path = file("mixture");
  it.annotation = dir;
  b.add(std::move(it), dir);
}

}  // namespace

const std::vector<std::string>& stem_target_names() {
  static const std::vector<std::string> names = {"vocals", "drums", "bass", "other"};
  return names;
}

std::string stem_file(const std::string& track_dir, const std::string& source) {
  return first_existing({join(track_dir, source + ".flac"), join(track_dir, source + ".wav")});
}

ProbeDataset read_synth_stems(const std::string& root) {
  DatasetBuilder b("synth-stems", root, TaskType::Stems, stem_target_names());
  for (const char* split : kSplits) {
    const std::string dir = join(root, split);
    if (!is_dir(dir)) throw Error("synth-stems: " + dir + " not found (expected the output of `mert synth stems`)");
    for (const auto& d : list_dir(dir, true))
      if (d.rfind("stems_", 0) == 0) add_track(b, join(dir, d), d, split, {".flac", ".wav"});
  }
  return b.finish();
}

ProbeDataset read_musdb(const std::string& root) {
  DatasetBuilder b("musdb18", root, TaskType::Stems, stem_target_names());
  for (const char* sub : {"train", "test"}) {
    const std::string dir = join(root, sub);
    if (!is_dir(dir))
      throw Error("musdb18: " + dir + " not found (expected MUSDB18 decoded to WAV: train/ and test/ with one folder per track)");
    for (const auto& track : list_dir(dir, true)) {
      const std::string split = std::string(sub) == "test" ? "test" : kMusdbValid.count(track) ? "valid" : "train";
      add_track(b, join(dir, track), track, split, {".wav", ".flac"});
    }
  }
  return b.finish();
}

}  // namespace mert::probe
