// The EnCodec teacher of a label run (MERT-v1): the file's codes at the chosen bandwidth, one
// stream per codebook, cropped to the model's frame count (see make_encodec_labeler).
#include <nlohmann/json.hpp>
#include <sstream>

#include "mert/error.h"
#include "teachers/encodec.h"
#include "teachers/teacher_runs.h"
#include "util/file_hash.h"

namespace mert {
namespace {

class EncodecLabeler : public Labeler {
 public:
  EncodecLabeler(const std::string& path, double kbps, int64_t batch)
      : weights_(encodec::load_encodec_weights(path)), source_(weights_.source), codec_(weights_), kbps_(kbps),
        n_q_(codec_.config().quantizers_for_bandwidth(kbps)), batch_(batch) {
    if (batch < 1) throw Error("the EnCodec batch must be >= 1 file");
    weights_.tensors.clear();  // the codec holds what it needs
  }

  int64_t sample_rate() const override { return codec_.config().sampling_rate; }
  std::vector<std::string> stream_names(const std::string& name) const override {
    std::vector<std::string> names;
    for (int64_t q = 0; q < n_q_; ++q) names.push_back(name + "_" + std::to_string(q));
    return names;
  }
  std::vector<int64_t> vocab_sizes() const override {
    return std::vector<int64_t>(static_cast<size_t>(n_q_), codec_.config().codebook_size);
  }
  std::string teacher_path() const override { return source_; }
  std::string identity_json() const override {
    nlohmann::ordered_json j;
    j["kind"] = "encodec";
    j["weights_fingerprint"] = util::file_fingerprint(source_);
    j["bandwidth_kbps"] = kbps_;
    j["codebooks"] = n_q_;
    return j.dump();
  }
  std::string describe() const override {
    std::ostringstream os;
    os << "EnCodec " << codec_.config().sampling_rate / 1000 << " kHz at " << kbps_ << " kbps (" << n_q_ << " x "
       << codec_.config().codebook_size << ")";
    return os.str();
  }

  EntryLabels label(const std::vector<float>& samples, const ModelGrid& grid, int worker) override {
    return label_batch({&samples}, grid, worker)[0];
  }
  int64_t batch_files() const override { return batch_; }
  std::vector<EntryLabels> label_batch(const std::vector<const std::vector<float>*>& files, const ModelGrid& grid,
                                       int) override {
    if (grid.hop() != codec_.config().hop())
      throw Error("EnCodec's hop (" + std::to_string(codec_.config().hop()) + " samples) differs from the model's (" +
                  std::to_string(grid.hop()) + "): its codes cannot label the model's frames");
    const std::vector<at::Tensor> embeddings =
        codec_.embed_many(files, encodec::Encodec::kDefaultBlockSamples, static_cast<int64_t>(files.size()));
    std::vector<EntryLabels> out;
    for (size_t i = 0; i < files.size(); ++i) {
      const int64_t frames = grid.frames(static_cast<int64_t>(files[i]->size()));
      const at::Tensor codes = codec_.quantize(embeddings[i], n_q_)[0].contiguous();  // [n_q, ceil(n / hop)]
      if (codes.size(1) < frames)
        throw Error("EnCodec gave " + std::to_string(codes.size(1)) + " frames for " + std::to_string(frames) +
                    " model frames (the codec's hop must match the model's)");
      EntryLabels labels(static_cast<size_t>(n_q_));
      const int64_t* p = codes.data_ptr<int64_t>();
      for (int64_t q = 0; q < n_q_; ++q)
        labels[static_cast<size_t>(q)].assign(p + q * codes.size(1), p + q * codes.size(1) + frames);
      out.push_back(std::move(labels));
    }
    return out;
  }

 private:
  encodec::EncodecWeights weights_;
  std::string source_;
  encodec::Encodec codec_;
  double kbps_;
  int64_t n_q_, batch_;
};

}  // namespace

std::unique_ptr<Labeler> make_encodec_labeler(const std::string& codec_path, double kbps, int64_t batch) {
  return std::make_unique<EncodecLabeler>(codec_path, kbps, batch);
}

}  // namespace mert
