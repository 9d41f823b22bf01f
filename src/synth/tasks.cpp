// The `mert synth` driver: per-task item generators (music + labels), split assignment,
// worker threads, and the dataset-level label files (examples.json, metadata.csv, manifests).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "mert/error.h"
#include "mert/synth.h"
#include "io/atomic_file.h"
#include "synth/audio_out.h"
#include "synth/music.h"
#include "synth/renderer.h"
#include "synth/rng.h"
#include "util/worker_pool.h"

namespace mert {
namespace fs = std::filesystem;
using namespace synth;

const std::vector<std::string>& SynthOptions::tasks() {
  static const std::vector<std::string> t = {"pitch", "instrument", "key", "chords", "beat", "tags", "stems", "corpus"};
  return t;
}

namespace {

long default_count(const std::string& task) {
  if (task == "pitch" || task == "instrument") return 4000;
  if (task == "key") return 1200;
  if (task == "stems") return 100;
  return 1000;
}
double default_sec(const std::string& task) { return task == "pitch" || task == "instrument" ? 4.0 : 30.0; }

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}
std::string pad6(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06ld", i);
  return buf;
}

double thread_cpu_sec() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Times are those of the 64-sample block the renderer actually used.
double qtime(double sec, int sr) { return (double)((int64_t)std::llround(sec * sr) / kBlock * kBlock) / sr; }

struct Result {
  std::string id, split, relpath;  // relpath of the audio (stems: the track folder)
  std::string meta;                // task-specific metadata.csv columns
  nlohmann::json nsynth;           // pitch/instrument only
  std::vector<std::string> tags;   // tags only
  int64_t n_samples = 0;
  double audio_sec = 0;
  bool clipped = false;
};

// NSynth instrument families and the GM programs rendered for each (with NSynth's source).
struct Family {
  const char* name;
  int lo, hi;                                   // pitch range
  std::vector<std::pair<int, int>> programs;    // (GM program, source: 0 acoustic 1 electronic 2 synthetic)
};
const std::vector<Family>& nsynth_families() {
  static const std::vector<Family> f = {
      {"bass", 28, 60, {{32, 0}, {33, 1}, {34, 1}, {35, 1}, {36, 1}, {37, 1}, {38, 2}, {39, 2}}},
      {"brass", 45, 79, {{56, 0}, {57, 0}, {58, 0}, {59, 0}, {60, 0}, {61, 0}, {62, 2}, {63, 2}}},
      {"flute", 60, 96, {{72, 0}, {73, 0}, {74, 0}, {75, 0}, {76, 0}, {77, 0}, {78, 0}, {79, 0}}},
      {"guitar", 40, 84, {{24, 0}, {25, 0}, {26, 1}, {27, 1}, {28, 1}, {29, 1}, {30, 1}, {31, 1}, {104, 0}, {105, 0}, {106, 0}, {107, 0}}},
      {"keyboard", 21, 108, {{0, 0}, {1, 0}, {2, 1}, {3, 0}, {4, 1}, {5, 1}, {6, 0}, {7, 1}}},
      {"mallet", 48, 96, {{8, 0}, {9, 0}, {10, 0}, {11, 0}, {12, 0}, {13, 0}, {14, 0}, {15, 0}, {108, 0}, {112, 0}}},
      {"organ", 36, 96, {{16, 1}, {17, 1}, {18, 1}, {19, 0}, {20, 0}}},
      {"reed", 48, 84, {{64, 0}, {65, 0}, {66, 0}, {67, 0}, {68, 0}, {69, 0}, {70, 0}, {71, 0}, {21, 0}, {22, 0}, {23, 0}, {109, 0}, {111, 0}}},
      {"string", 36, 96, {{40, 0}, {41, 0}, {42, 0}, {43, 0}, {44, 0}, {45, 0}, {46, 0}, {48, 0}, {49, 0}, {50, 2}, {51, 2}, {110, 0}}},
      {"synth_lead", 36, 96, {{80, 2}, {81, 2}, {82, 2}, {83, 2}, {84, 2}, {85, 2}, {86, 2}, {87, 2}}},
      {"vocal", 48, 79, {{52, 0}, {53, 0}, {54, 2}}},
  };
  return f;
}
const char* const kSources[3] = {"acoustic", "electronic", "synthetic"};

const std::vector<std::string>& tag_names() {
  static const std::vector<std::string> t = {"piano", "chromatic_percussion", "organ", "guitar", "bass", "strings", "ensemble",
                                             "brass", "reed", "pipe", "synth_lead", "synth_pad", "ethnic", "drums"};
  return t;
}

float peak_of(const std::vector<float>& x) {
  float m = 0;
  for (float v : x) m = std::max(m, std::fabs(v));
  return m;
}
double rms_of(const std::vector<float>& x, size_t n) {
  double s = 0;
  n = std::min(n, x.size());
  for (size_t i = 0; i < n; ++i) s += (double)x[i] * x[i];
  return n ? std::sqrt(s / n) : 0;
}
// Deterministic guard against clipping: scale the item (all its stems alike) to a 0.98 peak.
bool limit(std::vector<std::vector<float>*> xs, float peak) {
  if (peak <= 0.98f) return false;
  const float g = 0.98f / peak;
  for (auto* x : xs)
    for (float& v : *x) v *= g;
  return true;
}

class Generator {
 public:
  Generator(const SynthOptions& o, fs::path out) : o_(o), out_(std::move(out)) {
    ext_ = audio_ext(o.wav ? AudioFormat::Wav : AudioFormat::Flac);
    sec_ = o.item_sec > 0 ? o.item_sec : default_sec(o.task);
    if (o.task == "pitch" || o.task == "instrument") sec_ = 4.0;
  }
  double item_sec() const { return sec_; }

