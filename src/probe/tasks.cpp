// The table of probing tasks: reader, audio cutting and training settings per task
// (reference/marble-protocol.md §2.2–§2.3). The synthetic tasks take their analogue's settings.
#include <algorithm>

#include "mert/error.h"
#include "probe/probe.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

const std::vector<std::string> kAccuracy{"accuracy"};
const std::vector<std::string> kTagging{"roc_auc_macro", "ap_macro"};
const std::vector<std::string> kR2{"r2_mean"};
const std::vector<std::string> kKey{"weighted_score"};

TaskSpec classification(std::string name, std::string summary, DatasetReader reader, std::string suite_dir,
                        double crop, double chunk, int plateau, int stop, int epochs, int layer) {
  return TaskSpec{std::move(name), std::move(summary), TaskType::Multiclass, reader, std::move(suite_dir), crop, chunk,
                  plateau, stop, epochs, layer, kAccuracy, "accuracy"};
}
TaskSpec tagging(std::string name, std::string summary, DatasetReader reader, std::string suite_dir, int layer) {
  return TaskSpec{std::move(name), std::move(summary), TaskType::Multilabel, reader, std::move(suite_dir), 0, 30,
                  3, 10, 100, layer, kTagging, "roc_auc_macro"};
}
TaskSpec regression(std::string name, std::string summary, DatasetReader reader, std::string suite_dir, double crop,
                    double chunk, int layer) {
  return TaskSpec{std::move(name), std::move(summary), TaskType::Regression, reader, std::move(suite_dir), crop, chunk,
                  5, 20, 100, layer, kR2, "r2_mean"};
}
// Frame-level tasks: MARBLE's beat settings (plateau 6, stop 20, 100 epochs, 10 s training crops,
// beats widened by one frame), hidden states cached in 30 s chunks.
TaskSpec frame_task(std::string name, std::string summary, TaskType type, DatasetReader reader, std::string suite_dir,
                    std::string metric) {
  TaskSpec t{std::move(name), std::move(summary), type, reader, std::move(suite_dir), 0, 30, 6, 20, 100, kWeightedSum,
             {metric}, metric};
  t.train_crop_sec = 10;
  t.beat_widen = type == TaskType::Beat ? 1 : 0;
  t.default_lrs = {1e-4, 1e-3, 1e-2};
  return t;
}
// Source separation: MARBLE's MUSDB18 settings (plateau 3, stop 10, 100 epochs, layer 7).
TaskSpec stems_task(std::string name, std::string summary, DatasetReader reader, std::string suite_dir) {
  TaskSpec t{std::move(name), std::move(summary), TaskType::Stems, reader, std::move(suite_dir), 0, 30, 3, 10, 100, 7,
             {"sdr"}, "sdr"};
  t.default_lrs = {1e-4, 1e-3, 1e-2};
  t.score_scale = 1;
  return t;
}
TaskSpec key(std::string name, std::string summary, DatasetReader reader, std::string suite_dir) {
  return TaskSpec{std::move(name), std::move(summary), TaskType::Key, reader, std::move(suite_dir), 0, 30,
                  5, 20, 100, 8, kKey, "weighted_score"};
}

}  // namespace

