#pragma once
// A probing dataset: which audio files, their split and their labels, as read from a task's
// on-disk layout (NSynth, GTZAN, GiantSteps, MTT, EMO, VocalSet, MTG-Jamendo, and the
// `mert synth` outputs). Plain C++, no libtorch.
#include <cstdint>
#include <string>
#include <vector>

namespace mert::probe {

// Clip-level types score one label per item; Beat and Chords label every model frame, from the
// item's annotation file; Stems separates the item's audio into the stems of its track folder.
enum class TaskType { Multiclass, Multilabel, Regression, Key, Beat, Chords, Stems };
inline bool is_frame_level(TaskType t) { return t == TaskType::Beat || t == TaskType::Chords || t == TaskType::Stems; }

struct ProbeItem {
  std::string id;             // unique within the dataset, usable in a file name (no '/' needed)
  std::string path;           // audio file
  std::string split;          // "train" | "valid" | "test"
  int64_t label = -1;         // Multiclass / Key: class index into class_names
  std::vector<float> targets; // Multilabel: 0/1 per class; Regression: one value per output
  std::string annotation;     // Beat: a .beats file; Chords: a .lab file (both checked by the
                              // reader); Stems: the track folder holding the target stems
  // A segment of the file (VocalSet-style chunked recordings); duration 0 = to the end.
  double start_sec = 0, duration_sec = 0;
};

struct ProbeDataset {
  TaskType type = TaskType::Multiclass;
  std::vector<std::string> class_names;  // classes (Multiclass/Multilabel/Key) or outputs (Regression)
  std::vector<ProbeItem> items;          // sorted by id; every split non-empty
};

// The layouts a reader understands; each reader throws mert::Error naming the file and line
// for anything malformed or missing, and checks that every referenced audio file exists.
using DatasetReader = ProbeDataset (*)(const std::string& root);

}  // namespace mert::probe
