// The outputs of `mert synth` (docs/SYNTH.md, src/synth/tasks.cpp): pitch/instrument in NSynth's
// layout, key as <split>/key_NNNNNN.{flac,wav} + .key, tags as an MTT-like annotations_final.csv,
// tempo (a regression task) from the beat task's <split>/beat_NNNNNN.bpm, and the frame-level
// tasks from its .beats files and the chords task's .lab files.
#include <cmath>
#include <cstdlib>

#include "mert/error.h"
#include "mert/metrics.h"
#include "probe/frame_targets.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

using namespace detail;

// Every <split>/<prefix>*<label_ext> with its audio (<same stem>.flac or .wav); `label` turns the
// label file's first line into the item's label or targets.
template <class Label>
ProbeDataset read_split_dirs(const std::string& root, const std::string& name, const std::string& task,
                             const std::string& label_ext, TaskType type, std::vector<std::string> classes,
                             const Label& label) {
  DatasetBuilder b(name, root, type, std::move(classes));
  const std::string prefix = task + "_";
  for (const char* split : kSplits) {
    const std::string dir = join(root, split);
    if (!is_dir(dir))
      throw Error(name + ": " + dir + " not found (expected the output of `mert synth " + task + "`)");
    for (const auto& f : list_dir(dir, false)) {
      if (f.rfind(prefix, 0) != 0 || f.size() <= label_ext.size() ||
          f.compare(f.size() - label_ext.size(), label_ext.size(), label_ext) != 0)
        continue;
      const std::string file = join(dir, f);
      const std::string id = f.substr(0, f.size() - label_ext.size());
      size_t line = 0;
      const std::string text = read_label_file(file, line);
      ProbeItem item;
      item.id = safe_id(id);
      item.split = split;
      label(text, at_line(file, line), item);
      item.path = first_existing({join(dir, id + ".flac"), join(dir, id + ".wav")});
      b.add(std::move(item), at_line(file, line));
    }
  }
  return b.finish();
}

// Every <split>/<task>_*<ext> annotation file with its audio; `check` parses it (so that a bad
// file fails here, naming itself, rather than in the middle of a sweep).
template <class Check>
ProbeDataset read_annotated_split_dirs(const std::string& root, const std::string& name, const std::string& task,
                                       const std::string& ext, TaskType type, std::vector<std::string> classes,
                                       const Check& check) {
  DatasetBuilder b(name, root, type, std::move(classes));
  const std::string prefix = task + "_";
  for (const char* split : kSplits) {
    const std::string dir = join(root, split);
    if (!is_dir(dir)) throw Error(name + ": " + dir + " not found (expected the output of `mert synth " + task + "`)");
    for (const auto& f : list_dir(dir, false)) {
      if (f.rfind(prefix, 0) != 0 || f.size() <= ext.size() || f.compare(f.size() - ext.size(), ext.size(), ext) != 0)
        continue;
      const std::string id = f.substr(0, f.size() - ext.size());
      ProbeItem item;
      item.id = safe_id(id);
      item.split = split;
      const std::string file = join(dir, f);
      check(file);
      item.annotation = file;
      item.path = first_existing({join(dir, id + ".flac"), join(dir, id + ".wav")});
      b.add(std::move(item), file);
    }
  }
  return b.finish();
}

}  // namespace

ProbeDataset read_synth_beat(const std::string& root) {
  return read_annotated_split_dirs(root, "synth-beat", "beat", ".beats", TaskType::Beat, beat_class_names(),
                                   [](const std::string& f) { metrics::read_beat_times(f); });
}

ProbeDataset read_synth_chords(const std::string& root) {
  return read_annotated_split_dirs(root, "synth-chords", "chords", ".lab", TaskType::Chords, majmin_class_names(),
                                   [](const std::string& f) {
                                     for (const auto& seg : metrics::read_chord_lab(f)) {
                                       try {
                                         metrics::encode_chord(seg.label);
                                       } catch (const Error& e) {
                                         throw Error(f + ": " + e.what());
                                       }
                                     }
                                   });
}

ProbeDataset read_synth_pitch(const std::string& root) {
  return read_nsynth_layout(root, NsynthLabel::Pitch, "synth-pitch", {".flac", ".wav"});
}

ProbeDataset read_synth_instrument(const std::string& root) {
  return read_nsynth_layout(root, NsynthLabel::InstrumentFamily, "synth-instrument", {".flac", ".wav"});
}

ProbeDataset read_synth_key(const std::string& root) {
  return read_split_dirs(root, "synth-key", "key", ".key", TaskType::Key, key_class_names(),
                         [](const std::string& text, const std::string& where, ProbeItem& item) {
                           item.label = parse_key(text, where);
                         });
}

ProbeDataset read_synth_tags(const std::string& root) {
  return read_mtt_layout(root, MttSplit::FirstComponent, "synth-tags");
}

ProbeDataset read_synth_tempo(const std::string& root) {
  return read_split_dirs(root, "synth-tempo", "beat", ".bpm", TaskType::Regression, {"bpm"},
                         [](const std::string& text, const std::string& where, ProbeItem& item) {
                           char* end = nullptr;
                           const double bpm = std::strtod(text.c_str(), &end);
                           if (*end != '\0' || !std::isfinite(bpm) || bpm <= 0)
                             throw Error(where + ": tempo '" + text + "' is not a positive number of BPM");
                           item.targets = {static_cast<float>(bpm)};
                         });
}

}  // namespace mert::probe
