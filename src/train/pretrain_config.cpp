#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "io/json_value.h"
#include "mert/error.h"
#include "model/presets.h"
#include "mert/pretrain.h"

namespace mert {
namespace {

using nlohmann::json;

// The train fields in one table, so JSON in/out, --key overrides and validation stay in step.
template <typename Fn>
void for_each_train_field(PretrainConfig& c, Fn&& fn) {
  fn("final_dim", c.final_dim);
  fn("logit_temp", c.logit_temp);
  fn("mask_prob", c.mask_prob);
  fn("mask_length", c.mask_length);
  fn("mask_min_masks", c.mask_min_masks);
  fn("loss_weights", c.loss_weights);
  fn("cqt_loss", c.cqt_loss);
  fn("cqt_bins", c.cqt_bins);
  fn("cqt_log_gain", c.cqt_log_gain);
  fn("cqt_all_frames", c.cqt_all_frames);
  fn("feature_grad_mult", c.feature_grad_mult);
  fn("mixup_prob", c.mixup_prob);
  fn("mixup_min_len", c.mixup_min_len);
  fn("mixup_max_len", c.mixup_max_len);
  fn("mixup_max_segments", c.mixup_max_segments);
  fn("lr", c.lr);
  fn("adam_beta1", c.adam_beta1);
  fn("adam_beta2", c.adam_beta2);
  fn("adam_eps", c.adam_eps);
  fn("weight_decay", c.weight_decay);
  fn("warmup_steps", c.warmup_steps);
  fn("max_steps", c.max_steps);
  fn("clip_norm", c.clip_norm);
  fn("update_freq", c.update_freq);
  fn("dtype", c.dtype);
  fn("batch_size", c.batch_size);
  fn("crop_samples", c.crop_samples);
  fn("min_samples", c.min_samples);
  fn("seed", c.seed);
  fn("log_every", c.log_every);
  fn("save_every", c.save_every);
  fn("keep_every", c.keep_every);
  fn("valid_every", c.valid_every);
  fn("valid_batches", c.valid_batches);
}

json train_json(const PretrainConfig& c) {
  json j;
  for_each_train_field(const_cast<PretrainConfig&>(c), [&](const char* k, auto& v) { j[k] = v; });
  return j;
}

// Parses command-line text into the JSON type the field already has.
json parse_like(const json& like, const std::string& key, const std::string& text) {
  auto bad = [&](const char* what) {
    return Error("--" + key + ": '" + text + "' is not " + what);
  };
  try {
    if (like.is_boolean()) {
      if (text == "true" || text == "1") return true;
      if (text == "false" || text == "0") return false;
      throw bad("true or false");
    }
    if (like.is_number_unsigned() || like.is_number_integer()) {
      size_t used = 0;
      const long long v = std::stoll(text, &used);
      if (used != text.size()) throw bad("an integer");
      return v;
    }
    if (like.is_number()) {
      size_t used = 0;
      const double v = std::stod(text, &used);
      if (used != text.size()) throw bad("a number");
      return v;
    }
    if (like.is_array()) {
      json arr = json::array();
      size_t start = 0;
      while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        arr.push_back(parse_like(like.empty() ? json(0.0) : like[0], key, item));
        start = comma + 1;
      }
      return arr;
    }
  } catch (const std::invalid_argument&) {
    throw bad(like.is_number_integer() ? "an integer" : "a number");
  } catch (const std::out_of_range&) {
    throw bad("in range");
  }
  return text;  // strings
}

template <typename T>
void read_field(const json& j, const char* key, T& out, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if (!io::json_to(*it, out))
    throw Error(origin + ": train key '" + std::string(key) + "' has the wrong type or is out of range (" +
                it->type_name() + " " + it->dump().substr(0, 40) + ")");
}

}  // namespace

