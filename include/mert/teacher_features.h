#pragma once
// The teacher features (CQT, MFCC, log-mel, chroma) behind one interface, and their alignment
// to the model's frame grid: one row per conv-front-end frame.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mert/chroma.h"
#include "mert/cqt.h"
#include "mert/feature_matrix.h"
#include "mert/logmel.h"
#include "mert/mfcc.h"

namespace mert {

enum class TeacherFeature { Cqt, Mfcc, LogMel, Chroma };

TeacherFeature parse_teacher_feature(const std::string& name);  // cqt | mfcc | logmel | chroma
std::string teacher_feature_name(TeacherFeature f);

// Parameters of every feature; sample_rate is the rate audio is decoded at and overrides the
// per-feature rates so they cannot disagree.
struct TeacherParams {
  double sample_rate = 24000;
  CqtConfig cqt;
  MfccConfig mfcc;
  LogMelConfig logmel;
  ChromaConfig chroma;
  TeacherParams with_rate(double sr) const;  // copy with every sample rate set to sr
  std::string to_json() const;               // all parameters, for settings files and codebooks
  // Overrides the fields present in `json` (same layout as to_json(); unknown keys are errors).
  static TeacherParams from_json(const std::string& json, const TeacherParams& base);
  static TeacherParams from_json(const std::string& json);
  void validate() const;                     // every feature's config
};

// Output width of a feature (CQT bins, 39 for MFCC with deltas, mels, 12 for chroma).
int64_t teacher_feature_dim(TeacherFeature f, const TeacherParams& params);

// "mfcc", "logmel+chroma", ...: the '+'-separated features of a (product) codebook.
std::vector<TeacherFeature> parse_feature_list(const std::string& spec);
std::string feature_list_name(const std::vector<TeacherFeature>& features);

// The model frame grid: frame t starts at sample t * hop; the frame count for S samples is the
// conv front end's output length (ModelConfig::frames_for_samples).
struct ModelGrid {
  std::vector<int64_t> conv_kernel{10, 3, 3, 3, 3, 2, 2};
  std::vector<int64_t> conv_stride{5, 2, 2, 2, 2, 2, 2};
  int64_t frames(int64_t num_samples) const;
  int64_t hop() const;  // product of the strides: 320 for MERT
};

// Resamples natively framed features (native frame j centred at first_center + j*step samples)
// onto the model grid: row t is the feature at sample t*grid_hop, linearly interpolated between
// the two nearest native frames and clamped at the ends. When the native framing is the model's
// (first_center 0, step == grid_hop, as for the CQT with hop 320) this copies frame t exactly,
// which is MERT's own alignment (CQT frame t <-> model frame t, truncated to T).
FeatureMatrix align_to_grid(const FeatureMatrix& native, double first_center, double step, int64_t frames,
                            int64_t grid_hop);

class TeacherExtractor {
 public:
  TeacherExtractor(TeacherFeature type, const TeacherParams& params);
  ~TeacherExtractor();
  TeacherExtractor(const TeacherExtractor&) = delete;
  TeacherExtractor& operator=(const TeacherExtractor&) = delete;

  TeacherFeature type() const { return type_; }
  int64_t dim() const;
  // The feature's own framing.
  FeatureMatrix native(const float* x, int64_t n);
  // The same, but an input too short for one native frame is zero-padded until it gives one.
  FeatureMatrix native_padded(const float* x, int64_t n);
  // One row per model frame (grid.frames(n) rows). Inputs too short for one native frame
  // (MFCC's 25 ms window) are zero-padded to one native frame first.
  FeatureMatrix on_grid(const float* x, int64_t n, const ModelGrid& grid);

 private:
  double first_center() const;
  double step() const;
  int64_t native_frames(int64_t n) const;
  TeacherFeature type_;
  TeacherParams params_;
  std::unique_ptr<Cqt> cqt_;
  std::unique_ptr<Mfcc> mfcc_;
  std::unique_ptr<LogMel> logmel_;
};

}  // namespace mert
