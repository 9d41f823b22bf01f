#pragma once
// Offline, deterministic rendering with libfluidsynth: one synth per worker thread, reset
// between items; events are applied at 64-sample block boundaries (FluidSynth's own block),
// chosen by us, never by a sequencer or a timer. Reverb and chorus are off; gain is fixed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mert::synth {

constexpr int kBlock = 64;  // FluidSynth's internal block (FLUID_BUFSIZE)

struct MidiEvent {
  enum Type : int { Program = 0, Control = 1, NoteOff = 2, NoteOn = 3 };
  int64_t sample = 0;  // rounded down to a multiple of kBlock by the renderer
  Type type = NoteOn;
  int chan = 0;
  int a = 0, b = 0;  // key/velocity, controller/value, bank/program
};

class Renderer {
 public:
  Renderer(const std::string& soundfont, int sample_rate, double gain);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // True if the soundfont has this bank/program (drum kits are bank 128).
  bool has_preset(int bank, int program) const;
  // Renders `n_samples` mono samples (mean of left and right) from a fresh synth state.
  std::vector<float> render(std::vector<MidiEvent> events, int64_t n_samples);
  const std::string& soundfont() const { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace mert::synth
