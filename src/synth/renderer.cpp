#include "synth/renderer.h"

#include <fluidsynth.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "mert/error.h"

namespace mert::synth {

struct Renderer::Impl {
  fluid_settings_t* settings = nullptr;
  fluid_synth_t* synth = nullptr;
  int sfont_id = -1;
  std::vector<float> left, right;
};

namespace {
void quiet_fluidsynth() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) fluid_set_log_function(level, nullptr, nullptr);
  });
}
}  // namespace

Renderer::Renderer(const std::string& soundfont, int sample_rate, double gain) : impl_(new Impl), path_(soundfont) {
  quiet_fluidsynth();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(soundfont, ec))
    throw Error("soundfont '" + soundfont + "' not found (Debian: apt-get install fluid-soundfont-gm)");
  impl_->settings = new_fluid_settings();
  fluid_settings_t* s = impl_->settings;
  fluid_settings_setnum(s, "synth.sample-rate", sample_rate);
  fluid_settings_setint(s, "synth.reverb.active", 0);
  fluid_settings_setint(s, "synth.chorus.active", 0);
  fluid_settings_setnum(s, "synth.gain", gain);
  fluid_settings_setint(s, "synth.polyphony", 256);
  fluid_settings_setint(s, "synth.cpu-cores", 1);
  fluid_settings_setint(s, "synth.threadsafe-api", 0);
  fluid_settings_setint(s, "synth.dynamic-sample-loading", 0);
  fluid_settings_setint(s, "synth.midi-channels", 16);
  impl_->synth = new_fluid_synth(s);
  if (!impl_->synth) {
    delete_fluid_settings(s);
    throw Error("cannot create a FluidSynth synthesizer");
  }
  impl_->sfont_id = fluid_synth_sfload(impl_->synth, soundfont.c_str(), 1);
  if (impl_->sfont_id == FLUID_FAILED) {
    delete_fluid_synth(impl_->synth);
    delete_fluid_settings(s);
    impl_->synth = nullptr;
    impl_->settings = nullptr;
    throw Error("soundfont '" + soundfont + "' could not be loaded by FluidSynth (not a SF2/SF3 file?)");
  }
}

Renderer::~Renderer() {
  if (impl_->synth) delete_fluid_synth(impl_->synth);
  if (impl_->settings) delete_fluid_settings(impl_->settings);
}

bool Renderer::has_preset(int bank, int program) const {
  fluid_sfont_t* sf = fluid_synth_get_sfont_by_id(impl_->synth, impl_->sfont_id);
  return sf && fluid_sfont_get_preset(sf, bank, program) != nullptr;
}

std::vector<float> Renderer::render(std::vector<MidiEvent> events, int64_t n_samples) {
  // A fresh synthesizer per item: a reset one keeps traces of earlier items in its voice
  // objects (the first few hundred samples differ), which would make the output depend on
  // what the worker rendered before, i.e. on --jobs. The loaded soundfont is shared (added to,
  // then removed from, the fresh synth) so nothing is re-read.
  fluid_synth_t* syn = new_fluid_synth(impl_->settings);
  if (!syn) throw Error("cannot create a FluidSynth synthesizer");
  struct Guard {
    fluid_synth_t* syn;
    fluid_sfont_t* sf;
    ~Guard() {
      if (sf) fluid_synth_remove_sfont(syn, sf);
      delete_fluid_synth(syn);
    }
  } guard{syn, nullptr};
  fluid_sfont_t* sf = fluid_synth_get_sfont_by_id(impl_->synth, impl_->sfont_id);
  const int sfid = fluid_synth_add_sfont(syn, sf);
  if (sfid == FLUID_FAILED) throw Error("FluidSynth: cannot attach the soundfont");
  guard.sf = sf;
  fluid_synth_set_channel_type(syn, 9, CHANNEL_TYPE_DRUM);

  for (auto& e : events) e.sample = std::max<int64_t>(0, e.sample / kBlock * kBlock);
  std::stable_sort(events.begin(), events.end(), [](const MidiEvent& x, const MidiEvent& y) {
    if (x.sample != y.sample) return x.sample < y.sample;
    return x.type < y.type;  // programs, controllers, note-offs, then note-ons
  });
  std::vector<float> out(static_cast<size_t>(n_samples), 0.f);
  const int64_t padded = (n_samples + kBlock - 1) / kBlock * kBlock;
  impl_->left.assign(static_cast<size_t>(padded), 0.f);
  impl_->right.assign(static_cast<size_t>(padded), 0.f);
  size_t ei = 0;
  int64_t pos = 0;
  while (pos < padded) {
    while (ei < events.size() && events[ei].sample <= pos) {
      const MidiEvent& e = events[ei++];
      switch (e.type) {
        case MidiEvent::Program:
          fluid_synth_program_select(syn, e.chan, sfid, e.a, e.b);
          break;
        case MidiEvent::Control: fluid_synth_cc(syn, e.chan, e.a, e.b); break;
        case MidiEvent::NoteOff: fluid_synth_noteoff(syn, e.chan, e.a); break;
        case MidiEvent::NoteOn: fluid_synth_noteon(syn, e.chan, e.a, e.b); break;
      }
    }
    const int64_t next = ei < events.size() ? std::min<int64_t>(padded, events[ei].sample) : padded;
    const int len = static_cast<int>(next - pos);
    if (len > 0) {
      if (fluid_synth_write_float(syn, len, impl_->left.data() + pos, 0, 1, impl_->right.data() + pos, 0, 1) != FLUID_OK)
        throw Error("FluidSynth failed to render");
      pos = next;
    }
  }
  for (int64_t i = 0; i < n_samples; ++i) out[i] = 0.5f * (impl_->left[i] + impl_->right[i]);
  return out;
}

}  // namespace mert::synth
