// `mert export`: a run dir's latest checkpoint -> a Hugging Face-layout model dir that
// `mert embed` (and transformers' MERTModel) loads. The pre-training heads stay behind.
#include <filesystem>

#include "mert/error.h"
#include "mert/model_dir.h"
#include "mert/pretrain.h"
#include "train/checkpoint.h"

namespace mert {

void export_pretrained(const std::string& run_dir, const std::string& model_dir) {
  const std::string ck = train::checkpoint_path(run_dir);
  if (!std::filesystem::exists(ck))
    throw Error(run_dir + " has no checkpoint (" + ck + "); is it a `mert pretrain` run dir?");
  train::CheckpointState s = train::load_checkpoint(ck);
  const PretrainConfig cfg = PretrainConfig::from_json_string(s.config_json, ck);
  MertModel model(cfg.model);
  load_weights_into(*model, s.model, ck);
  PreprocessorConfig pre;
  pre.do_normalize = false;  // pre-training feeds the raw waveform (fairseq normalize: false)
  pre.sampling_rate = cfg.model.sample_rate;
  save_model_dir(model_dir, cfg.model, pre, *model);
}

}  // namespace mert