  Result make(long index, const std::string& split, Renderer& r) {
    Rng rng(o_.seed, o_.task == "instrument" ? "pitch" : o_.task, (uint64_t)index);
    PresetCheck has = [&r](int bank, int prog) { return r.has_preset(bank, prog); };
    const std::string& t = o_.task;
    if (t == "pitch" || t == "instrument") return nsynth(rng, index, split, r, has);
    if (t == "stems") return stems(rng, index, split, r, has);
    return piece(rng, index, split, r, has);
  }

 private:
  int64_t n_samples() const { return (int64_t)std::llround(sec_ * o_.sample_rate); }
  std::string split_dir(const std::string& split) const { return o_.task == "corpus" ? "audio" : split; }

  Result nsynth(Rng& rng, long index, const std::string& split, Renderer& r, const PresetCheck& has) {
    const auto& fams = nsynth_families();
    const int sr = o_.sample_rate;
    for (int attempt = 0; attempt < 32; ++attempt) {
      const int fi = rng.integer(0, (int)fams.size() - 1);
      const Family& f = fams[(size_t)fi];
      const auto [prog, source] = rng.pick(f.programs);
      if (!has(0, prog)) continue;
      const int pitch = rng.integer(f.lo, f.hi);
      static const std::vector<int> vels = {25, 50, 75, 100, 127};
      const int vel = rng.pick(vels);
      std::vector<MidiEvent> ev = {{0, MidiEvent::Program, 0, 0, prog}, {0, MidiEvent::Control, 0, 7, 100},
                                   {0, MidiEvent::Control, 0, 10, 64}, {0, MidiEvent::NoteOn, 0, pitch, vel},
                                   {(int64_t)3 * sr, MidiEvent::NoteOff, 0, pitch, 0}};
      std::vector<float> audio = r.render(ev, 4 * (int64_t)sr);
      if (rms_of(audio, (size_t)sr) < 1e-4) continue;  // preset has no sample for this key
      Result res;
      res.clipped = limit({&audio}, peak_of(audio));
      const std::string inst_str = std::string(f.name) + "_" + kSources[source] + "_" + (prog < 100 ? (prog < 10 ? "00" : "0") : "") + std::to_string(prog);
      char key[96];
      std::snprintf(key, sizeof key, "%s-%03d-%03d-%06ld", inst_str.c_str(), pitch, vel, index);
      res.id = key;
      res.split = split;
      res.relpath = "nsynth-" + split + "/audio/" + res.id + ext_;
      write_audio((out_ / res.relpath).string(), audio, sr, o_.wav ? AudioFormat::Wav : AudioFormat::Flac);
      nlohmann::json j;
      j["note"] = index;
      j["note_str"] = res.id;
      j["instrument"] = prog;
      j["instrument_str"] = inst_str;
      j["pitch"] = pitch;
      j["velocity"] = vel;
      j["sample_rate"] = sr;
      j["qualities"] = std::vector<int>(10, 0);
      j["qualities_str"] = nlohmann::json::array();
      j["instrument_family"] = fi;
      j["instrument_family_str"] = f.name;
      j["instrument_source"] = source;
      j["instrument_source_str"] = kSources[source];
      j["gm_program"] = prog;
      res.nsynth = j;
      res.meta = std::to_string(pitch) + "," + std::to_string(vel) + "," + f.name + "," + kSources[source] + "," + std::to_string(prog);
      res.n_samples = (int64_t)audio.size();
      res.audio_sec = (double)audio.size() / sr;
      return res;
    }
    throw Error("soundfont '" + r.soundfont() + "' has too few melodic General MIDI presets");
  }

