#include "mert/teacher_features.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "io/json_value.h"
#include "mert/config.h"
#include "mert/error.h"

namespace mert {

TeacherFeature parse_teacher_feature(const std::string& name) {
  if (name == "cqt") return TeacherFeature::Cqt;
  if (name == "mfcc") return TeacherFeature::Mfcc;
  if (name == "logmel") return TeacherFeature::LogMel;
  if (name == "chroma") return TeacherFeature::Chroma;
  throw Error("unknown feature '" + name + "' (expected cqt, mfcc, logmel or chroma)");
}

std::string teacher_feature_name(TeacherFeature f) {
  switch (f) {
    case TeacherFeature::Cqt: return "cqt";
    case TeacherFeature::Mfcc: return "mfcc";
    case TeacherFeature::LogMel: return "logmel";
    case TeacherFeature::Chroma: return "chroma";
  }
  return "?";
}

TeacherParams TeacherParams::with_rate(double sr) const {
  TeacherParams p = *this;
  p.sample_rate = sr;
  p.cqt.sample_rate = sr;
  p.mfcc.sample_rate = sr;
  p.logmel.sample_rate = sr;
  p.chroma.cqt.sample_rate = sr;
  return p;
}

namespace {
nlohmann::ordered_json cqt_json(const CqtConfig& c) {
  return {{"sample_rate", c.sample_rate}, {"hop", c.hop},
          {"fmin", c.fmin},               {"n_bins", c.n_bins},
          {"bins_per_octave", c.bins_per_octave}, {"filter_scale", c.filter_scale},
          {"center", c.center},           {"librosa_scaling", c.librosa_scaling}};
}
}  // namespace

std::string TeacherParams::to_json() const {
  nlohmann::ordered_json j;
  j["sample_rate"] = sample_rate;
  j["cqt"] = cqt_json(cqt);
  j["mfcc"] = {{"frame_length_ms", mfcc.frame_length_ms}, {"frame_shift_ms", mfcc.frame_shift_ms},
               {"num_ceps", mfcc.num_ceps},               {"num_mel_bins", mfcc.num_mel_bins},
               {"low_freq", mfcc.low_freq},               {"high_freq", mfcc.high_freq},
               {"preemphasis", mfcc.preemphasis},         {"cepstral_lifter", mfcc.cepstral_lifter},
               {"remove_dc_offset", mfcc.remove_dc_offset}, {"deltas", mfcc.deltas}};
  j["logmel"] = {{"n_fft", logmel.n_fft},   {"win_length", logmel.win_length}, {"hop", logmel.hop},
                 {"n_mels", logmel.n_mels}, {"f_min", logmel.f_min},           {"f_max", logmel.f_max},
                 {"center", logmel.center}, {"power", logmel.power},           {"log_offset", logmel.log_offset}};
  j["chroma"] = {{"cqt", cqt_json(chroma.cqt)}, {"normalize", chroma.normalize}};
  return j.dump();
}

int64_t ModelGrid::frames(int64_t len) const { return conv_output_length(conv_kernel, conv_stride, len); }

namespace {
using Json = nlohmann::json;

template <typename T>
void take(const Json& j, const char* key, T& field, std::vector<std::string>& seen) {
  if (!j.contains(key)) return;
  seen.emplace_back(key);
  if (!io::json_to(j.at(key), field))
    throw Error(std::string("teacher parameter '") + key + "' has the wrong type or is out of range (" +
                j.at(key).dump().substr(0, 40) + ")");
}

void reject_unknown(const Json& j, const std::vector<std::string>& seen, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(seen.begin(), seen.end(), it.key()) == seen.end())
      throw Error("unknown teacher parameter '" + where + it.key() + "'");
}

void cqt_from_json(const Json& j, CqtConfig& c, const std::string& where) {
  std::vector<std::string> seen;
  take(j, "sample_rate", c.sample_rate, seen);
  take(j, "hop", c.hop, seen);
  take(j, "fmin", c.fmin, seen);
  take(j, "n_bins", c.n_bins, seen);
  take(j, "bins_per_octave", c.bins_per_octave, seen);
  take(j, "filter_scale", c.filter_scale, seen);
  take(j, "center", c.center, seen);
  take(j, "librosa_scaling", c.librosa_scaling, seen);
  reject_unknown(j, seen, where);
}
}  // namespace

