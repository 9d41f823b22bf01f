// NSynth: nsynth-{train,valid,test}/examples.json (note_str -> {pitch, instrument_family, ...})
// and nsynth-<split>/audio/<note_str>.wav, the official splits as they are.
#include <fstream>

#include <nlohmann/json.hpp>

#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

using nlohmann::json;

// NSynth's instrument_family index -> instrument_family_str.
const std::vector<std::string> kFamilies = {"bass",  "brass", "flute",  "guitar",     "keyboard", "mallet",
                                            "organ", "reed",  "string", "synth_lead", "vocal"};

// examples.json of the train split is ~100 MB: keep only the fields a reader needs.
json parse_examples(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  const json::parser_callback_t keep = [](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 2 && event == json::parse_event_t::key) {
      const auto& k = parsed.get_ref<const std::string&>();
      return k == "pitch" || k == "instrument_family" || k == "instrument_family_str";
    }
    return true;
  };
  try {
    return json::parse(in, keep);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

int64_t integer_field(const json& note, const char* field, const std::string& where) {
  const auto it = note.find(field);
  if (it == note.end()) throw Error(where + ": no '" + field + "'");
  if (!it->is_number_integer()) throw Error(where + ": '" + field + "' is not an integer");
  return it->get<int64_t>();
}

}  // namespace

ProbeDataset read_nsynth_layout(const std::string& root, NsynthLabel label, const std::string& name,
                                const std::vector<std::string>& audio_exts) {
  using namespace detail;
  std::vector<std::string> classes;
  if (label == NsynthLabel::Pitch) {
    for (int k = 0; k < 128; ++k) classes.push_back(std::to_string(k));
  } else {
    classes = kFamilies;
  }
  DatasetBuilder b(name, root, TaskType::Multiclass, classes);
  for (const char* split : kSplits) {
    const std::string dir = join(root, std::string("nsynth-") + split);
    const std::string file = join(dir, "examples.json");
    if (!is_file(file))
      throw Error(name + ": " + file + " not found (NSynth layout: nsynth-{train,valid,test}/examples.json + audio/)");
    const json examples = parse_examples(file);
    if (!examples.is_object()) throw Error(file + ": expected a JSON object of notes");
    for (const auto& [note_str, note] : examples.items()) {
      const std::string where = file + ": note '" + note_str + "'";
      if (!note.is_object()) throw Error(where + ": not an object");
      ProbeItem item;
      item.id = safe_id(note_str);
      item.split = split;
      std::vector<std::string> candidates;
      for (const auto& ext : audio_exts) candidates.push_back(join(dir, "audio/" + note_str + ext));
      item.path = first_existing(candidates);
      if (label == NsynthLabel::Pitch) {
        const int64_t pitch = integer_field(note, "pitch", where);
        if (pitch < 0 || pitch > 127) throw Error(where + ": pitch " + std::to_string(pitch) + " outside MIDI 0..127");
        item.label = pitch;
      } else {
        const int64_t fam = integer_field(note, "instrument_family", where);
        if (fam < 0 || fam >= static_cast<int64_t>(kFamilies.size()))
          throw Error(where + ": instrument_family " + std::to_string(fam) + " outside NSynth's 11 families");
        const auto s = note.find("instrument_family_str");
        if (s != note.end() && (!s->is_string() || s->get<std::string>() != kFamilies[static_cast<size_t>(fam)]))
          throw Error(where + ": instrument_family " + std::to_string(fam) + " is '" +
                      kFamilies[static_cast<size_t>(fam)] + "' in NSynth, but instrument_family_str says " + s->dump());
        item.label = fam;
      }
      b.add(std::move(item), where);
    }
  }
  return b.finish();
}

ProbeDataset read_nsynth_pitch(const std::string& root) {
  return read_nsynth_layout(root, NsynthLabel::Pitch, "nsynth-pitch", {".wav", ".flac"});
}

ProbeDataset read_nsynth_instrument(const std::string& root) {
  return read_nsynth_layout(root, NsynthLabel::InstrumentFamily, "nsynth-instrument", {".wav", ".flac"});
}

}  // namespace mert::probe