  // Key, chords, beat, tags, corpus: one mixed piece with task-specific material and labels.
  Result piece(Rng& rng, long index, const std::string& split, Renderer& r, const PresetCheck& has) {
    const std::string& t = o_.task;
    const int sr = o_.sample_rate;
    Piece p;
    Result res;
    res.id = t + "_" + pad6(index);
    res.split = split;
    res.relpath = split_dir(split) + "/" + res.id + ext_;
    if (t == "key") {
      p.tonic = (int)(index % 12);
      p.minor = (index / 12) % 2 == 1;
      const int bpb = rng.chance(0.2) ? 3 : 4;
      const double bpm = rng.uniform(70, 140);
      make_timeline(p, sec_, bpm, bpm, bpb);
      make_progression(rng, p, Harmony::Cadential);
      add_comp(rng, p, 2, pick_program(rng, "comp", has));
      if (rng.chance(0.8)) add_bass(rng, p, 1, pick_program(rng, "bass", has), rng.chance(0.25) ? 5 : rng.integer(0, 3));
      if (rng.chance(0.85)) {
        const int lead = pick_program(rng, "lead", has);
        add_melody(rng, p, 0, lead, lead_centre(lead), true);
      }
      if (rng.chance(0.3)) add_pad(rng, p, 3, pick_program(rng, "pad", has));
      if (rng.chance(0.4)) add_drums(rng, p, pick_drum_kit(rng, has));
      const std::string key = std::string(kPitchNames[p.tonic]) + (p.minor ? " minor" : " major");
      io::write_text_atomic((out_ / split / (res.id + ".key")).string(), key + "\n");
      res.meta = key;
    } else if (t == "chords") {
      p.tonic = rng.integer(0, 11);
      p.minor = rng.chance(0.4);
      const int bpb = rng.chance(0.25) ? 3 : 4;
      const double bpm = rng.uniform(60, 140);
      make_timeline(p, sec_, bpm, bpm, bpb);
      make_progression(rng, p, Harmony::Varied);
      add_comp(rng, p, 2, pick_program(rng, "comp", has), rng.integer(0, 2));
      if (rng.chance(0.8)) add_bass(rng, p, 1, pick_program(rng, "bass", has), rng.integer(0, 2));
      if (rng.chance(0.3)) add_pad(rng, p, 3, pick_program(rng, "pad", has));
      if (rng.chance(0.4)) {
        const int lead = pick_program(rng, "lead", has);
        add_melody(rng, p, 0, lead, lead_centre(lead), false);
      }
      if (rng.chance(0.4)) add_drums(rng, p, pick_drum_kit(rng, has));
      std::ostringstream lab;
      int n = 0;
      for (const auto& s : p.chords) {
        const double a = qtime(p.time_of(s.beat0), sr), b = std::min(qtime(p.time_of(s.beat1), sr), sec_);
        if (a >= sec_) break;
        lab << fmt("%.6f", a) << "\t" << fmt("%.6f", b) << "\t" << s.chord.label() << "\n";
        ++n;
      }
      io::write_text_atomic((out_ / split / (res.id + ".lab")).string(), lab.str());
      res.meta = std::string(kPitchNames[p.tonic]) + (p.minor ? " minor" : " major") + "," + std::to_string(n);
    } else if (t == "beat") {
      p.tonic = rng.integer(0, 11);
      p.minor = rng.chance(0.4);
      static const std::vector<double> meter_w = {0.1, 0.25, 0.55, 0.1};  // 2, 3, 4, 5 beats per bar
      const int bpb = 2 + rng.weighted(meter_w);
      const double bpm0 = rng.uniform(60, 200);
      double bpm1 = bpm0;
      if (rng.chance(0.3)) bpm1 = std::clamp(bpm0 * (1 + (rng.chance(0.5) ? 1 : -1) * rng.uniform(0.02, 0.08)), 55.0, 210.0);
      make_timeline(p, sec_, bpm0, bpm1, bpb);
      make_progression(rng, p, Harmony::Pop);
      add_drums(rng, p, pick_drum_kit(rng, has));
      add_bass(rng, p, 1, pick_program(rng, "bass", has), rng.integer(0, 3));
      if (rng.chance(0.25)) add_comp(rng, p, 2, pick_program(rng, "comp", has), 0);
      std::ostringstream beats;
      double first = -1, last = -1;
      int nb = 0;
      for (int k = 0; k < p.n_beats(); ++k) {
        const double tt = qtime(p.beat_sec[(size_t)k], sr);
        if (tt >= sec_) break;
        beats << fmt("%.6f", tt) << "\t" << (k % bpb + 1) << "\n";
        if (first < 0) first = tt;
        last = tt;
        ++nb;
      }
      const double bpm = nb > 1 ? 60.0 * (nb - 1) / (last - first) : bpm0;
      io::write_text_atomic((out_ / split / (res.id + ".beats")).string(), beats.str());
      io::write_text_atomic((out_ / split / (res.id + ".bpm")).string(), fmt("%.3f", bpm) + "\n");
      res.meta = fmt("%.3f", bpm) + "," + fmt("%.3f", bpm0) + "," + fmt("%.3f", bpm1) + "," + std::to_string(bpb);
    } else if (t == "tags") {
      p.tonic = rng.integer(0, 11);
      p.minor = rng.chance(0.4);
      const int bpb = rng.chance(0.2) ? 3 : 4;
      const double bpm = rng.uniform(60, 180);
      make_timeline(p, sec_, bpm, bpm, bpb);
      make_progression(rng, p, rng.chance(0.5) ? Harmony::Pop : Harmony::Varied);
      bool d = rng.chance(0.5), b = rng.chance(0.6), c = rng.chance(0.7), pa = rng.chance(0.4), l = rng.chance(0.7);
      if ((int)b + c + pa + l < 2) c = l = true;
      if (l) {
        const int lead = pick_program(rng, "lead", has);
        add_melody(rng, p, 0, lead, lead_centre(lead), false);
      }
      if (b) add_bass(rng, p, 1, pick_program(rng, "bass", has));
      if (c) add_comp(rng, p, 2, pick_program(rng, "comp", has));
      if (pa) add_pad(rng, p, 3, pick_program(rng, "pad", has));
      if (d) add_drums(rng, p, pick_drum_kit(rng, has));
      std::set<std::string> tags;
      for (const auto& part : p.parts) tags.insert(part.role == "drums" ? "drums" : gm_family_tag(part.program));
      res.tags.assign(tags.begin(), tags.end());
      std::string s;
      for (const auto& x : res.tags) s += (s.empty() ? "" : ";") + x;
      res.meta = s;
    } else {  // corpus: unlabelled, varied in style, tempo, key, meter and instrumentation
      p.tonic = rng.integer(0, 11);
      p.minor = rng.chance(0.4);
      const int style = rng.integer(0, 5);
      static const char* const styles[6] = {"band", "ballad", "electronic", "jazz", "waltz", "solo"};
      const int bpb = style == 4 ? 3 : (rng.chance(0.15) ? 3 : 4);
      const double bpm = style == 2 ? rng.uniform(110, 140) : style == 1 ? rng.uniform(60, 90) : rng.uniform(70, 180);
      const double bpm1 = rng.chance(0.2) ? bpm * rng.uniform(0.95, 1.05) : bpm;
      make_timeline(p, sec_, bpm, bpm1, bpb);
      make_progression(rng, p, style == 3 ? Harmony::Varied : (rng.chance(0.5) ? Harmony::Pop : Harmony::Cadential));
      auto lead = [&](std::vector<int> pool) {  // empty pool: any lead instrument
        int prog = pool.empty() ? -1 : rng.pick(pool);
        if (prog < 0 || !has(0, prog)) prog = pick_program(rng, "lead", has);
        add_melody(rng, p, 0, prog, lead_centre(prog), rng.chance(0.5));
      };
      switch (style) {
        case 0:
          add_drums(rng, p, pick_drum_kit(rng, has), rng.integer(0, 3));
          add_bass(rng, p, 1, pick_program(rng, "bass", has), rng.integer(0, 3));
          add_comp(rng, p, 2, pick_program(rng, "comp", has));
          if (rng.chance(0.7)) lead({});
          if (rng.chance(0.3)) add_pad(rng, p, 3, pick_program(rng, "pad", has));
          break;
        case 1:
          add_comp(rng, p, 2, rng.pick(std::vector<int>{0, 1, 4, 46}), 2);
          add_pad(rng, p, 3, rng.pick(std::vector<int>{48, 49, 52, 89}));
          if (rng.chance(0.7)) lead({40, 42, 73, 71, 68, 53});
          break;
        case 2:
          add_drums(rng, p, rng.pick(std::vector<int>{24, 25}), 1);
          add_bass(rng, p, 1, rng.pick(std::vector<int>{38, 39}), 3);
          add_pad(rng, p, 3, rng.integer(88, 95));
          if (rng.chance(0.8)) lead({80, 81, 82, 84, 87});
          break;
        case 3:
          add_drums(rng, p, rng.pick(std::vector<int>{32, 40}), 0);
          add_bass(rng, p, 1, 32, 4);
          add_comp(rng, p, 2, rng.pick(std::vector<int>{0, 4, 11, 26}), 3);
          lead({65, 66, 56, 57, 11, 73});
          break;
        case 4:
          add_bass(rng, p, 1, rng.pick(std::vector<int>{45, 32, 42}), 0);
          add_comp(rng, p, 2, rng.pick(std::vector<int>{48, 46, 0, 24}), 1);
          lead({73, 68, 71, 40, 21});
          break;
        default:
          add_comp(rng, p, 2, rng.pick(std::vector<int>{0, 1, 2, 4, 6}), rng.integer(0, 2));
          lead({0});
      }
      res.meta = std::string(styles[style]) + "," + fmt("%.1f", bpm) + "," + std::to_string(bpb) + "," + kPitchNames[p.tonic] +
                 (p.minor ? " minor" : " major");
    }
    // Programs may be missing from a small soundfont; swap for one it has.
    for (auto& part : p.parts)
      if (part.bank == 0 && !has(0, part.program)) part.program = pick_program(rng, part.role, has);
    std::vector<float> audio = r.render(to_events(p, sr), n_samples());
    res.clipped = limit({&audio}, peak_of(audio));
    write_audio((out_ / res.relpath).string(), audio, sr, o_.wav ? AudioFormat::Wav : AudioFormat::Flac);
    res.n_samples = (int64_t)audio.size();
    res.audio_sec = (double)audio.size() / sr;
    return res;
  }

