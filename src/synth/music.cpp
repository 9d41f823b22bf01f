#include "synth/music.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace mert::synth {

const char* const kPitchNames[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};

namespace {
const int kMajor[7] = {0, 2, 4, 5, 7, 9, 11};
const int kMinor[7] = {0, 2, 3, 5, 7, 8, 10};  // natural minor; V and vii° are raised below

int mod12(int x) { return ((x % 12) + 12) % 12; }

// Pitch class of scale degree d (any integer) in the piece's key; minor uses the raised
// leading tone when `raise7` (harmonic minor).
int degree_pc(const Piece& p, int d, bool raise7) {
  const int dd = ((d % 7) + 7) % 7;
  int pc = p.minor ? kMinor[dd] : kMajor[dd];
  if (p.minor && raise7 && dd == 6) pc = 11;
  return mod12(p.tonic + pc);
}

bool in_scale(const Piece& p, int key) {
  for (int d = 0; d < 7; ++d)
    if (degree_pc(p, d, true) == mod12(key) || degree_pc(p, d, false) == mod12(key)) return true;
  return false;
}

// Diatonic chord on degree d (0 = tonic), optionally with a seventh. In minor the dominant
// (and the leading-tone chord) use the raised seventh degree, which is what makes a minor
// key distinct from its relative major.
Chord diatonic(const Piece& p, int d, bool seventh) {
  const bool raise = p.minor && (d % 7 == 4 || d % 7 == 6);
  Chord c;
  c.root = degree_pc(p, d, raise);
  c.intervals.push_back(0);
  for (int k : {2, 4, 6}) {
    if (k == 6 && !seventh) break;
    c.intervals.push_back(mod12(degree_pc(p, d + k, raise) - c.root));
  }
  return c;
}

Chord make_chord(int root, std::vector<int> iv) {
  Chord c;
  c.root = mod12(root);
  c.intervals = std::move(iv);
  return c;
}

std::vector<int> chord_pcs(const Chord& c) {
  std::vector<int> v;
  for (int i : c.intervals) v.push_back(mod12(c.root + i));
  return v;
}

// The key nearest to `target` (MIDI) whose pitch class is `pc`.
int nearest_key(int pc, int target) {
  int k = target - mod12(target - pc);
  if (target - k > 6) k += 12;
  return k;
}

void add_note(Piece& p, double beat, double dur, int chan, int key, int vel) {
  if (key < 0 || key > 127 || dur <= 0) return;
  if (beat >= p.n_beats()) return;
  p.notes.push_back({beat, dur, chan, key, std::clamp(vel, 1, 127)});
}

const ChordSeg& chord_at(const Piece& p, double beat) {
  for (const auto& s : p.chords)
    if (beat >= s.beat0 - 1e-9 && beat < s.beat1 - 1e-9) return s;
  return p.chords.back();
}

}  // namespace

std::string Chord::quality() const {
  std::vector<int> iv(intervals.begin(), intervals.end());
  std::sort(iv.begin(), iv.end());
  iv.erase(std::unique(iv.begin(), iv.end()), iv.end());
  auto is = [&](std::vector<int> x) { return iv == x; };
  if (is({0, 4, 7})) return "maj";
  if (is({0, 3, 7})) return "min";
  if (is({0, 3, 6})) return "dim";
  if (is({0, 4, 8})) return "aug";
  if (is({0, 4, 7, 10})) return "7";
  if (is({0, 4, 7, 11})) return "maj7";
  if (is({0, 3, 7, 10})) return "min7";
  if (is({0, 3, 6, 10})) return "hdim7";
  if (is({0, 3, 6, 9})) return "dim7";
  if (is({0, 3, 7, 11})) return "minmaj7";
  if (is({0, 5, 7})) return "sus4";
  if (is({0, 2, 7})) return "sus2";
  std::string s = "(";
  for (size_t i = 1; i < iv.size(); ++i) s += (i > 1 ? "," : "") + std::to_string(iv[i]);
  return s + ")";
}

double Piece::time_of(double beat) const {
  if (beat <= 0) return beat_sec.empty() ? 0 : beat_sec[0];
  const int n = (int)beat_sec.size() - 1;
  int k = std::min((int)std::floor(beat), n - 1);
  const double f = beat - k;
  return beat_sec[k] + f * (beat_sec[k + 1] - beat_sec[k]);
}

const Part* Piece::part(const std::string& role) const {
  for (const auto& x : parts)
    if (x.role == role) return &x;
  return nullptr;
}

