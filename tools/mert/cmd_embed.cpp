#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "args.h"
#include "commands.h"
#include "mert/audio.h"
#include "mert/embed.h"
#include "mert/error.h"
#include "mert/model_dir.h"
#include "mert/npy.h"
#include "mert/system_info.h"

namespace mert::cli {
namespace fs = std::filesystem;

int cmd_embed(int argc, char** argv) {
  Args args("embed", "-m <model dir> -o <out dir> [options] <audio files...>",
            "Extracts MERT hidden states from each audio file and writes <out dir>/<stem>.npy\n"
            "(float32): [n_layers, T, D] with --pool none, [n_layers, D] with --pool mean.\n"
            "Audio must be at the model's sample rate; multi-channel audio is averaged to mono.\n"
            "If preprocessor_config.json says do_normalize, each file is normalised to zero mean and\n"
            "unit variance over the whole file before chunking. A file that fails is reported and\n"
            "the rest go on; the exit code is 1 if any file failed.");
  args.option("model", "m", "model dir");
  args.option("out", "o", "output dir (created if needed)");
  args.option("layers", "l", "hidden states to keep: 'all' or a comma list such as 0,6,12", "all");
  args.option("pool", "p", "'none' (every frame) or 'mean' (mean over all frames)", "mean");
  args.option("chunk-sec", "c", "chunk length in seconds; 0 = whole file in one pass (exact HF semantics)", "30");
  args.flag("normalize-per-chunk", "normalise each chunk instead of the whole file (when do_normalize)");
  args.option("threads", "t", "intra-op threads (0 = one per core)", "0");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("model")) throw Error("missing -m <model dir>");
  if (!args.has("out")) throw Error("missing -o <out dir>");
  if (args.positionals().empty()) throw Error("no audio files given");

  const int threads = set_threads(args.get_int("threads"));
  std::cerr << system_info_line() << "\n";
  LoadedModel m = load_model_dir(args.get("model"));
  EmbedOptions opts;
  opts.layers = parse_layers(args.get("layers"), m.config.num_hidden_layers);
  opts.pool = parse_pool(args.get("pool"));
  opts.chunk_sec = args.get_double("chunk-sec");
  opts.normalize_per_chunk = args.flag_set("normalize-per-chunk");
  opts.validate(m.config);
  std::cerr << "model: " << m.dir << " | " << m.config.to_string() << " | weights " << m.weights_dtype
            << " | do_normalize=" << (m.preprocessor.do_normalize ? "true" : "false") << "\n"
            << "embed: " << opts.to_string() << " | threads " << threads << "\n";

  const fs::path out_dir = args.get("out");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir)) throw Error("cannot create output dir '" + out_dir.string() + "'");

  int ok = 0, failed = 0;
  double audio_sec = 0, compute_sec = 0;
  std::set<std::string> stems;
  for (const auto& path : args.positionals()) {
    try {
      const std::string stem = fs::path(path).stem().string();
      if (!stems.insert(stem).second)
        throw Error("another input already wrote " + stem + ".npy; rename one of them");
      Audio a = decode_audio(path);
      if (a.sample_rate != m.config.sample_rate)
        throw Error("sample rate " + std::to_string(a.sample_rate) + " Hz, the model expects " +
                    std::to_string(m.config.sample_rate) + " Hz (resample it first)");
      const double sec = static_cast<double>(a.samples.size()) / a.sample_rate;
      auto t0 = std::chrono::steady_clock::now();
      at::Tensor feats = embed_waveform(*m.model, m.preprocessor, std::move(a.samples), opts);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      write_npy((out_dir / (stem + ".npy")).string(), feats);
      audio_sec += sec;
      compute_sec += dt;
      ++ok;
      std::fprintf(stderr, "ok     %s  %.2f s audio  %.2f s  RTF %.3f  shape [", path.c_str(), sec, dt, dt / sec);
      for (int64_t d = 0; d < feats.dim(); ++d) std::fprintf(stderr, "%s%lld", d ? ", " : "", (long long)feats.size(d));
      std::fprintf(stderr, "]\n");
    } catch (const std::exception& e) {
      ++failed;
      // Decoder messages already start with the path; don't print it twice.
      const std::string msg = e.what();
      std::cerr << "FAILED " << path << ": " << (msg.rfind(path, 0) == 0 ? msg.substr(path.size() + 2) : msg) << "\n";
    }
  }
  std::fprintf(stderr, "done: %d ok, %d failed | %.2f s audio in %.2f s (RTF %.3f) | peak RSS %.0f MiB\n", ok, failed,
               audio_sec, compute_sec, audio_sec > 0 ? compute_sec / audio_sec : 0.0, peak_rss_mib());
  return failed ? 1 : 0;
}

}  // namespace mert::cli