  // MUSDB18-like: <split>/<track>/{mixture,drums,bass,vocals,other}; mixture = sum of stems.
  Result stems(Rng& rng, long index, const std::string& split, Renderer& r, const PresetCheck& has) {
    const int sr = o_.sample_rate;
    Piece p;
    p.tonic = rng.integer(0, 11);
    p.minor = rng.chance(0.4);
    const int bpb = rng.chance(0.2) ? 3 : 4;
    const double bpm = rng.uniform(70, 170);
    make_timeline(p, sec_, bpm, bpm, bpb);
    make_progression(rng, p, rng.chance(0.5) ? Harmony::Pop : Harmony::Cadential);
    static const std::vector<int> voices = {52, 53, 54, 85, 40, 65, 66, 56, 73, 71, 81, 68};
    int vox = rng.pick(voices);
    if (!has(0, vox)) vox = pick_program(rng, "lead", has);
    add_melody(rng, p, 0, vox, lead_centre(vox), true);
    add_bass(rng, p, 1, pick_program(rng, "bass", has));
    add_comp(rng, p, 2, pick_program(rng, "comp", has));
    if (rng.chance(0.5)) add_pad(rng, p, 3, pick_program(rng, "pad", has));
    add_drums(rng, p, pick_drum_kit(rng, has));
    static const char* const names[4] = {"drums", "bass", "vocals", "other"};
    auto stem_of = [](const Part& part) {
      return part.role == "drums" ? 0 : part.role == "bass" ? 1 : part.role == "lead" ? 2 : 3;
    };
    std::vector<std::vector<float>> st(4);
    for (int s = 0; s < 4; ++s)
      st[(size_t)s] = r.render(to_events(p, sr, [&](const Part& part) { return stem_of(part) == s; }), n_samples());
    std::vector<float> mix(st[0].size(), 0.f);
    for (const auto& x : st)
      for (size_t i = 0; i < mix.size(); ++i) mix[i] += x[i];
    Result res;
    res.clipped = limit({&mix, &st[0], &st[1], &st[2], &st[3]}, std::max({peak_of(mix), peak_of(st[0]), peak_of(st[1]), peak_of(st[2]), peak_of(st[3])}));
    res.id = "stems_" + pad6(index);
    res.split = split;
    res.relpath = split + "/" + res.id;
    const fs::path dir = out_ / res.relpath;
    fs::create_directories(dir);
    const AudioFormat af = o_.wav ? AudioFormat::Wav : AudioFormat::Flac;
    write_audio((dir / ("mixture" + ext_)).string(), mix, sr, af);
    for (int s = 0; s < 4; ++s) write_audio((dir / (std::string(names[s]) + ext_)).string(), st[(size_t)s], sr, af);
    std::string progs;
    for (const auto& part : p.parts) progs += (progs.empty() ? "" : ";") + part.role + "=" + std::to_string(part.program);
    res.meta = fmt("%.1f", bpm) + "," + progs;
    res.n_samples = (int64_t)mix.size();
    res.audio_sec = 5.0 * mix.size() / sr;
    return res;
  }

