#include "commands.h"

namespace mert::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"info", "describe a model dir: config, parameters, dtype, system", cmd_info},
      {"embed", "extract hidden-state features from audio files into .npy", cmd_embed},
      {"convert", "turn a Hugging Face model dir (pytorch_model.bin) into a safetensors one", cmd_convert},
      {"init", "create a random-weight model dir (demos, tests, a start for pre-training)", cmd_init},
      {"gen-audio", "write a generated musical test clip (WAV)", cmd_gen_audio},
#ifdef MERT_HAVE_SYNTH
      {"synth", "render a labelled synthetic MIR dataset with FluidSynth (pitch, key, beat, ...)", cmd_synth},
#endif
#ifdef MERT_HAVE_TEACHERS
      {"features", "teacher features per file: CQT, MFCC, log-mel, chroma (.npy)", cmd_features},
#endif
      {"bench", "inference speed sweeps (threads, clip length, dtype, batch) with quality vs fp32", cmd_bench},
#ifdef MERT_HAVE_TEACHERS
      {"label", "k-means teacher labels: 'label fit' codebooks, 'label apply' fairseq label files", cmd_label},
      {"codec", "EnCodec codes per file ('codec encode'): MERT-v1's acoustic teacher", cmd_codec},
#endif
#ifdef MERT_HAVE_TRAIN
      {"pretrain", "pre-train with the MERT objective (resumable, one or many processes)", cmd_pretrain},
      {"export", "a pre-training run's checkpoint -> a model dir 'embed' loads", cmd_export},
#endif
#ifdef MERT_HAVE_EVAL
      {"probe", "score a model's features (or a hand-made baseline) on MIR tasks, MARBLE protocol", cmd_probe},
      {"metrics", "score saved predictions as scikit-learn / mir_eval do (accuracy, ROC-AUC, AP, R2, key)",
       cmd_metrics},
#endif
  };
  return all;
}

}  // namespace mert::cli
