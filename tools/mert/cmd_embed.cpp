#include <cstdio>
#include <iostream>

#include <cctype>
#include <utility>

#include "args.h"
#include "default_model.h"
#include "commands.h"
#include "embed/embed_run.h"
#include "mert/error.h"
#include "embed/inputs.h"
#include "model/model_dir.h"
#include "util/system_info.h"
#include "progress.h"
#include "input_options.h"

namespace mert::cli {

namespace {

// The embedding options from the flags. The library's messages name the option fields
// (chunk_sec, ...), as the C++ and Python APIs spell them; here they become the flags.
EmbedOptions embed_options_from(const Args& args, const ModelConfig& cfg) {
  try {
    EmbedOptions eo;
    eo.layers = parse_layers(args.get("layers"), cfg.num_hidden_layers);
    eo.pool = parse_pool(args.get("pool"));
    eo.chunk_sec = args.get_double("chunk-sec");
    eo.hop_sec = args.get_double("hop-sec");
    eo.normalize_per_chunk = args.flag_set("normalize-per-chunk");
    eo.batch = args.get_int("batch");
    eo.validate(cfg);
    return eo;
  } catch (const Error& e) {
    const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    std::string msg = e.what();
    for (const auto& [field, flag] : {std::pair<std::string, std::string>{"chunk_sec", "--chunk-sec"},
                                      {"hop_sec", "--hop-sec"}, {"layers", "--layers"}, {"pool", "--pool"},
                                      {"batch", "--batch"}})
      for (size_t at = msg.find(field); at != std::string::npos;) {
        const size_t end = at + field.size();
        const bool whole = (at == 0 || !word(msg[at - 1])) && (end == msg.size() || !word(msg[end]));
        if (whole) msg.replace(at, field.size(), flag);
        at = msg.find(field, at + (whole ? flag.size() : 1));
      }
    throw Error(msg);
  }
}

}  // namespace

int cmd_embed(int argc, char** argv) {
  Args args("embed", "[-m <model dir>] -o <out dir> [options] <audio files | dirs | manifest.tsv ...>",
            "Extracts MERT hidden states and writes one float32 .npy per input: [n_layers, T, D] with\n"
            "--pool none, [n_layers, D] with --pool mean.\n"
            "Inputs: audio files (output <out>/<stem>.npy), directories (searched recursively for\n"
            "audio; outputs mirror the relative paths), fairseq manifests (*.tsv: root line, then\n"
            "relpath<TAB>n_samples; outputs mirror relpath), and --list files (one path per line).\n"
            "WAV, FLAC, OGG/Vorbis, AIFF (libsndfile) and MP3 (libmpg123) at any rate and channel\n"
            "count: downmixed to mono, resampled to the model's rate (libsoxr, very high quality).\n"
            "Every decodable frame is used; a header promising slightly more audio than decodes gives\n"
            "a 'warning' line, a clearly cut file fails as truncated (docs/RELIABILITY.md).\n"
            "If preprocessor_config.json says do_normalize, each file is normalised to zero mean and\n"
            "unit variance over the whole file before chunking.\n"
            "Resumable: outputs appear only when complete; a rerun skips files whose output exists\n"
            "(settings are recorded in <out>/mert-embed.json and must match). Failed files are listed\n"
            "with their reason in <out>/failures.tsv and the run goes on; exit code 1 if any failed.");
  args.option("model", "m", std::string("model dir (default: the shipped ") + kDefaultModelName +
                               ", a small model trained on synthetic music; see docs/RESULTS.md)");
  args.option("out", "o", "output dir, created if needed (required)");
  args.option("layers", "l", "hidden states to keep: 'all' or a comma list such as 0,6,12", "all");
  args.option("pool", "p", "'none' (every frame), 'mean' (mean over all frames of all chunks) or 'chunks' (one mean per chunk: [n_layers, n_chunks, D], what 'mert probe' caches)", "mean");
  args.option("chunk-sec", "c", "chunk length in seconds; 0 = whole file in one pass (exact HF semantics)", "30");
  args.option("hop-sec", "", "distance between chunk starts; 0 = chunk length (no overlap); smaller overlaps", "0");
  args.flag("normalize-per-chunk", "normalise each chunk instead of the whole file (when do_normalize)");
  args.option("batch", "b", "chunks per forward pass (padded batch)", "1");
  args.option("group-files", "g", "consecutive files whose chunks may share a batch (helps many short files)", "1");
  args.option("list", "", "a text file with one audio path per line (repeatable via commas)");
  args.option("shard", "", "process only shard i of n (i/n, 0-based), split deterministically by output path", "0/1");
  args.flag("overwrite", "recompute files whose output exists (and accept changed settings)");
  args.flag("verbose", "print a line per file");
  args.option("threads", "t", "intra-op threads (0 = one per core)", "0");
  args.option("dtype", "", "compute dtype: fp32; bf16 (about 2x faster on CPUs with avx512_bf16/AMX; hidden states within cosine 0.999 of fp32); int8 (bf16 with int8 Linear layers and, with AVX-512 VNNI, an int8 conv front end; fastest on VNNI CPUs; hidden states within cosine ~0.999 of fp32); outputs are float32 in every case", "fp32");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("out")) throw Error("missing -o <out dir>");
  if (args.positionals().empty() && !args.flag_set("list")) throw Error("no inputs given (files, directories, manifests or --list)");

  RunOptions ro;
  ro.out_dir = args.get("out");
  ro.overwrite = args.flag_set("overwrite");
  parse_shard(args.get("shard"), ro.shard_index, ro.shard_count);
  const InputOptions io = input_options_from(args);

  const int threads = set_threads(args.get_int("threads"));
  std::cerr << system_info_line() << "\n";
  LoadedModel m = load_model_dir(args.has("model") ? args.get("model") : default_model_dir(), args.get("dtype"));
  ro.embed = embed_options_from(args, m.config);
  ro.group_files = args.get_int("group-files");
  if (ro.group_files < 1 || ro.group_files > 4096) throw Error("--group-files must be in [1, 4096]");

  auto items = select_shard(collect_inputs(args.positionals(), io), ro.shard_index, ro.shard_count);
  std::cerr << "model: " << m.dir << " | " << m.config.to_string() << " | weights " << m.weights_dtype << ", compute " << compute_dtype_name(m.model->dtype())
            << " | do_normalize=" << (m.preprocessor.do_normalize ? "true" : "false") << "\n"
            << "embed: " << ro.embed.to_string() << " | threads " << threads << " | " << items.size() << " inputs"
            << (ro.shard_count > 1 ? " in shard " + args.get("shard") : "") << " -> " << ro.out_dir << "\n";

  ProgressReporter progress(args.flag_set("verbose"));
  RunStats st = run_embedding(m, items, ro, progress);
  progress.finish();
  std::fprintf(stderr,
               "done: %lld ok, %lld failed, %lld skipped | %.3f h audio in %.1f s compute, %.1f s wall (RTF %.3f) | "
               "peak RSS %.0f MiB%s%s\n",
               (long long)st.ok, (long long)st.failed, (long long)st.skipped, st.audio_sec / 3600, st.compute_sec,
               st.wall_sec, st.audio_sec > 0 ? st.compute_sec / st.audio_sec : 0.0, peak_rss_mib(),
               st.failed ? " | reasons in failures.tsv" : "", warned_note(st).c_str());
  return st.failed ? 1 : 0;
}

}  // namespace mert::cli
