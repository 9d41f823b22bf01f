#pragma once
// Subcommands of the `mert` tool. Each returns the process exit code and throws mert::Error
// for problems the user must fix (printed as one line by main).
namespace mert::cli {

int cmd_info(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_init(int argc, char** argv);
int cmd_gen_audio(int argc, char** argv);
int cmd_synth(int, char**);
int cmd_features(int argc, char** argv);
int cmd_label(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_pretrain(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_probe(int argc, char** argv);
int cmd_metrics(int argc, char** argv);  // bad input: one line on stderr, exit 2

}  // namespace mert::cli