void make_timeline(Piece& p, double sec, double bpm0, double bpm1, int beats_per_bar) {
  p.sec = sec;
  p.bpm0 = bpm0;
  p.bpm1 = bpm1;
  p.beats_per_bar = beats_per_bar;
  // Estimate the beat count from the mean tempo, then lay the beats out with the period
  // interpolated linearly over that count. Whole bars, at least one bar past the end.
  const double mean_bpm = 0.5 * (bpm0 + bpm1);
  int n = (int)std::ceil(sec * mean_bpm / 60.0) + beats_per_bar;
  n = (n + beats_per_bar - 1) / beats_per_bar * beats_per_bar;
  p.beat_sec.assign(n + 1, 0.0);
  for (int k = 0; k < n; ++k) {
    const double bpm = bpm0 + (bpm1 - bpm0) * (double)k / n;
    p.beat_sec[k + 1] = p.beat_sec[k] + 60.0 / bpm;
  }
}

void make_progression(Rng& rng, Piece& p, Harmony h) {
  static const std::vector<std::vector<int>> major_t = {{0, 3, 4, 0}, {0, 5, 3, 4}, {0, 4, 5, 3}, {0, 1, 4, 0}, {0, 3, 0, 4},
                                                        {0, 2, 3, 4}, {0, 5, 1, 4}, {0, 3, 1, 4}, {0, 4, 3, 4}};
  static const std::vector<std::vector<int>> minor_t = {{0, 3, 4, 0}, {0, 5, 2, 6}, {0, 6, 5, 4}, {0, 3, 6, 2},
                                                        {0, 1, 4, 0}, {0, 5, 3, 4}, {0, 3, 0, 4}, {0, 5, 6, 4}};
  p.chords.clear();
  const int bpb = p.beats_per_bar;
  const int n_bars = p.n_bars();
  double beat = 0;
  int bar = 0;
  const double seventh_p = h == Harmony::Varied ? 0.3 : (h == Harmony::Cadential ? 0.15 : 0.1);
  while (bar < n_bars) {
    const auto& tmpl = rng.pick(p.minor ? minor_t : major_t);
    std::vector<int> degs = tmpl;
    if (h == Harmony::Cadential) {  // 4-bar phrases: I x V I or I x I V, x = IV or ii
      const int x = rng.chance(0.6) ? 3 : 1;
      degs = rng.chance(0.7) ? std::vector<int>{0, x, 4, 0} : std::vector<int>{0, 0, x, 4};
    }
    for (size_t i = 0; i < degs.size() && bar < n_bars; ++i) {
      const int d = degs[i];
      // Duration in bars: cadential phrases hold the final tonic for two bars.
      double beats = bpb;
      if (h == Harmony::Varied) {
        const int r = rng.integer(0, 5);
        if (r == 0 && bpb % 2 == 0) beats = bpb / 2;  // half-bar chords
        else if (r == 5) beats = 2 * bpb;
      }
      Chord c = diatonic(p, d, d != 0 && rng.chance(seventh_p));
      if (d == 4 && h != Harmony::Pop && rng.chance(0.4)) c = diatonic(p, 4, true);  // V7
      if (h == Harmony::Varied) {
        const double u = rng.uniform();
        if (u < 0.08 && d == 4) c = make_chord(c.root, {0, 5, 7});                                        // Vsus4
        else if (u < 0.16 && d == 1) c = make_chord(degree_pc(p, 1, false), {0, 4, 7, 10});               // V/V
        else if (u < 0.2 && d == 3 && !p.minor) c = make_chord(degree_pc(p, 3, false), {0, 3, 7});      // borrowed iv
        else if (u < 0.24) c = make_chord(c.root, {0, 2, 7});                                               // sus2
      }
      p.chords.push_back({beat, beat + beats, c});
      beat += beats;
      bar = (int)std::floor(beat / bpb + 1e-9);
    }
  }
  // Cadential: whatever the length, the rendered music ends V (one bar) – I (the last bar).
  if (h == Harmony::Cadential && p.bar_sec() > 0) {
    const int last = std::max(1, (int)std::lround(p.sec / p.bar_sec())) - 1;  // last bar that (mostly) sounds
    std::vector<ChordSeg> out;
    for (const auto& s : p.chords) {
      if (s.beat0 >= (last - 1) * bpb) break;
      out.push_back(s);
      out.back().beat1 = std::min<double>(s.beat1, (last - 1) * bpb);
    }
    if (last >= 1) {  // cadence bar: IV or ii, then V
      const double mid = (last - 1) * bpb + (bpb == 3 ? 1 : bpb / 2);
      out.push_back({(double)(last - 1) * bpb, mid, diatonic(p, rng.chance(0.6) ? 3 : 1, false)});
      out.push_back({mid, (double)last * bpb, diatonic(p, 4, rng.chance(0.4))});
    }
    out.push_back({(double)last * bpb, (double)p.n_beats(), diatonic(p, 0, false)});
    p.chords = out;
  }
  // The timeline holds whole bars; clip the last chord to it.
  const double end = p.n_beats();
  while (!p.chords.empty() && p.chords.back().beat0 >= end) p.chords.pop_back();
  if (!p.chords.empty()) p.chords.back().beat1 = std::min(p.chords.back().beat1, end);
}