  const SynthOptions& o_;
  fs::path out_;
  std::string ext_;
  double sec_ = 30;
};

std::string meta_header(const std::string& t) {
  if (t == "pitch" || t == "instrument") return "pitch,velocity,instrument_family,instrument_source,gm_program";
  if (t == "key") return "key";
  if (t == "chords") return "key,n_chords";
  if (t == "beat") return "bpm,bpm_start,bpm_end,beats_per_bar";
  if (t == "tags") return "tags";
  if (t == "stems") return "bpm,programs";
  return "style,bpm,beats_per_bar,key";
}

}  // namespace

void SynthOptions::validate() const {
  const auto& t = tasks();
  if (std::find(t.begin(), t.end(), task) == t.end())
    throw Error("unknown task '" + task + "' (one of: pitch instrument key chords beat tags stems corpus)");
  if (out_dir.empty()) throw Error("no output directory given");
  if (task == "corpus") {
    if (!(hours > 0) || hours > 100000) throw Error("corpus: hours must be in (0, 100000], got " + std::to_string(hours));
  } else if (count != 0 && (count < 3 || count > 10000000)) {
    throw Error("the item count must be between 3 (one item per split) and 10000000, got " + std::to_string(count));
  }
  if (jobs < 1 || jobs > 256) throw Error("jobs must be between 1 and 256, got " + std::to_string(jobs));
  if (item_sec != 0 && (item_sec < 2 || item_sec > 600)) throw Error("the item length in sec must be between 2 and 600, got " + std::to_string(item_sec));
  if (sample_rate < 8000 || sample_rate > 96000) throw Error("sample rate out of range: " + std::to_string(sample_rate));
  if (!(gain > 0) || gain > 10) throw Error("the gain must be in (0, 10], got " + std::to_string(gain));
  for (const auto& sf : {soundfont, test_soundfont}) {
    std::error_code ec;
    if (!sf.empty() && !fs::is_regular_file(sf, ec))
      throw Error("soundfont '" + sf + "' not found (Debian: fluid-soundfont-gm, musescore-general-soundfont-small, timgm6mb-soundfont)");
  }
}

