#include "teachers/codebook.h"

#include <torch/torch.h>

#include <sstream>
#include <stdexcept>

#include "mert/error.h"
#include "io/weights.h"

namespace mert {

std::string Codebook::feature_spec() const { return features.empty() ? "npy" : feature_list_name(features); }

TeacherParams Codebook::params() const { return params_json.empty() ? TeacherParams{} : TeacherParams::from_json(params_json); }

namespace {
std::string join_doubles(const std::vector<double>& v) {
  std::ostringstream os;
  os.precision(17);
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}
}  // namespace

void save_codebook(const std::string& path, const Codebook& cb) {
  if (cb.centroids.empty()) throw Error("refusing to save an empty codebook");
  if (!cb.features.empty() && cb.features.size() != cb.centroids.size())
    throw Error("codebook has " + std::to_string(cb.centroids.size()) + " centroid sets but " +
                std::to_string(cb.features.size()) + " features");
  TensorMap tensors;
  for (size_t i = 0; i < cb.centroids.size(); ++i) {
    const FeatureMatrix& c = cb.centroids[i];
    tensors["codebook." + std::to_string(i)] =
        torch::from_blob(const_cast<float*>(c.data.data()), {c.rows, c.cols}, torch::kFloat32).clone();
  }
  std::map<std::string, std::string> meta{
      {"format", "mert-codebook"},
      {"version", "1"},
      {"features", cb.feature_spec()},
      {"count", std::to_string(cb.centroids.size())},
      {"params", cb.params_json},
      {"inertia", join_doubles(cb.inertia)},
      {"fitted_frames", std::to_string(cb.fitted_frames)},
      {"algorithm", cb.algorithm},
      {"seed", std::to_string(cb.seed)},
  };
  write_safetensors(path, tensors, meta);
}

Codebook load_codebook(const std::string& path) {
  std::map<std::string, std::string> meta;
  try {
    meta = read_safetensors_metadata(path);
  } catch (const Error& e) {
    throw Error(path + ": not a mert codebook (" + e.what() + ")");
  }
  auto get = [&](const char* key) -> std::string {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error(path + ": not a mert codebook (metadata '" + key + "' missing)");
    return it->second;
  };
  if (get("format") != "mert-codebook") throw Error(path + ": not a mert codebook (format is '" + get("format") + "')");
  if (get("version") != "1") throw Error(path + ": unsupported codebook version " + get("version"));
  Codebook cb;
  const std::string spec = get("features");
  if (spec != "npy") cb.features = parse_feature_list(spec);
  cb.params_json = get("params");
  cb.algorithm = get("algorithm");
  int64_t count = 0;
  try {
    count = std::stoll(get("count"));
    cb.fitted_frames = std::stoll(get("fitted_frames"));
    cb.seed = std::stoull(get("seed"));
    const std::string inertia = get("inertia");
    std::stringstream ss(inertia);
    for (std::string x; std::getline(ss, x, ',');) cb.inertia.push_back(std::stod(x));
  } catch (const std::logic_error&) {  // std::stoll/stod: invalid_argument, out_of_range
    throw Error(path + ": corrupt codebook metadata");
  }
  const TensorMap tensors = read_safetensors(path);
  if (count < 1 || static_cast<int64_t>(tensors.size()) != count)
    throw Error(path + ": codebook declares " + std::to_string(count) + " codebooks but holds " +
                std::to_string(tensors.size()) + " tensors");
  for (int64_t i = 0; i < count; ++i) {
    auto it = tensors.find("codebook." + std::to_string(i));
    if (it == tensors.end()) throw Error(path + ": tensor codebook." + std::to_string(i) + " missing");
    const at::Tensor& t = it->second;
    if (t.dim() != 2 || t.scalar_type() != torch::kFloat32 || t.size(0) < 1 || t.size(1) < 1)
      throw Error(path + ": codebook." + std::to_string(i) + " must be a non-empty float32 matrix");
    if (!torch::isfinite(t).all().item<bool>()) throw Error(path + ": codebook." + std::to_string(i) + " has NaN/Inf");
    FeatureMatrix m(t.size(0), t.size(1));
    std::memcpy(m.data.data(), t.contiguous().data_ptr<float>(), m.data.size() * sizeof(float));
    cb.centroids.push_back(std::move(m));
  }
  if (!cb.features.empty() && cb.features.size() != cb.centroids.size())
    throw Error(path + ": features '" + spec + "' do not match the " + std::to_string(count) + " codebooks");
  if (!cb.features.empty()) {
    TeacherParams p = cb.params();
    for (size_t i = 0; i < cb.features.size(); ++i) {
      const int64_t dim = teacher_feature_dim(cb.features[i], p);
      if (dim != cb.centroids[i].cols)
        throw Error(path + ": codebook." + std::to_string(i) + " has dim " + std::to_string(cb.centroids[i].cols) +
                    " but feature " + teacher_feature_name(cb.features[i]) + " has " + std::to_string(dim));
    }
  }
  return cb;
}

}  // namespace mert
