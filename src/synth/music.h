#pragma once
// Musical material for the synthetic benchmark: tempo maps, diatonic chord progressions,
// bass lines, comping, pads, melodies and drum patterns, on General MIDI programs. Everything
// is in beats; `to_events` turns a piece into sample-timed MIDI events for the renderer.
#include <functional>
#include <string>
#include <vector>

#include "synth/renderer.h"
#include "synth/rng.h"

namespace mert::synth {

extern const char* const kPitchNames[12];  // C C# D Eb E F F# G Ab A Bb B

struct Chord {
  int root = 0;                  // pitch class
  std::vector<int> intervals;    // semitones above the root, root (0) included
  std::string quality() const;   // Harte shorthand: maj min dim aug 7 maj7 min7 hdim7 dim7 sus4 sus2
  std::string label() const { return std::string(kPitchNames[root]) + ":" + quality(); }
};

struct ChordSeg {
  double beat0 = 0, beat1 = 0;
  Chord chord;
};

struct Note {
  double beat = 0, dur = 0;  // in beats
  int chan = 0, key = 60, vel = 90;
};

struct Part {
  std::string role;  // drums bass comp pad lead
  int chan = 0, bank = 0, program = 0;
};

struct Piece {
  double sec = 0;              // rendered length
  int beats_per_bar = 4;
  double bpm0 = 120, bpm1 = 120;  // tempo at start and end (linear drift in beats)
  std::vector<double> beat_sec;  // onset time of every beat, seconds (past the end included)
  int tonic = 0;
  bool minor = false;
  std::vector<ChordSeg> chords;
  std::vector<Part> parts;
  std::vector<Note> notes;

  double time_of(double beat) const;  // seconds, interpolated in the tempo map
  int n_beats() const { return (int)beat_sec.size() - 1; }
  int n_bars() const { return n_beats() / beats_per_bar; }
  double bar_sec() const { return beat_sec.size() > (size_t)beats_per_bar ? beat_sec[(size_t)beats_per_bar] : 0; }
  const Part* part(const std::string& role) const;
};

// Which bank/program pairs the soundfont can play.
using PresetCheck = std::function<bool(int bank, int program)>;

// Tempo map for `sec` seconds (+1 bar), linear drift of the beat period from bpm0 to bpm1.
void make_timeline(Piece& p, double sec, double bpm0, double bpm1, int beats_per_bar);

enum class Harmony { Cadential, Pop, Varied };
// Fills p.chords over the whole timeline, in key (p.tonic, p.minor).
void make_progression(Rng& rng, Piece& p, Harmony h);

// Parts. Each adds a Part (with the given channel and program) and its notes.
void add_bass(Rng& rng, Piece& p, int chan, int program, int style = -1);
void add_comp(Rng& rng, Piece& p, int chan, int program, int style = -1);
void add_pad(Rng& rng, Piece& p, int chan, int program);
void add_melody(Rng& rng, Piece& p, int chan, int program, int centre_key, bool end_on_tonic);
void add_drums(Rng& rng, Piece& p, int kit, int style = -1);

// GM program pools by role, filtered by what the soundfont has; never empty (falls back to 0).
int pick_program(Rng& rng, const std::string& role, const PresetCheck& has);
int pick_drum_kit(Rng& rng, const PresetCheck& has);
// GM family (program / 8) names used as tags, plus "drums".
const char* gm_family_tag(int program);
// Typical centre key of a melody for a program.
int lead_centre(int program);

// MIDI events for the parts whose role passes `keep` (all parts if empty).
std::vector<MidiEvent> to_events(const Piece& p, int sample_rate, const std::function<bool(const Part&)>& keep = {});

}  // namespace mert::synth