std::string SynthOptions::to_string() const {
  std::ostringstream s;
  s << "task " << task << " | count " << count << (task == "corpus" ? " | hours " + fmt("%g", hours) : "") << " | seed " << seed
    << " | soundfont " << soundfont << " | test soundfont " << (test_soundfont.empty() ? soundfont : test_soundfont) << " | "
    << sample_rate << " Hz | gain " << gain << " | " << (wav ? "wav" : "flac") << " | jobs " << jobs;
  return s.str();
}

SynthReport run_synth(const SynthOptions& opts_in) {
  SynthOptions o = opts_in;
  o.validate();
  const auto t0 = std::chrono::steady_clock::now();
  Generator probe(o, o.out_dir);
  const double sec = probe.item_sec();
  long n = o.count > 0 ? o.count : default_count(o.task);
  if (o.task == "corpus") n = std::max(2L, (long)std::ceil(o.hours * 3600.0 / sec));
  o.count = n;
  // Splits by index: train, then valid, then test (corpus: train and valid only).
  const bool corpus = o.task == "corpus";
  const long n_valid = std::max(1L, (long)std::lround(n * (corpus ? 0.05 : 0.1)));
  const long n_test = corpus ? 0 : std::max(1L, (long)std::lround(n * 0.1));
  const long n_train = n - n_valid - n_test;
  if (n_train < 1) throw Error("too few items for the splits: " + std::to_string(n));
  auto split_of = [&](long i) { return i < n_train ? "train" : i < n_train + n_valid ? "valid" : "test"; };
  const std::string test_sf = o.test_soundfont.empty() ? o.soundfont : o.test_soundfont;

  const fs::path out = o.out_dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) throw Error("cannot create output dir '" + out.string() + "'" + (ec ? ": " + ec.message() : ""));
  const bool nsynth = o.task == "pitch" || o.task == "instrument";
  for (const char* s : {"train", "valid", "test"}) {
    if (corpus) break;
    fs::create_directories(out / (nsynth ? "nsynth-" + std::string(s) + "/audio" : std::string(s)), ec);
    if (ec) throw Error("cannot create '" + (out / s).string() + "': " + ec.message());
  }
  if (corpus) fs::create_directories(out / "audio", ec);
  nlohmann::json info;
  info["task"] = o.task;
  info["count"] = n;
  info["seed"] = o.seed;
  info["soundfont"] = o.soundfont;
  info["test_soundfont"] = test_sf;
  info["sample_rate"] = o.sample_rate;
  info["gain"] = o.gain;
  info["item_sec"] = sec;
  info["format"] = o.wav ? "wav" : "flac";
  info["splits"] = {{"train", n_train}, {"valid", n_valid}, {"test", n_test}};
  info["generator"] = "mert synth 1";
  io::write_text_atomic((out / "synth_info.json").string(), info.dump(2) + "\n");  // fails early if unwritable

  // Check the soundfonts load before starting (clear error instead of a worker failure).
  std::vector<std::unique_ptr<Renderer>> first;
  first.push_back(std::make_unique<Renderer>(o.soundfont, o.sample_rate, o.gain));
  if (test_sf != o.soundfont && n_test > 0) first.push_back(std::make_unique<Renderer>(test_sf, o.sample_rate, o.gain));

  std::vector<Result> results((size_t)n);
  std::atomic<long> done{0};
  std::mutex mu;
  double cpu_total = 0;
  util::WorkerPool pool((int)std::min<long>(o.jobs, n));
  // Per worker: FluidSynth instances by soundfont (slow to load, so kept), and a generator.
  struct WorkerState {
    std::map<std::string, std::unique_ptr<Renderer>> renderers;
    std::unique_ptr<Generator> gen;
  };
  std::vector<WorkerState> state((size_t)pool.threads());
  for (auto& r : first) state[0].renderers[r->soundfont()] = std::move(r);
  pool.parallel_for(n, [&](int64_t i, int w) {
    const double c0 = thread_cpu_sec();
    WorkerState& ws = state[(size_t)w];
    if (!ws.gen) ws.gen = std::make_unique<Generator>(o, out);
    const std::string split = split_of(i);
    const std::string& sf = split == std::string("test") ? test_sf : o.soundfont;
    auto& r = ws.renderers[sf];
    if (!r) r = std::make_unique<Renderer>(sf, o.sample_rate, o.gain);
    results[(size_t)i] = ws.gen->make(i, split, *r);
    const long d = ++done;
    std::lock_guard<std::mutex> lk(mu);
    cpu_total += thread_cpu_sec() - c0;
    if (n >= 20 && d % std::max(1L, n / 10) == 0) std::fprintf(stderr, "synth: %ld/%ld items\n", d, n);
  });

  // Dataset-level label files, in index order (deterministic whatever --jobs).
  SynthReport rep;
  std::ostringstream meta;
  meta << "id,split,path," << meta_header(o.task) << "\n";
  for (const auto& r : results) {
    meta << r.id << "," << r.split << "," << r.relpath << "," << r.meta << "\n";  // list fields use ';'
    rep.audio_sec += r.audio_sec;
    rep.clipped += r.clipped;
  }
  io::write_text_atomic((out / "metadata.csv").string(), meta.str());
  if (nsynth) {
    for (const char* s : {"train", "valid", "test"}) {
      nlohmann::json ex = nlohmann::json::object();
      for (const auto& r : results)
        if (r.split == s) ex[r.id] = r.nsynth;
      io::write_text_atomic((out / ("nsynth-" + std::string(s)) / "examples.json").string(), ex.dump(2) + "\n");
    }
  }
  if (o.task == "tags") {  // MTT-like: tab-separated clip_id, one 0/1 column per tag, mp3_path
    std::ostringstream csv;
    csv << "clip_id";
    for (const auto& t : tag_names()) csv << "\t" << t;
    csv << "\tmp3_path\n";
    for (const auto& r : results) {
      csv << r.id;
      for (const auto& t : tag_names()) csv << "\t" << (std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end() ? 1 : 0);
      csv << "\t" << r.relpath << "\n";
    }
    io::write_text_atomic((out / "annotations_final.csv").string(), csv.str());
  }
  {  // fairseq manifests for every task: root line, then relpath<TAB>n_samples
    const std::string root = fs::absolute(out).lexically_normal().string();
    for (const char* s : {"train", "valid", "test"}) {
      if (corpus && std::string(s) == "test") continue;
      std::ostringstream tsv;
      tsv << root << "\n";
      for (const auto& r : results)
        if (r.split == s) tsv << (o.task == "stems" ? r.relpath + "/mixture" + audio_ext(o.wav ? AudioFormat::Wav : AudioFormat::Flac) : r.relpath) << "\t" << r.n_samples << "\n";
      io::write_text_atomic((out / (std::string(s) + ".tsv")).string(), tsv.str());
    }
  }
  rep.items = n;
  rep.cpu_sec = cpu_total;
  rep.wall_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace mert
