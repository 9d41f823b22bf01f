// The k-means teacher of a label run: teacher features on the model grid, each frame assigned to
// its nearest centroid (one stream per codebook, or one stream of combined ids).
#include <climits>
#include <nlohmann/json.hpp>

#include "mert/error.h"
#include "teachers/teacher_runs.h"
#include "util/file_hash.h"

namespace mert {
namespace {

class KmeansLabeler : public Labeler {
 public:
  KmeansLabeler(const std::string& path, bool combine, int jobs)
      : path_(path), cb_(load_codebook(path)), combine_(combine), params_(cb_.params()),
        extractors_(static_cast<size_t>(std::max(1, jobs))) {
    if (cb_.features.empty())
      throw Error(path + ": this codebook was fitted on .npy frames, so it does not know which feature to "
                  "compute from audio; fit it on audio with a teacher feature instead");
    if (combine_)
      for (const auto& c : cb_.centroids) {
        combined_ *= c.rows;
        if (combined_ > INT32_MAX) throw Error("combined labels: the product of the cluster counts exceeds 2^31");
      }
  }

  int64_t sample_rate() const override { return static_cast<int64_t>(params_.sample_rate); }
  std::vector<std::string> stream_names(const std::string& name) const override {
    if (cb_.size() == 1 || combine_) return {name};
    std::vector<std::string> names;
    for (size_t c = 0; c < cb_.size(); ++c) names.push_back(name + std::to_string(c));
    return names;
  }
  std::vector<int64_t> vocab_sizes() const override {
    if (combine_) return {combined_};
    std::vector<int64_t> v;
    for (const auto& c : cb_.centroids) v.push_back(c.rows);
    return v;
  }
  std::string teacher_path() const override { return path_; }
  std::string identity_json() const override {
    nlohmann::ordered_json j;
    j["kind"] = "kmeans";
    j["codebook_fingerprint"] = util::file_fingerprint(path_);
    j["combine"] = combine_;
    return j.dump();
  }
  std::string describe() const override {
    return cb_.feature_spec() + " codebook" + (cb_.size() > 1 ? "s" : "") + (combine_ ? ", combined" : "");
  }

  EntryLabels label(const std::vector<float>& samples, const ModelGrid& grid, int worker) override {
    auto& ex = extractors_.at(static_cast<size_t>(worker));
    if (ex.empty())
      for (auto f : cb_.features) ex.push_back(std::make_unique<TeacherExtractor>(f, params_));
    const int64_t n = static_cast<int64_t>(samples.size());
    EntryLabels per_codebook(cb_.size());
    for (size_t c = 0; c < cb_.size(); ++c) {
      FeatureMatrix f = ex[c]->on_grid(samples.data(), n, grid);
      per_codebook[c].resize(static_cast<size_t>(f.rows));
      kmeans_assign(cb_.centroids[c], f.data.data(), f.rows, per_codebook[c].data(), nullptr, 1);
    }
    if (!combine_) return per_codebook;
    EntryLabels one(1, std::vector<int32_t>(per_codebook[0].size(), 0));
    for (size_t t = 0; t < one[0].size(); ++t) {
      int64_t id = 0;
      for (size_t c = 0; c < cb_.size(); ++c) id = id * cb_.centroids[c].rows + per_codebook[c][t];
      one[0][t] = static_cast<int32_t>(id);
    }
    return one;
  }

 private:
  std::string path_;
  Codebook cb_;
  bool combine_;
  TeacherParams params_;
  int64_t combined_ = 1;
  std::vector<std::vector<std::unique_ptr<TeacherExtractor>>> extractors_;  // per worker
};

}  // namespace

std::unique_ptr<Labeler> make_kmeans_labeler(const std::string& codebook_path, bool combine, int jobs) {
  return std::make_unique<KmeansLabeler>(codebook_path, combine, jobs);
}

}  // namespace mert