void add_bass(Rng& rng, Piece& p, int chan, int program, int style) {
  p.parts.push_back({"bass", chan, 0, program});
  if (style < 0) style = rng.integer(0, 4);
  const int bpb = p.beats_per_bar;
  const int base = 36 + rng.integer(-4, 4);  // around C2
  for (const auto& seg : p.chords) {
    const int root = nearest_key(seg.chord.root, base + 5);
    const int fifth = root + 7 > 55 ? root - 5 : root + 7;
    for (double b = seg.beat0; b < seg.beat1 - 1e-9; b += 1.0) {
      const bool down = std::fmod(b, bpb) < 1e-9;
      const bool first = std::fabs(b - seg.beat0) < 1e-9;
      const int vel = (down ? 100 : 84) + rng.integer(-6, 6);
      const double left = seg.beat1 - b;
      switch (style) {
        case 0:  // roots, struck on every downbeat and chord change, held
          if (down || first) add_note(p, b, std::min<double>(left, bpb) * 0.95, chan, root, vel);
          break;
        case 1:  // root on every beat
          add_note(p, b, 0.85, chan, root, vel);
          break;
        case 2:  // root / fifth alternating
          add_note(p, b, 0.9, chan, (down || first || ((int)std::lround(b - seg.beat0) % 2 == 0)) ? root : fifth, vel);
          break;
        case 5:  // tonic pedal, one note a bar
          if (down) add_note(p, b, bpb * 0.95, chan, nearest_key(p.tonic, base + 5), vel);
          break;
        case 3:  // eighth notes, octave on the off-beat
          add_note(p, b, 0.45, chan, root, vel);
          add_note(p, b + 0.5, 0.45, chan, root + 12, vel - 14);
          break;
        default: {  // walking: root on chord start, chord/scale tones after, approach note last
          int key = root;
          if (!(down || first)) {
            if (left <= 1.0 + 1e-9) {
              const ChordSeg& nx = chord_at(p, seg.beat1);
              key = nearest_key(nx.chord.root, base + 5) + (rng.chance(0.5) ? 1 : -1);
            } else {
              const auto pcs = chord_pcs(seg.chord);
              key = nearest_key(pcs[(size_t)rng.integer(0, (int)pcs.size() - 1)], root + 5);
            }
          }
          add_note(p, b, 0.9, chan, key, vel);
        }
      }
    }
  }
}

namespace {
std::vector<int> voicing(const Chord& c, int centre) {
  std::vector<int> keys;
  for (int pc : chord_pcs(c)) keys.push_back(nearest_key(pc, centre));
  std::sort(keys.begin(), keys.end());
  return keys;
}
}  // namespace

void add_comp(Rng& rng, Piece& p, int chan, int program, int style) {
  p.parts.push_back({"comp", chan, 0, program});
  if (style < 0) style = rng.integer(0, 3);
  const int bpb = p.beats_per_bar;
  const int centre = 62 + rng.integer(-3, 3);
  for (const auto& seg : p.chords) {
    const auto keys = voicing(seg.chord, centre);
    for (double b = seg.beat0; b < seg.beat1 - 1e-9; b += 1.0) {
      const bool down = std::fmod(b, bpb) < 1e-9;
      const bool first = std::fabs(b - seg.beat0) < 1e-9;
      const int vel = (down ? 82 : 70) + rng.integer(-5, 5);
      const double left = seg.beat1 - b;
      switch (style) {
        case 0:  // block chords held, re-struck each bar
          if (down || first)
            for (int k : keys) add_note(p, b, std::min<double>(left, bpb) * 0.95, chan, k, vel);
          break;
        case 1:  // a chord on every beat
          for (int k : keys) add_note(p, b, 0.8, chan, k, vel);
          break;
        case 2:  // eighth-note arpeggio
          for (int h = 0; h < 2; ++h) {
            const size_t i = (size_t)(((int)std::lround((b - seg.beat0) * 2) + h) % (int)keys.size());
            add_note(p, b + 0.5 * h, 0.5, chan, keys[i], vel - 6 * h);
          }
          break;
        default:  // off-beat stabs with the root on the chord start
          if (first) add_note(p, b, 0.4, chan, keys[0], vel);
          for (int k : keys) add_note(p, b + 0.5, 0.35, chan, k, vel - 8);
      }
    }
  }
}

