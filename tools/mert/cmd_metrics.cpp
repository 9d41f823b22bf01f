// `mert metrics`: scores saved predictions with the library's metrics (mert/metrics.h) and
// prints one JSON object on stdout; `mert metrics dbn` runs the beat tracker
// (mert/beat_tracker.h). Bad input is one line on stderr and exit code 2; warnings (empty beat
// lists, audio lengths that differ) are lines on stderr.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "mert/audio.h"
#include "mert/beat_tracker.h"
#include "mert/error.h"
#include "mert/metrics.h"
#include "io/npy.h"
#include "probe/read_util.h"

namespace mert::cli {
namespace {

using Json = nlohmann::ordered_json;
namespace m = mert::metrics;

const char kUsage[] =
    "usage: mert metrics <kind> [options]\n\n"
    "Scores saved predictions and prints one JSON object on stdout, numbers equal to\n"
    "scikit-learn (classification, multi-label, regression), mir_eval (keys, beats, chords) and\n"
    "MDX 2021 (global SDR).\n\n"
    "kinds:\n"
    "  multiclass  --targets t.npy --scores s.npy  -> accuracy, top5_accuracy\n"
    "  multilabel  --targets t.npy --scores s.npy  -> roc_auc_macro, ap_macro, f1_macro, skipped_classes\n"
    "  regression  --targets t.npy --scores s.npy  -> r2 (per output), r2_mean\n"
    "  key         --ref ref.tsv --est est.tsv     -> weighted_score, accuracy\n"
    "  beat        --ref DIR --est DIR (.beats)    -> f_measure (MARBLE), mean_f_measure (mir_eval)\n"
    "  chord       --ref DIR --est DIR (.lab)      -> majmin, root (duration-weighted), per-track means\n"
    "  sdr         --ref DIR --est DIR (<id>/<source>.wav) -> global SDR mean, median per source\n"
    "  dbn         --activation a.npy|DIR [--fps 75 ...] -> beat times (madmom's DBN beat tracker)\n\n"
    "Bad input (shape mismatch, NaN/inf, targets out of range, unknown key or chord names, ids\n"
    "missing on one side, empty or missing files) is one line on stderr and exit code 2.\n"
    "docs/CLI.md has the definitions.\n"
    "Run 'mert metrics <kind> --help' for the inputs and outputs of one kind.\n";

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

std::string required(const Args& args, const std::string& name) {
  if (!args.has(name) || args.get(name).empty()) throw Error("missing --" + name + " (see --help)");
  return args.get(name);
}

// An .npy array [N, C] (or [N], seen as [N, 1], unless `matrix_only`) of any dtype read_npy
// takes, as doubles.
m::Matrix load_matrix(const std::string& path, bool matrix_only = false) {
  const at::Tensor t = read_npy(path);
  if (matrix_only && t.dim() != 2) throw Error(path + ": expected an array [N, C], got shape " + shape_of(t));
  if (t.dim() != 1 && t.dim() != 2) throw Error(path + ": expected an array [N] or [N, C], got shape " + shape_of(t));
  const at::Tensor d = t.to(at::kDouble).contiguous();
  m::Matrix out;
  out.rows = d.size(0);
  out.cols = d.dim() == 2 ? d.size(1) : 1;
  out.data.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  return out;
}

// Class indices [N] (or [N, 1]): integer or bool arrays, or floats holding whole numbers.
std::vector<int64_t> load_class_targets(const std::string& path) {
  const at::Tensor t = read_npy(path);
  if (!(t.dim() == 1 || (t.dim() == 2 && t.size(1) == 1)))
    throw Error(path + ": targets must be class indices [N], got shape " + shape_of(t));
  const at::Tensor flat = t.flatten();
  if (at::isFloatingType(flat.scalar_type())) {
    const at::Tensor d = flat.to(at::kDouble).contiguous();
    const double* v = d.data_ptr<double>();
    for (int64_t i = 0; i < d.numel(); ++i)
      if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]) || std::fabs(v[i]) > 9e15)
        throw Error(path + ": target at row " + std::to_string(i) + " is " + std::to_string(v[i]) +
                    ", not a class index");
  }
  const at::Tensor l = flat.to(at::kLong).contiguous();
  return std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
}

