#pragma once
// A fitted k-means codebook, or several (a product codebook: one per feature, e.g. log-mel
// clusters x chroma clusters), with everything needed to label new audio the same way: the
// features and their parameters. Stored as a .safetensors file: tensors "codebook.<i>"
// [clusters_i, dim_i] float32, and header metadata (format, features, parameters, fit stats).
#include <string>
#include <vector>

#include "mert/feature_matrix.h"
#include "mert/teacher_features.h"

namespace mert {

struct Codebook {
  std::vector<TeacherFeature> features;    // one per codebook; empty when fitted on raw .npy frames
  std::vector<FeatureMatrix> centroids;    // one per codebook
  std::string params_json;                 // TeacherParams::to_json() at fit time
  std::vector<double> inertia;             // per codebook, on the fitted frames
  int64_t fitted_frames = 0;
  std::string algorithm;                   // "minibatch" | "lloyd"
  uint64_t seed = 0;

  size_t size() const { return centroids.size(); }
  std::string feature_spec() const;        // "mfcc", "logmel+chroma", or "npy"
  TeacherParams params() const;            // parsed params_json
};

void save_codebook(const std::string& path, const Codebook& cb);  // atomic
// Throws mert::Error naming the file when it is not a mert codebook or is inconsistent.
Codebook load_codebook(const std::string& path);

}  // namespace mert