void add_pad(Rng& rng, Piece& p, int chan, int program) {
  p.parts.push_back({"pad", chan, 0, program});
  const int centre = 55 + rng.integer(-2, 4);
  for (const auto& seg : p.chords)
    for (int k : voicing(seg.chord, centre)) add_note(p, seg.beat0, (seg.beat1 - seg.beat0) * 0.98, chan, k, 60 + rng.integer(-5, 8));
}

void add_melody(Rng& rng, Piece& p, int chan, int program, int centre, bool end_on_tonic) {
  p.parts.push_back({"lead", chan, 0, program});
  static const std::vector<std::vector<double>> cells = {{1}, {0.5, 0.5}, {2}, {1.5, 0.5}, {0.75, 0.25}, {-1}, {1}, {0.5, 0.5}};
  const int bpb = p.beats_per_bar;
  const int n_bars = p.n_bars();
  int key = nearest_key(p.tonic, centre);
  for (int bar = 0; bar < n_bars; ++bar) {
    const bool phrase_end = bar % 4 == 3;
    double b = bar * bpb;
    const double bar_end = b + bpb;
    while (b < bar_end - 1e-9) {
      std::vector<double> cell = rng.pick(cells);
      if (phrase_end && b - bar * bpb >= 1.0 - 1e-9) cell = {bar_end - b};  // hold the phrase's last note
      for (double d : cell) {
        if (b >= bar_end - 1e-9) break;
        const double dur = std::min(std::fabs(d), bar_end - b);
        if (d > 0) {
          const bool strong = std::fabs(b - std::round(b)) < 1e-9;
          const ChordSeg& seg = chord_at(p, b);
          if (phrase_end && dur == bar_end - b && end_on_tonic && seg.chord.root == p.tonic) {
            key = nearest_key(p.tonic, key);
          } else if (strong) {  // chord tone near the previous note
            const auto pcs = chord_pcs(seg.chord);
            key = nearest_key(pcs[(size_t)rng.integer(0, (int)pcs.size() - 1)], key + rng.integer(-3, 3));
          } else {  // scale step
            int step = rng.pick(std::vector<int>{-2, -1, -1, 1, 1, 2});
            int k = key + step;
            while (!in_scale(p, k)) k += step > 0 ? 1 : -1;
            key = k;
          }
          if (key > centre + 10) key -= 12;
          if (key < centre - 10) key += 12;
          add_note(p, b, dur * 0.92, chan, key, (strong ? 92 : 80) + rng.integer(-8, 8));
        }
        b += dur;
      }
    }
  }
}

void add_drums(Rng& rng, Piece& p, int kit, int style) {
  p.parts.push_back({"drums", 9, 128, kit});
  if (style < 0) style = rng.integer(0, 3);
  const int bpb = p.beats_per_bar;
  const double bpm = 0.5 * (p.bpm0 + p.bpm1);
  const double hat_step = bpm < 100 && rng.chance(0.5) ? 0.25 : (bpm > 170 || rng.chance(0.2) ? 1.0 : 0.5);
  const int hat = rng.chance(0.25) ? 51 : 42;  // ride or closed hi-hat
  const int n_bars = p.n_bars();
  for (int bar = 0; bar < n_bars; ++bar) {
    const double b0 = bar * bpb;
    const bool fill = bar % 8 == 7 && rng.chance(0.4);
    if (bar % 8 == 0 && (bar == 0 || rng.chance(0.5))) add_note(p, b0, 1, 9, 49, 100);
    for (int beat = 0; beat < bpb; ++beat) {
      const double b = b0 + beat;
      // Kick on every downbeat; the rest depends on the style and the meter.
      bool kick = beat == 0;
      if (style == 1) kick = true;                                 // four on the floor
      if (style == 0 && bpb >= 4 && beat == 2) kick = true;        // rock
      if (style == 3 && bpb >= 4 && beat == bpb - 2) kick = true;  // half-time-ish
      bool snare = bpb == 3 ? beat >= 1 : (beat % 2 == 1);
      if (bpb == 5) snare = beat == 1 || beat == 3;
      if (style == 3 && bpb == 4) snare = beat == 2;
      if (kick) add_note(p, b, 0.5, 9, 36, beat == 0 ? 115 : 100);
      if (style == 0 && bpb >= 4 && beat == 2 && rng.chance(0.3)) add_note(p, b + 0.5, 0.5, 9, 36, 90);
      if (snare && !(fill && beat == bpb - 1)) add_note(p, b, 0.5, 9, bpb == 3 ? 42 : 38, beat == 0 ? 105 : 98);
      if (fill && beat == bpb - 1)
        for (int s = 0; s < 4; ++s) add_note(p, b + 0.25 * s, 0.25, 9, s < 2 ? 38 : 45, 80 + 8 * s);
      if (!(bpb == 3 && snare))
        for (double h = 0; h < 1.0 - 1e-9; h += hat_step)
          add_note(p, b + h, hat_step, 9, hat, (h == 0 ? (beat == 0 ? 96 : 84) : 62) + rng.integer(-6, 6));
    }
  }
}

