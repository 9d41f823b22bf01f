#pragma once
// Offline labelled music benchmark: renders generated, labelled music with libfluidsynth
// (General MIDI soundfonts from Debian) for the MIR tasks of the MARBLE protocol (§6).
// Deterministic: the same task, count, seed, soundfonts and options give byte-identical files
// whatever the number of jobs. See docs/SYNTH.md for every layout.
#include <string>
#include <vector>

namespace mert {

struct SynthOptions {
  std::string task;          // pitch | instrument | key | chords | beat | tags | stems | corpus
  std::string out_dir;
  long count = 0;            // items (0 = the task's default); corpus: derived from hours
  double hours = 0;          // corpus only: total duration
  unsigned long long seed = 0;
  std::string soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
  std::string test_soundfont;  // soundfont of the test split (empty = same as soundfont)
  int jobs = 1;
  double item_sec = 0;       // length of a piece (0 = the task's default); pitch/instrument: fixed 4 s
  bool wav = false;          // WAV instead of FLAC
  int sample_rate = 24000;
  double gain = 0.3;         // FluidSynth master gain (fixed)

  static const std::vector<std::string>& tasks();
  void validate() const;     // throws mert::Error
  std::string to_string() const;
};

struct SynthReport {
  long items = 0;
  double audio_sec = 0;      // total rendered audio (stems: every stem and the mixture counted once per item)
  double wall_sec = 0;
  double cpu_sec = 0;        // summed over workers (render + encode + write)
  long clipped = 0;          // items scaled down to avoid clipping
};

// Generates the dataset; throws mert::Error on bad options or I/O failure.
SynthReport run_synth(const SynthOptions& opts);

}  // namespace mert