PretrainConfig PretrainConfig::preset_named(const std::string& name) {
  PretrainConfig c;
  c.preset = name;
  if (name == "mert-v1-95m") {
    c.model = preset_config("v1-95m");
    return c;  // the defaults above are the 95M recipe (batch size scaled to one CPU machine)
  }
  if (name == "mert-v1-330m") {
    c.model = preset_config("v1-330m");
    c.final_dim = 128;
    c.lr = 1.5e-3;
    c.clip_norm = 1.0;
    c.update_freq = 8;
    c.feature_grad_mult = 1.0;
    c.mixup_max_len = 36000;
    c.crop_samples = 122880;  // 5.12 s: 383 frames
    return c;
  }
  if (name == "tiny") {
    // The 95M architecture shrunk to ~1.2M parameters (see mert init --preset tiny): learns
    // clear structure from a synthetic corpus in minutes on two cores.
    c.model = preset_config("tiny");
    c.final_dim = 32;
    c.lr = 1e-3;
    c.warmup_steps = 100;
    c.max_steps = 1500;
    // 0.1 as in the 95M recipe: at 1.0 the feature penalty drove the conv features to zero
    // within ~100 updates and the held-out loss stayed at the unigram level.
    c.feature_grad_mult = 0.1;
    c.crop_samples = 48000;  // 2 s
    c.min_samples = 24000;
    c.batch_size = 8;
    c.model.layerdrop = 0.0;
    c.log_every = 10;
    c.save_every = 100;
    c.valid_every = 100;
    return c;
  }
  if (name == "small") {
    // The shipped default model's recipe (scripts/train-default-model.sh): 6 x 256, hours on two
    // cores. Differs from the 95M recipe where small scale needs it: short crops, a short
    // schedule, no LayerDrop, and the CQT target log-compressed (cqt_log_gain) so that the
    // musical teacher carries gradient next to the cross-entropy.
    c.model = preset_config("small");
    c.model.layerdrop = 0.0;
    c.final_dim = 64;
    // lr 5e-4 after 500 warmup updates collapsed this post-LN stack right after the peak
    // (docs/RESULTS.md, "A run that collapsed"): a lower peak and a short schedule.
    c.lr = 3e-4;
    c.warmup_steps = 400;
    c.max_steps = 2000;
    c.feature_grad_mult = 0.1;
    c.crop_samples = 48000;  // 2 s
    c.min_samples = 24000;
    c.batch_size = 8;
    c.cqt_log_gain = 100;
    c.log_every = 10;
    c.save_every = 100;
    c.keep_every = 500;
    c.valid_every = 250;
    return c;
  }
  throw Error("unknown pre-training preset '" + name + "' (known: " + preset_names() + ")");
}

std::string PretrainConfig::preset_names() { return "tiny, small, mert-v1-95m, mert-v1-330m"; }

std::string PretrainConfig::to_json_string() const {
  json j;
  j["preset"] = preset;
  j["model"] = json::parse(model.to_json_string());
  j["train"] = train_json(*this);
  return j.dump(2) + "\n";
}

