#pragma once
// Subcommands of the `mert` tool. Each returns the process exit code and throws mert::Error
// for problems the user must fix (printed as one line by main). Which ones exist depends on the
// library layers built (MERT_HAVE_TEACHERS, _EVAL, _TRAIN, _SYNTH; see CMakeLists.txt).
#include <vector>

namespace mert::cli {

struct Command {
  const char* name;
  const char* summary;  // one line for `mert --help`
  int (*run)(int argc, char** argv);
};

// Every command this build has, in the order `mert --help` lists them.
const std::vector<Command>& commands();

int cmd_info(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_init(int argc, char** argv);
int cmd_gen_audio(int argc, char** argv);
int cmd_bench(int argc, char** argv);
#ifdef MERT_HAVE_SYNTH
int cmd_synth(int argc, char** argv);
#endif
#ifdef MERT_HAVE_TEACHERS
int cmd_features(int argc, char** argv);
int cmd_label(int argc, char** argv);
int cmd_codec(int argc, char** argv);
#endif
#ifdef MERT_HAVE_TRAIN
int cmd_pretrain(int argc, char** argv);
int cmd_export(int argc, char** argv);
#endif
#ifdef MERT_HAVE_EVAL
int cmd_probe(int argc, char** argv);
int cmd_metrics(int argc, char** argv);  // bad input: one line on stderr, exit 2
#endif

}  // namespace mert::cli
