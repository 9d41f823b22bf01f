#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "mert/pretrain.h"
#include "train/distributed.h"

namespace mert::cli {
namespace {

// 'NAME_*' -> NAME_0, NAME_1, ... while <label dir>/dict.NAME_<i>.txt exists (a numbered family
// such as EnCodec's codebooks); other names pass through.
std::vector<std::string> expand_label_names(const std::vector<std::string>& names, const std::string& label_dir) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (n.size() < 3 || n.compare(n.size() - 2, 2, "_*") != 0) {
      out.push_back(n);
      continue;
    }
    const std::string stem = n.substr(0, n.size() - 1);
    size_t found = 0;
    while (std::filesystem::exists(std::filesystem::path(label_dir) / ("dict." + stem + std::to_string(found) + ".txt")))
      out.push_back(stem + std::to_string(found++));
    if (found == 0)
      throw Error("--label-names " + n + ": no " + label_dir + "/dict." + stem + "0.txt (write labels with mert label apply)");
  }
  return out;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw Error(std::string("cannot read ") + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every key that `--key value` may override, with the tiny preset's values as examples.
std::string settings_help() {
  const auto j = nlohmann::json::parse(PretrainConfig::preset_named("tiny").to_json_string());
  std::string out = "\nEvery setting of the resolved config can be overridden as --key value (or --key=value;\n"
                    "dashes or underscores). Training settings:\n ";
  size_t col = 1;
  auto add = [&](const std::string& k) {
    if (col + k.size() + 1 > 96) out += "\n ", col = 1;
    out += " " + k;
    col += k.size() + 1;
  };
  for (auto it = j["train"].begin(); it != j["train"].end(); ++it) add(it.key());
  out += "\nModel settings (config.json names):\n ";
  col = 1;
  for (auto it = j["model"].begin(); it != j["model"].end(); ++it)
    if (it.key() != "architectures" && it.key() != "model_type" && it.key() != "torch_dtype") add(it.key());
  return out + "\nSee docs/PRETRAIN.md for what each one means.\n";
}

}  // namespace

int cmd_pretrain(int argc, char** argv) {
  Args args("pretrain",
            "--manifest <dir> --labels <dir> --label-names km0[,km1] --out <run dir> [--preset NAME] [options]",
            "Pre-trains a MERT model with the MERT objective: masked prediction of teacher labels\n"
            "(k-means or EnCodec labels from 'mert label apply'), CQT reconstruction, in-batch noise mixup.\n"
            "The run dir gets config.json (the resolved settings), log.jsonl and checkpoints/; --resume\n"
            "continues a run so that it ends bitwise identical to an uninterrupted one (same threads), and\n"
            "starts it when it has no checkpoint yet, so a job may always be launched with --resume.\n"
            "Several processes: --nproc N here, or launch one process per worker with torchrun-style\n"
            "variables RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun, SLURM, mpirun).\n"
            "Presets: " + PretrainConfig::preset_names() + ". The paper's recipe for mert-v1-95m and\n"
            "mert-v1-330m is EnCodec 24 kHz codes, 8 x 1024 at 6 kbps (--label-names 'encodec_*'), + CQT.");
  args.option("preset", "p", "settings preset", "tiny");
  args.option("config", "c", "a JSON file of settings ({\"model\": {...}, \"train\": {...}}) applied over the preset");
  args.option("manifest", "m", "dir with train.tsv (and valid.tsv for held-out accuracy) (required)");
  args.option("labels", "l", "dir with <split>.<name> label files and dict.<name>.txt (required)");
  args.option("label-names", "n",
              "label streams to predict, comma-separated (mert label apply --name); 'NAME_*' (quoted) stands for "
              "NAME_0, NAME_1, ... as far as dict.NAME_<i>.txt exist, e.g. 'encodec_*' for EnCodec's 8 streams",
              "km");
  args.option("out", "o", "run dir (required)");
  args.option("steps", "s", "updates to train for (the schedule's end); same as --max-steps");
  args.option("threads", "t", "compute threads per worker (default: cores / workers)");
  args.option("nproc", "", "local worker processes (data parallel over Gloo)", "1");
  args.option("dist-timeout", "", "seconds a worker waits for its peers before failing", "300");
  args.flag("resume", "continue the run in --out from its last checkpoint; start it if it has none yet");

  // Pull out `--<setting> value` overrides before the declared options are parsed.
  std::vector<char*> rest;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      const auto eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
      std::string key = name;
      for (auto& ch : key) if (ch == '-') ch = '_';
      if (!args.declares(name) && PretrainConfig::is_key(key)) {
        if (!inline_value) {
          if (i + 1 >= argc) throw Error("--" + name + " needs a value");
          value = argv[++i];
        }
        overrides.emplace_back(key, value);
        continue;
      }
    }
    rest.push_back(argv[i]);
  }
  const std::string help_tail = settings_help();
  for (int i = 0; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout << args.help() << help_tail;
      return 0;
    }
  if (!args.parse(static_cast<int>(rest.size()), rest.data())) return 0;
  for (const char* req : {"manifest", "labels", "out"})
    if (!args.flag_set(req)) throw Error(std::string("missing --") + req + " (see --help)");

  const int nproc = args.get_int("nproc");
  if (nproc < 1) throw Error("--nproc must be >= 1");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (nproc > 1 && !std::getenv("RANK")) {
    // The launcher: re-run this command once per worker, without --nproc.
    std::vector<std::string> worker_args{"pretrain"};
    for (int i = 0; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--nproc") { ++i; continue; }
      if (a.rfind("--nproc=", 0) == 0) continue;
      worker_args.push_back(a);
    }
    if (!args.flag_set("threads"))
      worker_args.insert(worker_args.end(), {"--threads", std::to_string(std::max(1u, cores / nproc))});
    return train::launch_local_workers(nproc, worker_args);
  }

  // The settings as the command line gives them: --config over the preset, then --key value.
  // `named` collects the settings that --preset and --config name explicitly.
  std::vector<std::string> named;
  auto from_command_line = [&] {
    PretrainConfig c;
    if (args.flag_set("preset")) named.push_back("preset");
    if (args.flag_set("config")) {
      auto j = nlohmann::json::parse(read_file(args.get("config"), "config"), nullptr, false);
      if (j.is_discarded() || !j.is_object()) throw Error(args.get("config") + ": not a JSON object");
      if (j.contains("preset")) named.push_back("preset");
      for (const char* part : {"model", "train"})
        if (j.contains(part) && j[part].is_object())
          for (auto it = j[part].begin(); it != j[part].end(); ++it) named.push_back(it.key());
      if (!j.contains("preset")) j["preset"] = args.get("preset");
      c = PretrainConfig::from_json_string(j.dump(), args.get("config"));
    } else {
      c = PretrainConfig::preset_named(args.get("preset"));
    }
    for (const auto& [k, v] : overrides) c.set(k, v);
    if (args.flag_set("steps")) c.set("max_steps", args.get("steps"));
    return c;
  };
  // --resume continues the run in --out with its own settings (config.json, then --key value)
  // when it has them, and otherwise starts it with the command line's: a job that always
  // launches with --resume works from its first launch (docs/RELIABILITY.md, "Restarts and
  // resuming").
  const std::string run_dir = args.get("out");
  const bool resume = args.flag_set("resume");
  const std::string saved = (std::filesystem::path(run_dir) / "config.json").string();
  PretrainConfig cfg;
  if (resume && std::filesystem::exists(saved)) {
    cfg = PretrainConfig::from_json_string(read_file(saved, "run config"), saved);
    for (const auto& [k, v] : overrides) cfg.set(k, v);
    if (args.flag_set("steps")) cfg.set("max_steps", args.get("steps"));
    // A job script that always passes --preset/--config: what they name must be this run's
    // (otherwise a run killed before its first checkpoint would restart with the old settings).
    const PretrainConfig given = from_command_line();
    std::string keys;
    for (const auto& k : given.differences(cfg))
      if (std::find(named.begin(), named.end(), k) != named.end()) keys += (keys.empty() ? "" : ", ") + k;
    if (!keys.empty())
      throw Error("--resume: --preset/--config name settings that differ from those of the run in " + run_dir +
                  " (config.json): " + keys + "; drop them to continue the run with its own, or choose another --out");
  } else {
    cfg = from_command_line();
  }
  cfg.validate();

  PretrainRunOptions o;
  o.manifest_dir = args.get("manifest");
  o.label_dir = args.get("labels");
  o.label_names = expand_label_names(split_commas(args.get("label-names"), "--label-names"), o.label_dir);
  o.out_dir = run_dir;
  o.resume = resume;
  o.threads = args.flag_set("threads") ? args.get_int("threads") : 0;
  o.dist_timeout_sec = args.get_double("dist-timeout");
  return run_pretrain(cfg, o);
}

int cmd_export(int argc, char** argv) {
  Args args("export", "<run dir> <model dir>",
            "Writes the latest checkpoint of a 'mert pretrain' run as a Hugging Face-layout model dir\n"
            "(config.json, preprocessor_config.json, model.safetensors without the pre-training heads)\n"
            "that 'mert embed' loads. --update N exports the checkpoint kept after N updates instead\n"
            "(pre-training setting keep_every), e.g. to probe a run's checkpoints as it trains.");
  args.option("update", "u", "export the checkpoint kept after this many updates (default: the latest)");
  args.option("weight-dtype", "", "how weights are stored: fp32, or bf16 (half the size; computed in fp32 when loaded)", "fp32");
  if (!args.parse(argc, argv)) return 0;
  if (args.positionals().size() != 2) throw Error("expected <run dir> <model dir> (see --help)");
  const int64_t update = args.flag_set("update") ? args.get_int("update") : -1;
  if (args.flag_set("update") && update < 0) throw Error("--update must be >= 0");
  export_pretrained(args.positionals()[0], args.positionals()[1], update, args.get("weight-dtype"));
  std::cerr << "wrote " << args.positionals()[1] << "\n";
  return 0;
}

}  // namespace mert::cli