TeacherParams TeacherParams::from_json(const std::string& text, const TeacherParams& base) {
  TeacherParams p = base;
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(std::string("teacher parameters are not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("teacher parameters must be a JSON object");
  std::vector<std::string> seen;
  take(j, "sample_rate", p.sample_rate, seen);
  if (j.contains("cqt")) {
    seen.emplace_back("cqt");
    cqt_from_json(j["cqt"], p.cqt, "cqt.");
  }
  if (j.contains("mfcc")) {
    seen.emplace_back("mfcc");
    const Json& m = j["mfcc"];
    std::vector<std::string> s;
    take(m, "frame_length_ms", p.mfcc.frame_length_ms, s);
    take(m, "frame_shift_ms", p.mfcc.frame_shift_ms, s);
    take(m, "num_ceps", p.mfcc.num_ceps, s);
    take(m, "num_mel_bins", p.mfcc.num_mel_bins, s);
    take(m, "low_freq", p.mfcc.low_freq, s);
    take(m, "high_freq", p.mfcc.high_freq, s);
    take(m, "preemphasis", p.mfcc.preemphasis, s);
    take(m, "cepstral_lifter", p.mfcc.cepstral_lifter, s);
    take(m, "remove_dc_offset", p.mfcc.remove_dc_offset, s);
    take(m, "deltas", p.mfcc.deltas, s);
    reject_unknown(m, s, "mfcc.");
  }
  if (j.contains("logmel")) {
    seen.emplace_back("logmel");
    const Json& m = j["logmel"];
    std::vector<std::string> s;
    take(m, "n_fft", p.logmel.n_fft, s);
    take(m, "win_length", p.logmel.win_length, s);
    take(m, "hop", p.logmel.hop, s);
    take(m, "n_mels", p.logmel.n_mels, s);
    take(m, "f_min", p.logmel.f_min, s);
    take(m, "f_max", p.logmel.f_max, s);
    take(m, "center", p.logmel.center, s);
    take(m, "power", p.logmel.power, s);
    take(m, "log_offset", p.logmel.log_offset, s);
    reject_unknown(m, s, "logmel.");
  }
  if (j.contains("chroma")) {
    seen.emplace_back("chroma");
    const Json& m = j["chroma"];
    std::vector<std::string> s;
    if (m.contains("cqt")) {
      s.emplace_back("cqt");
      cqt_from_json(m["cqt"], p.chroma.cqt, "chroma.cqt.");
    }
    take(m, "normalize", p.chroma.normalize, s);
    reject_unknown(m, s, "chroma.");
  }
  reject_unknown(j, seen, "");
  return p.with_rate(p.sample_rate);
}

TeacherParams TeacherParams::from_json(const std::string& text) { return from_json(text, TeacherParams{}); }

void TeacherParams::validate() const {
  if (!(sample_rate > 0)) throw Error("teacher sample_rate must be positive");
  cqt.validate();
  mfcc.validate();
  logmel.validate();
  chroma.cqt.validate();
}

std::vector<TeacherFeature> parse_feature_list(const std::string& spec) {
  std::vector<TeacherFeature> out;
  size_t pos = 0;
  while (true) {
    const size_t plus = spec.find('+', pos);
    out.push_back(parse_teacher_feature(spec.substr(pos, plus == std::string::npos ? std::string::npos : plus - pos)));
    if (plus == std::string::npos) break;
    pos = plus + 1;
  }
  return out;
}

std::string feature_list_name(const std::vector<TeacherFeature>& features) {
  std::string s;
  for (auto f : features) s += (s.empty() ? "" : "+") + teacher_feature_name(f);
  return s;
}

int64_t ModelGrid::hop() const {
  int64_t h = 1;
  for (int64_t s : conv_stride) h *= s;
  return h;
}

FeatureMatrix align_to_grid(const FeatureMatrix& native, double first_center, double step, int64_t frames,
                            int64_t grid_hop) {
  if (frames > 0 && native.rows == 0) throw Error("cannot align an empty feature matrix to the model grid");
  FeatureMatrix out(frames, native.cols);
  const int64_t last = native.rows - 1;
  for (int64_t t = 0; t < frames; ++t) {
    const double pos = (static_cast<double>(t * grid_hop) - first_center) / step;
    float* dst = out.row(t);
    if (pos <= 0) {
      std::copy_n(native.row(0), native.cols, dst);
      continue;
    }
    if (pos >= static_cast<double>(last)) {
      std::copy_n(native.row(last), native.cols, dst);
      continue;
    }
    const int64_t j = static_cast<int64_t>(std::floor(pos));
    const float w = static_cast<float>(pos - static_cast<double>(j));
    const float* a = native.row(j);
    if (w == 0.0f) {  // exact frame: copy, so an identical framing gives identical bits
      std::copy_n(a, native.cols, dst);
      continue;
    }
    const float* b = native.row(j + 1);
    for (int64_t c = 0; c < native.cols; ++c) dst[c] = a[c] + w * (b[c] - a[c]);
  }
  return out;
}

TeacherExtractor::TeacherExtractor(TeacherFeature type, const TeacherParams& params)
    : type_(type), params_(params.with_rate(params.sample_rate)) {
  switch (type_) {
    case TeacherFeature::Cqt: cqt_ = std::make_unique<Cqt>(params_.cqt); break;
    case TeacherFeature::Chroma: cqt_ = std::make_unique<Cqt>(params_.chroma.cqt); break;
    case TeacherFeature::Mfcc: mfcc_ = std::make_unique<Mfcc>(params_.mfcc); break;
    case TeacherFeature::LogMel: logmel_ = std::make_unique<LogMel>(params_.logmel); break;
  }
}

TeacherExtractor::~TeacherExtractor() = default;

int64_t teacher_feature_dim(TeacherFeature f, const TeacherParams& p) {
  switch (f) {
    case TeacherFeature::Cqt: return p.cqt.n_bins;
    case TeacherFeature::Chroma: return 12;
    case TeacherFeature::Mfcc: return p.mfcc.deltas ? 3 * p.mfcc.num_ceps : p.mfcc.num_ceps;
    case TeacherFeature::LogMel: return p.logmel.n_mels;
  }
  return 0;
}

int64_t TeacherExtractor::dim() const { return teacher_feature_dim(type_, params_); }

FeatureMatrix TeacherExtractor::native(const float* x, int64_t n) {
  switch (type_) {
    case TeacherFeature::Cqt: return cqt_->compute(x, n);
    case TeacherFeature::Chroma: return chroma_from_cqt(cqt_->compute(x, n), params_.chroma);
    case TeacherFeature::Mfcc: return mfcc_->compute(x, n);
    case TeacherFeature::LogMel: return logmel_->compute(x, n);
  }
  return {};
}

double TeacherExtractor::first_center() const {
  if (mfcc_) return mfcc_->frame_center(0);
  if (logmel_) return logmel_->frame_center(0);
  return cqt_->frame_center(0);
}

double TeacherExtractor::step() const {
  if (mfcc_) return mfcc_->frame_center(1) - mfcc_->frame_center(0);
  if (logmel_) return logmel_->frame_center(1) - logmel_->frame_center(0);
  return cqt_->frame_center(1) - cqt_->frame_center(0);
}

int64_t TeacherExtractor::native_frames(int64_t n) const {
  if (mfcc_) return mfcc_->num_frames(n);
  if (logmel_) return logmel_->num_frames(n);
  return cqt_->num_frames(n);
}

FeatureMatrix TeacherExtractor::on_grid(const float* x, int64_t n, const ModelGrid& grid) {
  const int64_t frames = grid.frames(n);
  if (frames == 0) return FeatureMatrix(0, dim());
  return align_to_grid(native_padded(x, n), first_center(), step(), frames, grid.hop());
}

FeatureMatrix TeacherExtractor::native_padded(const float* x, int64_t n) {
  if (native_frames(n) > 0) return native(x, n);
  // Shorter than one native frame (e.g. 400..599 samples against MFCC's 600-sample window):
  // zero-pad to the shortest length that gives one frame.
  int64_t len = n;
  while (native_frames(len) == 0) len += 64;
  std::vector<float> padded(static_cast<size_t>(len), 0.0f);
  std::copy_n(x, n, padded.data());
  return native(padded.data(), len);
}

}  // namespace mert
