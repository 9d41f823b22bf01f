// `mert metrics`: scores saved predictions with the library's metrics (mert/metrics.h) and
// prints one JSON object on stdout. Bad input is one line on stderr and exit code 2.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "mert/metrics.h"
#include "mert/npy.h"

namespace mert::cli {
namespace {

using Json = nlohmann::ordered_json;
namespace m = mert::metrics;

const char kUsage[] =
    "usage: mert metrics <kind> [options]\n\n"
    "Scores saved predictions and prints one JSON object on stdout, numbers equal to\n"
    "scikit-learn (classification, multi-label, regression) and mir_eval (keys).\n\n"
    "kinds:\n"
    "  multiclass  --targets t.npy --scores s.npy  -> accuracy, top5_accuracy\n"
    "  multilabel  --targets t.npy --scores s.npy  -> roc_auc_macro, ap_macro, f1_macro, skipped_classes\n"
    "  regression  --targets t.npy --scores s.npy  -> r2 (per output), r2_mean\n"
    "  key         --ref ref.tsv --est est.tsv     -> weighted_score, accuracy\n\n"
    "Bad input (shape mismatch, NaN/inf, targets out of range, unknown key names, empty or\n"
    "missing files) is one line on stderr and exit code 2. docs/CLI.md has the definitions.\n"
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

Json score_multiclass(const std::string& targets_path, const std::string& scores_path) {
  const std::vector<int64_t> targets = load_class_targets(targets_path);
  const m::Matrix scores = load_matrix(scores_path, true);
  const m::MulticlassScores r = m::multiclass(targets, scores);
  return Json{{"accuracy", r.accuracy}, {"top5_accuracy", r.top5_accuracy}, {"n", scores.rows},
              {"classes", scores.cols}};
}

Json score_multilabel(const std::string& targets_path, const std::string& scores_path) {
  const m::Matrix targets = load_matrix(targets_path);
  const m::MultilabelScores r = m::multilabel(targets, load_matrix(scores_path));
  return Json{{"roc_auc_macro", r.roc_auc_macro}, {"ap_macro", r.ap_macro}, {"f1_macro", r.f1_macro},
              {"skipped_classes", r.skipped_classes}, {"n", targets.rows}, {"classes", targets.cols}};
}

Json score_regression(const std::string& targets_path, const std::string& scores_path) {
  const m::Matrix targets = load_matrix(targets_path);
  const m::RegressionScores r = m::regression(targets, load_matrix(scores_path));
  return Json{{"r2", r.r2}, {"r2_mean", r.r2_mean}, {"n", targets.rows}};
}

Json score_key(const std::string& ref_path, const std::string& est_path) {
  const auto ref = load_keys(ref_path);
  const auto est = load_keys(est_path);
  std::vector<std::string> only_ref, only_est;
  for (const auto& kv : ref)
    if (!est.count(kv.first)) only_ref.push_back(kv.first);
  for (const auto& kv : est)
    if (!ref.count(kv.first)) only_est.push_back(kv.first);
  if (!only_ref.empty() || !only_est.empty()) {
    std::string msg = "the files hold different ids: ";
    if (!only_ref.empty()) msg += list_ids(only_ref, ref_path);
    if (!only_ref.empty() && !only_est.empty()) msg += ", ";
    if (!only_est.empty()) msg += list_ids(only_est, est_path);
    throw Error(msg);
  }
  std::vector<int> r, e;
  for (const auto& kv : ref) {
    r.push_back(kv.second);
    e.push_back(est.at(kv.first));
  }
  const m::KeyScores s = m::key(r, e);
  return Json{{"weighted_score", s.weighted_score}, {"accuracy", s.accuracy},
              {"n", static_cast<int64_t>(r.size())}};
}

// One kind of metrics: its two inputs (option name and help) and how they are scored.
struct Kind {
  const char* name;
  const char *first, *first_help, *second, *second_help;
  const char* description;
  Json (*score)(const std::string& first, const std::string& second);
};

const Kind kKinds[] = {
    {"multiclass", "targets", "class indices [N] (.npy)", "scores", "scores [N, C] (.npy)",
     "Multi-class accuracy. targets: class indices [N] (int64/int32, or floats holding whole\n"
     "numbers) in [0, C); scores: [N, C] logits or probabilities. Prints\n"
     "{\"accuracy\", \"top5_accuracy\", \"n\", \"classes\"}: accuracy = argmax (first maximum) ==\n"
     "target; top5_accuracy = scikit-learn's top_k_accuracy_score(k=5, labels=range(C)): target\n"
     "among the 5 highest scores, equal scores ranking the higher class index first (1 when C <= 5).",
     score_multiclass},
    {"multilabel", "targets", "0/1 targets [N, C] (.npy)", "scores", "scores (logits) [N, C] (.npy)",
     "Multi-label tagging, macro over classes. targets: 0/1 [N, C] (bool, integer or float);\n"
     "scores: [N, C] logits. Prints {\"roc_auc_macro\", \"ap_macro\", \"f1_macro\",\n"
     "\"skipped_classes\", \"n\", \"classes\"}: scikit-learn's roc_auc_score and\n"
     "average_precision_score per class (equal scores are one threshold), F1 with a class\n"
     "predicted when sigmoid(score) > 0.5 (score > 0); each the mean over the classes with both\n"
     "a positive and a negative target. skipped_classes counts the others; if every class\n"
     "would be skipped it is an error.",
     score_multilabel},
    {"regression", "targets", "targets [N, K] (.npy)", "scores", "predictions [N, K] (.npy)",
     "Regression. targets and scores (predictions): [N, K] or [N] (= [N, 1]), N >= 2. Prints\n"
     "{\"r2\": [per output], \"r2_mean\", \"n\"}: scikit-learn's r2_score per output,\n"
     "1 - sum (y - p)^2 / sum (y - mean y)^2; a constant target column scores 1 if predicted\n"
     "exactly, else 0. r2_mean is the plain mean over outputs.",
     score_regression},
    {"key", "ref", "reference keys (.tsv)", "est", "estimated keys (.tsv)",
     "Musical key. Each file has one 'id<TAB>key' line per item, keys spelled as mir_eval reads\n"
     "them ('Eb minor', 'C# major': tonic A-G with # or b, any case; mode 'major' or 'minor';\n"
     "enharmonics equal). Both files must hold the same ids, each once. Prints\n"
     "{\"weighted_score\", \"accuracy\", \"n\"}: the mean over ids of mir_eval.key.weighted_score\n"
     "(1 same key, 0.5 estimate a fifth above in the same mode, 0.3 relative, 0.2 parallel,\n"
     "else 0) and the fraction of exact matches.",
     score_key},
};

int run(const Kind& kind, int argc, char** argv) {
  const std::string first = kind.first, second = kind.second;
  Args args(std::string("metrics ") + kind.name, "--" + first + " <file> --" + second + " <file>", kind.description);
  args.option(first, "", kind.first_help);
  args.option(second, "", kind.second_help);
  if (!args.parse(argc, argv)) return 0;
  const Json j = kind.score(required(args, first), required(args, second));
  std::cout << j.dump() << "\n";
  return 0;
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
    std::cerr << "mert metrics: error: missing kind (multiclass, multilabel, regression or key; "
                 "see 'mert metrics --help')\n";
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
    error = "unknown kind '" + kind + "' (multiclass, multilabel, regression or key; see --help)";
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