int pick_program(Rng& rng, const std::string& role, const PresetCheck& has) {
  static const std::vector<int> bass = {32, 33, 33, 34, 35, 36, 37, 38, 39};
  static const std::vector<int> comp = {0, 1, 2, 4, 5, 6, 7, 11, 12, 16, 17, 18, 19, 24, 25, 26, 27, 28, 29, 30, 46, 48, 49, 88, 89};
  static const std::vector<int> pad = {48, 49, 50, 51, 52, 53, 54, 19, 16, 61, 88, 89, 90, 91, 92, 94, 95};
  static const std::vector<int> lead = {40, 41, 42, 52, 53, 54, 56, 57, 60, 64, 65, 66, 68, 70, 71, 72, 73, 74, 75,
                                        78, 79, 80, 81, 82, 85, 87, 9, 11, 13, 21, 22, 104, 105, 107, 108, 110};
  const auto& pool = role == "bass" ? bass : role == "comp" ? comp : role == "pad" ? pad : lead;
  for (int tries = 0; tries < 16; ++tries) {
    const int prog = rng.pick(pool);
    if (!has || has(0, prog)) return prog;
  }
  for (int prog : pool)
    if (!has || has(0, prog)) return prog;
  return 0;
}

int pick_drum_kit(Rng& rng, const PresetCheck& has) {
  static const std::vector<int> kits = {0, 0, 8, 16, 24, 25, 32, 40};
  const int k = rng.pick(kits);
  return (!has || has(128, k)) ? k : 0;
}

const char* gm_family_tag(int program) {
  static const char* const names[16] = {"piano", "chromatic_percussion", "organ", "guitar", "bass", "strings",
                                        "ensemble", "brass", "reed", "pipe", "synth_lead", "synth_pad",
                                        "synth_effects", "ethnic", "percussive", "sound_effects"};
  return names[std::clamp(program, 0, 127) / 8];
}

int lead_centre(int program) {
  if (program == 42) return 55;               // cello
  if (program == 57 || program == 60) return 60;  // trombone, horn
  if (program == 66) return 62;               // tenor sax
  if (program >= 52 && program <= 54) return 65;  // voices
  if (program >= 72 && program <= 79) return 76;  // pipes
  if (program == 9 || program == 13) return 79;   // glockenspiel, xylophone
  return 70;
}

std::vector<MidiEvent> to_events(const Piece& p, int sample_rate, const std::function<bool(const Part&)>& keep) {
  std::vector<MidiEvent> ev;
  std::set<int> chans;
  for (const auto& part : p.parts) {
    if (keep && !keep(part)) continue;
    chans.insert(part.chan);
    ev.push_back({0, MidiEvent::Program, part.chan, part.bank, part.program});
    ev.push_back({0, MidiEvent::Control, part.chan, 7, 100});  // fixed channel volume
    ev.push_back({0, MidiEvent::Control, part.chan, 10, 64});  // centre pan
  }
  const int64_t end = (int64_t)std::llround(p.sec * sample_rate);
  for (const auto& n : p.notes) {
    if (!chans.count(n.chan)) continue;
    const int64_t on = (int64_t)std::llround(p.time_of(n.beat) * sample_rate) / kBlock * kBlock;
    if (on >= end) continue;
    int64_t off = (int64_t)std::llround(p.time_of(n.beat + n.dur) * sample_rate) / kBlock * kBlock;
    if (off <= on) off = on + kBlock;
    ev.push_back({on, MidiEvent::NoteOn, n.chan, n.key, n.vel});
    ev.push_back({off, MidiEvent::NoteOff, n.chan, n.key, 0});
  }
  return ev;
}

}  // namespace mert::synth
