// `mert export`: a run dir's latest checkpoint -> a Hugging Face-layout model dir that
// `mert embed` (and transformers' MERTModel) loads. The pre-training heads stay behind.
#include <filesystem>

#include "mert/error.h"
#include "model/model_dir.h"
#include "mert/pretrain.h"
#include "train/checkpoint.h"

namespace mert {

void export_pretrained(const std::string& run_dir, const std::string& model_dir, int64_t update,
                       const std::string& weight_dtype) {
  const std::string ck = update < 0 ? train::checkpoint_path(run_dir) : train::kept_checkpoint_path(run_dir, update);
  if (!std::filesystem::exists(ck)) {
    if (update >= 0)
      throw Error(run_dir + " kept no checkpoint of update " + std::to_string(update) + " (" + ck +
                  "; see the keep_every setting)");
    throw Error(run_dir + " has no checkpoint (" + ck + "); is it a `mert pretrain` run dir?");
  }
  train::CheckpointState s = train::load_checkpoint(ck);
  const PretrainConfig cfg = PretrainConfig::from_json_string(s.config_json, ck);
  MertModel model(cfg.model);
  load_weights_into(*model, s.model, ck);
  PreprocessorConfig pre;
  pre.do_normalize = false;  // pre-training feeds the raw waveform (fairseq normalize: false)
  pre.sampling_rate = cfg.model.sample_rate;
  save_model_dir(model_dir, cfg.model, pre, *model, weight_dtype);
}

}  // namespace mert