const std::vector<TaskSpec>& task_specs() {
  static const std::vector<TaskSpec> specs = {
      classification("nsynth-pitch", "NSynth pitch, 128 MIDI classes (4 s notes)", read_nsynth_pitch, "nsynth", 0, 30, 3,
                     10, 50, 1),
      classification("nsynth-instrument", "NSynth instrument family, 11 classes", read_nsynth_instrument, "nsynth", 0, 30, 3,
                     10, 50, 6),
      classification("gtzan", "GTZAN genre, 10 classes, fault-filtered split", read_gtzan, "gtzan", 0, 30, 6, 20, 100, 7),
      key("giantsteps-key", "GiantSteps key, 24 classes (train: GiantSteps-MTG-key), 30 s clips, song ensemble",
          read_giantsteps_key, "giantsteps"),
      tagging("mtt", "MagnaTagATune top-50 tags (multi-label)", read_mtt, "mtt", kWeightedSum),
      regression("emo", "Emomusic arousal and valence (regression; first 30 s in 5 s chunks)", read_emo, "emo", 30, 5, 5),
      classification("vocalset-singer", "VocalSet singer identity, 20 classes (3 s segments)", read_vocalset_singer,
                     "vocalset", 30, 5, 5, 20, 100, 2),
      classification("vocalset-technique", "VocalSet singing technique, 10 classes (3 s segments)",
                     read_vocalset_technique, "vocalset", 30, 5, 5, 10, 100, 9),
      tagging("mtg-genre", "MTG-Jamendo genre tags, split 0 (multi-label)", read_mtg_genre, "mtg-jamendo", 7),
      tagging("mtg-instrument", "MTG-Jamendo instrument tags, split 0 (multi-label)", read_mtg_instrument, "mtg-jamendo",
              kWeightedSum),
      tagging("mtg-mood", "MTG-Jamendo mood/theme tags, split 0 (multi-label)", read_mtg_mood, "mtg-jamendo", 6),
      tagging("mtg-top50", "MTG-Jamendo top-50 tags, split 0 (multi-label)", read_mtg_top50, "mtg-jamendo", 6),
      classification("synth-pitch", "mert synth pitch: MIDI pitch of rendered notes (NSynth-like)", read_synth_pitch,
                     "pitch", 0, 30, 3, 10, 50, 1),
      classification("synth-instrument", "mert synth pitch: instrument family of rendered notes",
                     read_synth_instrument, "pitch", 0, 30, 3, 10, 50, 6),
      key("synth-key", "mert synth key: key of generated progressions, 24 classes", read_synth_key, "key"),
      tagging("synth-tags", "mert synth tags: instrument families and drums (multi-label)", read_synth_tags, "tags",
              kWeightedSum),
      regression("synth-tempo", "mert synth beat: tempo in BPM (regression)", read_synth_tempo, "beat", 0, 30, 5),
      frame_task("gtzan-beat", "GTZAN-Rhythm beat tracking, frame head + DBN (frame level), GTZAN's filtered split",
                 TaskType::Beat, read_gtzan_beat, "gtzan", "f_measure"),
      stems_task("musdb18", "MUSDB18 source separation (WAV folders), 4 targets, global SDR (frame level)", read_musdb,
                 "musdb18"),
      frame_task("synth-beat", "mert synth beat: beat tracking, frame head + DBN (frame level)", TaskType::Beat,
                 read_synth_beat, "beat", "f_measure"),
      frame_task("synth-chords", "mert synth chords: major/minor chords per frame (frame level)", TaskType::Chords,
                 read_synth_chords, "chords", "majmin"),
      stems_task("synth-stems", "mert synth stems: separate vocals/drums/bass/other, global SDR (frame level)",
                 read_synth_stems, "stems"),
  };
  return specs;
}

const TaskSpec& find_task(const std::string& name) {
  for (const auto& t : task_specs())
    if (t.name == name) return t;
  std::string names;
  for (const auto& t : task_specs()) names += (names.empty() ? "" : ", ") + t.name;
  throw Error("unknown task '" + name + "' (one of: " + names + ")");
}

std::vector<std::string> suite_tasks(const std::string& suite) {
  if (suite == "synth") return {"synth-pitch", "synth-instrument", "synth-key", "synth-tags", "synth-tempo"};
  if (suite == "synth-frame") return {"synth-beat", "synth-chords", "synth-stems"};
  if (suite == "marble") {
    std::vector<std::string> out;
    for (const auto& t : task_specs())
      if (t.name.rfind("synth-", 0) != 0) out.push_back(t.name);
    return out;
  }
  throw Error("unknown suite '" + suite + "' (synth, synth-frame or marble; or give a comma list of tasks)");
}

}  // namespace mert::probe