// `id<TAB>key` per line (blank lines skipped) -> id -> key index.
std::map<std::string, int> load_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path);
  std::map<std::string, int> keys;
  std::map<std::string, int64_t> first_line;
  std::string line;
  int64_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(no) + ": ";
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) throw Error(where + "expected 'id<TAB>key', got '" + line + "'");
    const std::string id = line.substr(0, tab);
    if (id.empty()) throw Error(where + "empty id");
    int k;
    try {
      k = m::key_index(line.substr(tab + 1));
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
    if (!keys.emplace(id, k).second)
      throw Error(where + "duplicate id '" + id + "' (first at line " + std::to_string(first_line[id]) + ")");
    first_line[id] = no;
  }
  if (in.bad()) throw Error("cannot read " + path);
  if (keys.empty()) throw Error(path + ": no keys (empty file)");
  return keys;
}

// "3 ids only in a.tsv ('x', 'y', 'z')" naming at most five of them.
std::string list_ids(const std::vector<std::string>& ids, const std::string& file) {
  std::string s = std::to_string(ids.size()) + (ids.size() == 1 ? " id" : " ids") + " only in " + file + " (";
  for (size_t i = 0; i < ids.size() && i < 5; ++i) s += (i ? ", '" : "'") + ids[i] + "'";
  return s + (ids.size() > 5 ? ", ...)" : ")");
}

// Throws naming the ids only one side has (at most five each) unless both hold the same ids.
template <class A, class B>
void require_same_ids(const std::map<std::string, A>& ref, const std::string& ref_name,
                      const std::map<std::string, B>& est, const std::string& est_name, const std::string& what) {
  std::vector<std::string> only_ref, only_est;
  for (const auto& kv : ref)
    if (!est.count(kv.first)) only_ref.push_back(kv.first);
  for (const auto& kv : est)
    if (!ref.count(kv.first)) only_est.push_back(kv.first);
  if (only_ref.empty() && only_est.empty()) return;
  std::string msg = what + " hold different ids: ";
  if (!only_ref.empty()) msg += list_ids(only_ref, ref_name);
  if (!only_ref.empty() && !only_est.empty()) msg += ", ";
  if (!only_est.empty()) msg += list_ids(only_est, est_name);
  throw Error(msg);
}

void warn(const std::string& kind, const std::string& message) {
  std::cerr << "mert metrics " << kind << ": warning: " << message << "\n";
}

Json score_multiclass(const Args& args) {
  const std::vector<int64_t> targets = load_class_targets(required(args, "targets"));
  const m::Matrix scores = load_matrix(required(args, "scores"), true);
  const m::MulticlassScores r = m::multiclass(targets, scores);
  return Json{{"accuracy", r.accuracy}, {"top5_accuracy", r.top5_accuracy}, {"n", scores.rows},
              {"classes", scores.cols}};
}

Json score_multilabel(const Args& args) {
  const m::Matrix targets = load_matrix(required(args, "targets"));
  const m::MultilabelScores r = m::multilabel(targets, load_matrix(required(args, "scores")));
  return Json{{"roc_auc_macro", r.roc_auc_macro}, {"ap_macro", r.ap_macro}, {"f1_macro", r.f1_macro},
              {"skipped_classes", r.skipped_classes}, {"n", targets.rows}, {"classes", targets.cols}};
}

Json score_regression(const Args& args) {
  const m::Matrix targets = load_matrix(required(args, "targets"));
  const m::RegressionScores r = m::regression(targets, load_matrix(required(args, "scores")));
  return Json{{"r2", r.r2}, {"r2_mean", r.r2_mean}, {"n", targets.rows}};
}