PretrainConfig PretrainConfig::from_json_string(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    throw Error(origin + ": malformed JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(origin + ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "preset" && it.key() != "model" && it.key() != "train")
      throw Error(origin + ": unknown top-level key '" + it.key() + "' (expected preset, model, train)");
  PretrainConfig c = preset_named(j.value("preset", std::string("tiny")));
  if (j.contains("model")) {
    // Model keys the file leaves out keep the preset's values.
    json m = json::parse(c.model.to_json_string());
    for (auto it = j["model"].begin(); it != j["model"].end(); ++it) m[it.key()] = it.value();
    c.model = ModelConfig::from_json_string(m.dump(), origin);
  }
  if (j.contains("train")) {
    const json& t = j["train"];
    const json known = train_json(c);
    for (auto it = t.begin(); it != t.end(); ++it)
      if (!known.contains(it.key())) throw Error(origin + ": unknown train key '" + it.key() + "'");
    for_each_train_field(c, [&](const char* k, auto& v) { read_field(t, k, v, origin); });
  }
  c.validate();
  return c;
}

std::vector<std::string> PretrainConfig::differences(const PretrainConfig& other) const {
  json ja = json::parse(to_json_string()), jb = json::parse(other.to_json_string());
  ja["train"].erase("max_steps");
  jb["train"].erase("max_steps");
  std::vector<std::string> diff;
  for (const char* part : {"model", "train"})
    for (auto it = ja[part].begin(); it != ja[part].end(); ++it)
      if (!jb[part].contains(it.key()) || jb[part][it.key()] != it.value()) diff.push_back(it.key());
  if (ja["preset"] != jb["preset"]) diff.push_back("preset");
  return diff;
}

bool PretrainConfig::is_key(const std::string& key) {
  PretrainConfig c;
  return train_json(c).contains(key) || json::parse(c.model.to_json_string()).contains(key);
}

void PretrainConfig::set(const std::string& key, const std::string& value) {
  json t = train_json(*this);
  if (t.contains(key)) {
    t[key] = parse_like(t[key], key, value);
    for_each_train_field(*this, [&](const char* k, auto& v) { read_field(t, k, v, "--" + key); });
    return;
  }
  json m = json::parse(model.to_json_string());
  if (!m.contains(key) || key == "architectures" || key == "model_type" || key == "torch_dtype")
    throw Error("unknown setting '" + key + "' (see `mert pretrain --help` and docs/PRETRAIN.md for the keys)");
  m[key] = parse_like(m[key], key, value);
  model = ModelConfig::from_json_string(m.dump(), "--" + key);
}

void PretrainConfig::validate() const {
  model.validate();
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("pre-training config: " + what);
  };
  need(final_dim > 0, "final_dim must be > 0");
  need(logit_temp > 0, "logit_temp must be > 0");
  need(mask_prob > 0 && mask_prob <= 1, "mask_prob must be in (0, 1]");
  need(mask_length >= 1 && mask_min_masks >= 1, "mask_length and mask_min_masks must be >= 1");
  need(loss_weights.size() == 2, "loss_weights needs two values: feature penalty, CQT");
  need(cqt_bins > 0 || !cqt_loss, "cqt_bins must be > 0 with cqt_loss");
  need(cqt_log_gain >= 0 && std::isfinite(cqt_log_gain), "cqt_log_gain must be >= 0 (0 = linear magnitude)");
  need(feature_grad_mult >= 0, "feature_grad_mult must be >= 0");
  need(mixup_prob >= 0 && mixup_prob <= 1, "mixup_prob must be in [0, 1]");
  need(mixup_min_len >= 1 && mixup_max_len >= mixup_min_len && mixup_max_segments >= 1,
       "mixup lengths need 1 <= mixup_min_len <= mixup_max_len and mixup_max_segments >= 1");
  need(lr > 0, "lr must be > 0");
  need(adam_beta1 >= 0 && adam_beta1 < 1 && adam_beta2 >= 0 && adam_beta2 < 1, "Adam betas must be in [0, 1)");
  need(adam_eps > 0 && weight_decay >= 0, "adam_eps must be > 0 and weight_decay >= 0");
  need(warmup_steps >= 0 && max_steps >= 1, "warmup_steps must be >= 0 and max_steps >= 1");
  need(clip_norm >= 0, "clip_norm must be >= 0");
  need(update_freq >= 1, "update_freq must be >= 1");
  need(dtype == "fp32" || dtype == "bf16", "dtype must be fp32 or bf16");
  need(batch_size >= 1, "batch_size must be >= 1");
  need(crop_samples >= model.receptive_field(), "crop_samples is shorter than the model's receptive field");
  need(min_samples >= model.receptive_field(), "min_samples is shorter than the model's receptive field");
  need(log_every >= 1 && save_every >= 1 && valid_every >= 0 && valid_batches >= 1,
       "log_every, save_every, valid_batches must be >= 1 and valid_every >= 0");
  need(keep_every >= 0 && (keep_every == 0 || keep_every % save_every == 0),
       "keep_every must be 0 (off) or a multiple of save_every");
}

double PretrainConfig::lr_at(int64_t update) const {
  // fairseq polynomial_decay with power 1: linear warmup from 0, then linear decay to 0.
  const double n = static_cast<double>(update + 1);
  if (update < warmup_steps) return lr * n / static_cast<double>(warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(1, max_steps - warmup_steps));
  return lr * std::max(0.0, 1.0 - static_cast<double>(update - warmup_steps) / span);
}

}  // namespace mert
