#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "util/system_info.h"
#include "teachers/teacher_runs.h"
#include "progress.h"
#include "teacher_options.h"

namespace mert::cli {

int cmd_features(int argc, char** argv) {
  Args args("features", "--type cqt|mfcc|logmel|chroma -o <out dir> [options] <audio files | dirs | manifest.tsv ...>",
            "Computes a teacher feature and writes one float32 .npy [T, dim] per input:\n"
            "  cqt     336-bin constant-Q magnitude (MERT's musical target: 32.7 Hz, 48 bins/octave)\n"
            "  mfcc    Kaldi MFCC, 13 + deltas + delta-deltas = 39 (HuBERT's k-means recipe)\n"
            "  logmel  229-band log-mel (2048-point FFT, 30 Hz - 12 kHz)\n"
            "  chroma  12 pitch classes folded from the CQT, each frame scaled to max 1\n"
            "--grid model (default) gives one row per model frame (75 Hz; the row count equals the\n"
            "model's frame count for the file); --grid native the feature's own framing.\n"
            "Audio is decoded to mono at the teachers' rate (24 kHz), not normalised.\n"
            "Inputs, output paths, --shard and resuming work as in 'mert embed' (settings are\n"
            "recorded in <out>/mert-features.json; failures listed in <out>/failures.tsv).");
  args.option("type", "", "cqt, mfcc, logmel or chroma (required)");
  args.option("out", "o", "output dir, created if needed (required)");
  args.option("grid", "", "'model' (one row per model frame) or 'native' (the feature's own frames)", "model");
  declare_teacher_options(args);
  args.option("list", "", "a text file with one audio path per line (repeatable via commas)");
  args.option("shard", "", "process only shard i of n (i/n, 0-based)", "0/1");
  args.flag("overwrite", "recompute files whose output exists (and accept changed settings)");
  args.flag("verbose", "print a line per file");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("type")) throw Error("missing --type (cqt, mfcc, logmel or chroma)");
  if (!args.has("out")) throw Error("missing -o <out dir>");
  if (args.positionals().empty() && !args.flag_set("list")) throw Error("no inputs given (files, directories, manifests or --list)");

  FeatureRunOptions o;
  o.type = parse_teacher_feature(args.get("type"));
  const std::string grid = args.get("grid");
  if (grid != "model" && grid != "native") throw Error("--grid must be 'model' or 'native', got '" + grid + "'");
  o.model_grid = grid == "model";
  o.params = teacher_params_from(args);
  o.grid = model_grid_from(args);
  o.out_dir = args.get("out");
  o.overwrite = args.flag_set("overwrite");
  o.jobs = jobs_from(args);
  parse_shard(args.get("shard"), o.shard_index, o.shard_count);

  const auto items = select_shard(collect_inputs(args.positionals(), input_options_from(args)), o.shard_index,
                                  o.shard_count);
  std::cerr << "features: " << teacher_feature_name(o.type) << " on the " << grid << " grid | " << o.jobs << " jobs | "
            << items.size() << " inputs" << (o.shard_count > 1 ? " in shard " + args.get("shard") : "") << " -> "
            << o.out_dir << "\n";
  ProgressReporter progress(args.flag_set("verbose"));
  const RunStats st = run_features(items, o, progress);
  progress.finish();
  std::fprintf(stderr, "done: %lld ok, %lld failed, %lld skipped | %.3f h audio, %.2f s compute (%.0fx real time per job), %.1f s wall | peak RSS %.0f MiB%s%s\n",
               (long long)st.ok, (long long)st.failed, (long long)st.skipped, st.audio_sec / 3600, st.compute_sec,
               st.compute_sec > 0 ? st.audio_sec / st.compute_sec : 0.0, st.wall_sec, peak_rss_mib(),
               st.failed ? " | reasons in failures.tsv" : "", warned_note(st).c_str());
  return st.failed ? 1 : 0;
}

}  // namespace mert::cli