Json score_key(const Args& args) {
  const std::string ref_path = required(args, "ref"), est_path = required(args, "est");
  const auto ref = load_keys(ref_path);
  const auto est = load_keys(est_path);
  require_same_ids(ref, ref_path, est, est_path, "the files");
  std::vector<int> r, e;
  for (const auto& kv : ref) {
    r.push_back(kv.second);
    e.push_back(est.at(kv.first));
  }
  const m::KeyScores s = m::key(r, e);
  return Json{{"weighted_score", s.weighted_score}, {"accuracy", s.accuracy},
              {"n", static_cast<int64_t>(r.size())}};
}

namespace pd = mert::probe::detail;

std::string require_dir(const Args& args, const std::string& option) {
  const std::string dir = required(args, option);
  if (!pd::is_dir(dir)) throw Error("--" + option + " " + dir + ": not a directory");
  return dir;
}

// The `<id><ext>` files directly in `dir`: id -> path. Refuses a directory without any.
std::map<std::string, std::string> files_by_id(const std::string& dir, const std::string& ext) {
  std::map<std::string, std::string> out;
  for (const std::string& name : pd::list_dir(dir, false))
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      out[name.substr(0, name.size() - ext.size())] = pd::join(dir, name);
  if (out.empty()) {
    const auto sub = pd::list_dir(dir, true);
    throw Error("no *" + ext + " files in " + dir +
                (sub.empty() ? std::string() : " (it has subdirectories: name one, e.g. " + pd::join(dir, sub[0]) + ")"));
  }
  return out;
}

// Both directories' `<id><ext>` files, paired by id.
std::vector<std::pair<std::string, std::pair<std::string, std::string>>> paired_files(const Args& args, const std::string& ext) {
  const std::string ref_dir = require_dir(args, "ref"), est_dir = require_dir(args, "est");
  const auto ref = files_by_id(ref_dir, ext), est = files_by_id(est_dir, ext);
  require_same_ids(ref, ref_dir, est, est_dir, "the directories");
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> out;
  for (const auto& kv : ref) out.push_back({kv.first, {kv.second, est.at(kv.first)}});
  return out;
}

Json score_beat(const Args& args) {
  std::vector<m::BeatTrack> tracks;
  std::vector<std::string> ids;
  for (const auto& [id, files] : paired_files(args, ".beats")) {
    ids.push_back(id);
    tracks.push_back({m::read_beat_times(files.first), m::read_beat_times(files.second)});
  }
  const m::BeatScores s = m::beat(tracks, 0.07);
  if (s.empty_reference) warn("beat", std::to_string(s.empty_reference) + " reference file(s) without beats (F = 0 for them, as mir_eval)");
  if (s.empty_estimate) warn("beat", std::to_string(s.empty_estimate) + " estimate file(s) without beats (F = 0 for them, as mir_eval)");
  Json per = Json::object();
  for (size_t i = 0; i < ids.size(); ++i) per[ids[i]] = s.per_track[i];
  return Json{{"f_measure", s.f_measure}, {"precision", s.precision}, {"recall", s.recall},
              {"matched", s.matched}, {"reference_beats", s.reference_beats}, {"estimated_beats", s.estimated_beats},
              {"mean_f_measure", s.mean_f_measure}, {"n", static_cast<int64_t>(ids.size())}, {"window", 0.07},
              {"per_track", per}};
}

Json score_chord(const Args& args) {
  std::vector<m::ChordTrack> tracks;
  std::vector<std::string> ids;
  for (const auto& [id, files] : paired_files(args, ".lab")) {
    ids.push_back(id);
    tracks.push_back({m::read_chord_lab(files.first), m::read_chord_lab(files.second)});
  }
  m::ChordScores s;
  try {
    s = m::chord(tracks);
  } catch (const Error&) {  // name the track
    for (size_t i = 0; i < tracks.size(); ++i) try {
        m::chord_track(tracks[i]);
      } catch (const Error& each) {
        throw Error("'" + ids[i] + "': " + each.what());
      }
    throw;
  }
  Json per = Json::object();
  for (size_t i = 0; i < ids.size(); ++i) per[ids[i]] = Json{{"majmin", s.per_track[i].majmin}, {"root", s.per_track[i].root}};
  return Json{{"majmin", s.majmin}, {"root", s.root}, {"majmin_mean", s.majmin_mean}, {"root_mean", s.root_mean},
              {"n", static_cast<int64_t>(ids.size())}, {"duration", s.duration},
              {"majmin_scored_duration", s.majmin_scored}, {"root_scored_duration", s.root_scored},
              {"per_track", per}};
}

// The audio files of one track directory: source name (file stem) -> path.
std::map<std::string, std::string> sources_in(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& name : pd::list_dir(dir, false)) {
    if (!is_audio_extension(name)) continue;
    const std::string src = pd::stem(name), path = pd::join(dir, name);
    if (!out.emplace(src, path).second) throw Error(dir + ": two files for source '" + src + "' (" + out[src] + ", " + path + ")");
  }
  return out;
}

Json score_sdr(const Args& args) {
  const std::string ref_dir = require_dir(args, "ref"), est_dir = require_dir(args, "est");
  std::map<std::string, int> ref_ids, est_ids;
  for (const std::string& d : pd::list_dir(ref_dir, true)) ref_ids[d] = 0;
  for (const std::string& d : pd::list_dir(est_dir, true)) est_ids[d] = 0;
  if (est_ids.empty()) throw Error("no track directories (<id>/<source>.wav) in " + est_dir);
  require_same_ids(ref_ids, ref_dir, est_ids, est_dir, "the directories");
  std::map<std::string, std::vector<double>> by_source;
  Json per = Json::object();
  std::vector<std::string> sources;
  int64_t adjusted = 0, downmixed = 0;
  std::string adjusted_example;
  for (const auto& kv : est_ids) {
    const std::string& id = kv.first;
    const auto est = sources_in(pd::join(est_dir, id)), ref = sources_in(pd::join(ref_dir, id));
    std::vector<std::string> names;
    for (const auto& s : est) names.push_back(s.first);
    if (names.empty()) throw Error(pd::join(est_dir, id) + ": no audio files");
    if (sources.empty()) sources = names;
    if (names != sources) {
      std::string list;
      for (const auto& n : sources) list += (list.empty() ? "" : ", ") + n;
      throw Error(pd::join(est_dir, id) + ": the sources differ from the first track's (" + list + ")");
    }
    Json track = Json::object();
    for (const auto& [src, est_path] : est) {
      const auto r = ref.find(src);
      if (r == ref.end()) throw Error(pd::join(ref_dir, id) + ": no reference audio for source '" + src + "'");
      const Audio a = decode_audio(r->second), b = decode_audio(est_path);
      if (a.sample_rate != b.sample_rate)
        throw Error(est_path + ": " + std::to_string(b.sample_rate) + " Hz, the reference " + r->second + " has " +
                    std::to_string(a.sample_rate) + " Hz");
      if (a.channels != b.channels)
        throw Error(est_path + ": " + std::to_string(b.channels) + " channel(s), the reference " + r->second + " has " +
                    std::to_string(a.channels));
      downmixed += a.channels > 1;
      if (a.samples.size() != b.samples.size()) {
        if (adjusted++ == 0)
          adjusted_example = est_path + " has " + std::to_string(b.samples.size()) + " samples, the reference " +
                             std::to_string(a.samples.size());
      }
      const double v = m::global_sdr(a.samples, b.samples);
      track[src] = v;
      by_source[src].push_back(v);
    }
    per[id] = track;
  }
  if (adjusted)
    warn("sdr", std::to_string(adjusted) + " estimate(s) cut or zero-padded to the reference's length (e.g. " +
                    adjusted_example + ")");
  if (downmixed) warn("sdr", std::to_string(downmixed) + " multichannel pair(s) scored on their mono downmix");
  Json src_json = Json::object();
  double mean_of_means = 0;
  for (const auto& src : sources) {
    const m::SdrSummary s = m::summarize_sdr(by_source[src]);
    src_json[src] = Json{{"mean", s.mean}, {"median", s.median}, {"tracks", s.tracks}};
    mean_of_means += s.mean;
  }
  return Json{{"sources", src_json}, {"mean", mean_of_means / static_cast<double>(sources.size())},
              {"n", static_cast<int64_t>(est_ids.size())}, {"length_adjusted", adjusted}, {"per_track", per}};
}

// Beat activations [N] (or [N, 1]) from an .npy file, as float32.
std::vector<float> load_activation(const std::string& path) {
  const at::Tensor t = read_npy(path);
  if (!(t.dim() == 1 || (t.dim() == 2 && t.size(1) == 1)))
    throw Error(path + ": expected beat activations [N], got shape " + shape_of(t));
  const at::Tensor f = t.flatten().to(at::kFloat).contiguous();
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

// Shortest text that reads back as the same double.
std::string exact(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Json track_dbn(const Args& args) {
  m::DbnOptions o;
  o.fps = args.get_double("fps");
  o.min_bpm = args.get_double("min-bpm");
  o.max_bpm = args.get_double("max-bpm");
  o.num_tempi = args.get_int("num-tempi");
  o.transition_lambda = args.get_double("transition-lambda");
  o.observation_lambda = args.get_double("observation-lambda");
  o.threshold = args.get_double("threshold");
  o.correct = !args.flag_set("no-correct");
  const std::string input = required(args, "activation"), out_dir = args.get("out");
  std::map<std::string, std::string> inputs;  // id -> .npy
  const bool many = pd::is_dir(input);
  if (many) inputs = files_by_id(input, ".npy");
  else inputs[pd::stem(input)] = input;
  const m::DbnBeatTracker tracker(o);
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
  Json tracks = Json::object();
  for (const auto& input_entry : inputs) {
    const std::string& id = input_entry.first;  // named, not bound: the lambda below captures it
    const std::string& path = input_entry.second;
    const std::vector<float> activation = load_activation(path);
    m::DbnResult r;
    try {
      r = tracker.track(activation);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    if (!out_dir.empty())
      io::write_file_atomic(pd::join(out_dir, id + ".beats"), [&](std::FILE* f) {
        std::string text;
        for (double b : r.beats) text += exact(b) + "\n";
        io::write_all(f, text.data(), text.size(), id + ".beats");
      });
    tracks[id] = Json{{"beats", r.beats}, {"log_probability", r.log_probability}, {"first_frame", r.first_frame},
                      {"decoded_frames", r.decoded_frames}};
  }
  Json j = many ? Json{{"tracks", tracks}} : tracks.begin().value();
  j["states"] = tracker.num_states();
  j["intervals"] = tracker.intervals();
  j["options"] = o.to_string();
  return j;
}

// One option of a kind: name, help, default ("" = required unless a flag).
struct Option {
  const char* name;
  const char* help;
  const char* default_value = "";
  bool is_flag = false;
};

// One kind of metrics: its options, help and how it is scored.
struct Kind {
  const char* name;
  const char* usage;
  std::vector<Option> options;
  const char* description;
  Json (*score)(const Args& args);
};

const char kDirPair[] = "--ref <dir> --est <dir>";

const Kind kKinds[] = {
    {"multiclass", "--targets <file> --scores <file>",
     {{"targets", "class indices [N] (.npy)"}, {"scores", "scores [N, C] (.npy)"}},
     "Multi-class accuracy. targets: class indices [N] (int64/int32, or floats holding whole\n"
     "numbers) in [0, C); scores: [N, C] logits or probabilities. Prints\n"
     "{\"accuracy\", \"top5_accuracy\", \"n\", \"classes\"}: accuracy = argmax (first maximum) ==\n"
     "target; top5_accuracy = scikit-learn's top_k_accuracy_score(k=5, labels=range(C)): target\n"
     "among the 5 highest scores, equal scores ranking the higher class index first (1 when C <= 5).",
     score_multiclass},
    {"multilabel", "--targets <file> --scores <file>",
     {{"targets", "0/1 targets [N, C] (.npy)"}, {"scores", "scores (logits) [N, C] (.npy)"}},
     "Multi-label tagging, macro over classes. targets: 0/1 [N, C] (bool, integer or float);\n"
     "scores: [N, C] logits. Prints {\"roc_auc_macro\", \"ap_macro\", \"f1_macro\",\n"
     "\"skipped_classes\", \"n\", \"classes\"}: scikit-learn's roc_auc_score and\n"
     "average_precision_score per class (equal scores are one threshold), F1 with a class\n"
     "predicted when sigmoid(score) > 0.5 (score > 0); each the mean over the classes with both\n"
     "a positive and a negative target. skipped_classes counts the others; if every class\n"
     "would be skipped it is an error.",
     score_multilabel},
    {"regression", "--targets <file> --scores <file>",
     {{"targets", "targets [N, K] (.npy)"}, {"scores", "predictions [N, K] (.npy)"}},
     "Regression. targets and scores (predictions): [N, K] or [N] (= [N, 1]), N >= 2. Prints\n"
     "{\"r2\": [per output], \"r2_mean\", \"n\"}: scikit-learn's r2_score per output,\n"
     "1 - sum (y - p)^2 / sum (y - mean y)^2; a constant target column scores 1 if predicted\n"
     "exactly, else 0. r2_mean is the plain mean over outputs.",
     score_regression},
    {"key", "--ref <file> --est <file>", {{"ref", "reference keys (.tsv)"}, {"est", "estimated keys (.tsv)"}},
     "Musical key. Each file has one 'id<TAB>key' line per item, keys spelled as mir_eval reads\n"
     "them ('Eb minor', 'C# major': tonic A-G with # or b, any case; mode 'major' or 'minor';\n"
     "enharmonics equal). Both files must hold the same ids, each once. Prints\n"
     "{\"weighted_score\", \"accuracy\", \"n\"}: the mean over ids of mir_eval.key.weighted_score\n"
     "(1 same key, 0.5 estimate a fifth above in the same mode, 0.3 relative, 0.2 parallel,\n"
     "else 0) and the fraction of exact matches.",
     score_key},
    {"beat", kDirPair,
     {{"ref", "directory of reference <id>.beats files"}, {"est", "directory of estimated <id>.beats files"}},
     "Beat tracking. Each directory holds one <id>.beats file per track (both the same ids): a\n"
     "beat per line, its time in seconds first ('0.5<TAB>1' as mert synth beat writes, or '0.5');\n"
     "lines in any order, '#' comments and blank lines skipped, an empty file is no beats.\n"
     "Pairs match within +-70 ms (maximum matching, mir_eval.util.match_events). Prints\n"
     "{\"f_measure\", \"precision\", \"recall\"}: MARBLE's score from the matches, reference and\n"
     "estimated beats summed over all tracks (F = 2PR/(P+R)); \"matched\", \"reference_beats\",\n"
     "\"estimated_beats\"; \"mean_f_measure\": the mean over tracks of mir_eval.beat.f_measure\n"
     "(no 5 s trimming; 0 for a track with no reference or no estimated beats); \"n\", \"window\",\n"
     "\"per_track\" (id -> f_measure).",
     score_beat},
    {"chord", kDirPair,
     {{"ref", "directory of reference <id>.lab files"}, {"est", "directory of estimated <id>.lab files"}},
     "Chord recognition. Each directory holds one <id>.lab file per track (both the same ids):\n"
     "'start<TAB>end<TAB>label' lines, labels in Harte syntax as mir_eval reads them (C:maj,\n"
     "A:min7/b3, N no chord, X unknown). Each track is scored as mir_eval.chord.evaluate: the\n"
     "estimate cut or padded with N to the reference's span, both split at every boundary, each\n"
     "piece weighted by its duration; time where the reference is X (root, majmin) or not\n"
     "maj/min/N (majmin) is left out. Prints {\"majmin\", \"root\"}: correct / comparable seconds\n"
     "over the whole set; {\"majmin_mean\", \"root_mean\"}: mir_eval's per-track values averaged;\n"
     "\"n\", \"duration\", \"majmin_scored_duration\", \"root_scored_duration\" (seconds), \"per_track\".",
     score_chord},
    {"sdr", kDirPair,
     {{"ref", "directory of reference tracks <id>/<source>.<audio>"},
      {"est", "directory of estimated tracks <id>/<source>.<audio>"}},
     "Source separation, global SDR (MDX 2021, MARBLE). Each directory holds one subdirectory per\n"
     "track (both the same ids) with one audio file per source (e.g. bass.wav, vocals.flac). The\n"
     "sources scored are the estimate's (the same in every track); the reference may hold more\n"
     "(e.g. mixture). Per track and source: 10 log10((sum s^2 + 1e-7) / (sum (s - e)^2 + 1e-7)) over\n"
     "all samples, in dB. Sample rates and channel counts must agree; multichannel audio is scored\n"
     "on its mono downmix (decode_audio); an estimate of another length is cut or zero-padded to the\n"
     "reference's (museval's rule; counted in \"length_adjusted\" and warned about). Prints\n"
     "{\"sources\": {name: {\"mean\", \"median\", \"tracks\"}}, \"mean\" (of the source means), \"n\",\n"
     "\"length_adjusted\", \"per_track\"}.",
     score_sdr},
    {"dbn", "--activation <file.npy|dir> [options]",
     {{"activation", "beat activations [N] (.npy, P(beat) per frame), or a directory of them"},
      {"fps", "frames per second of the activations", "75"},
      {"min-bpm", "slowest tempo", "55"},
      {"max-bpm", "fastest tempo", "215"},
      {"num-tempi", "0: every integer beat interval; N: N log-spaced intervals", "0"},
      {"transition-lambda", "tempo change penalty (higher keeps the tempo)", "100"},
      {"observation-lambda", "the first 1/lambda of each beat are beat states", "16"},
      {"threshold", "decode only from the first to the last activation >= threshold (0: all)", "0"},
      {"no-correct", "take the position minima instead of the activation peak of each beat", "", true},
      {"out", "also write <id>.beats files (one time per line) into this directory"}},
     "Beat tracking with madmom's DBNBeatTrackingProcessor model (offline Viterbi; see\n"
     "docs/PROBE.md): activations in [0, 1] -> beat times in seconds. Prints {\"beats\",\n"
     "\"log_probability\", \"first_frame\", \"decoded_frames\"} for one file, or {\"tracks\": {id: ...}}\n"
     "for a directory of <id>.npy files, with \"states\", \"intervals\" (beat periods in frames)\n"
     "and \"options\".",
     track_dbn},
};

int run(const Kind& kind, int argc, char** argv) {
  Args args(std::string("metrics ") + kind.name, kind.usage, kind.description);
  for (const Option& o : kind.options) {
    if (o.is_flag) args.flag(o.name, o.help);
    else args.option(o.name, "", o.help, o.default_value);
  }
  if (!args.parse(argc, argv)) return 0;
  const Json j = kind.score(args);
  std::cout << j.dump() << "\n";
  return 0;
}

// "multiclass, multilabel, ... or dbn"
std::string kind_names() {
  std::string s;
  const size_t n = std::size(kKinds);
  for (size_t i = 0; i < n; ++i) s += std::string(i == 0 ? "" : i + 1 == n ? " or " : ", ") + kKinds[i].name;
  return s;
}

// One line whatever the message holds (an .npy header quoted in an error ends in '\n').
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

int cmd_metrics(int argc, char** argv) {
  if (argc < 1) {
    std::cerr << "mert metrics: error: missing kind (" << kind_names() << "; see 'mert metrics --help')\n";
    return 2;
  }
  const std::string kind = argv[0];
  if (kind == "-h" || kind == "--help" || kind == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::string error;
  try {
    for (const Kind& k : kKinds)
      if (kind == k.name) return run(k, argc - 1, argv + 1);
    error = "unknown kind '" + kind + "' (" + kind_names() + "; see --help)";
  } catch (const Error& e) {
    error = e.what();
  } catch (const c10::Error& e) {
    error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::cerr << "mert metrics " << kind << ": error: " << one_line(error) << "\n";
  return 2;
}

}  // namespace mert::cli
