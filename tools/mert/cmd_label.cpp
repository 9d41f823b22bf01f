#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "args.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "mert/error.h"
#include "util/system_info.h"
#include "teachers/teacher_runs.h"
#include "progress.h"
#include "teacher_options.h"

namespace mert::cli {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<int64_t> parse_clusters(const std::string& s, size_t n_features) {
  std::vector<int64_t> out;
  for (const auto& item : split_commas(s, "--clusters")) {
    size_t used = 0;
    int64_t k = 0;
    try {
      k = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error("--clusters: '" + item + "' is not an integer");
    out.push_back(k);
  }
  if (out.size() == 1 && n_features > 1) out.resize(n_features, out[0]);
  return out;
}

int label_fit(int argc, char** argv) {
  Args args("label fit", "--feature mfcc|logmel+chroma|... --clusters K[,K2] -o <codebook> [options] <manifest.tsv | audio | dirs | frames.npy ...>",
            "Fits k-means codebook(s) on teacher-feature frames and saves them (.safetensors with the\n"
            "feature parameters, so 'mert label apply' computes the same features).\n"
            "A feature list such as logmel+chroma fits a product codebook: one k-means per feature on\n"
            "the same sampled frames (--clusters 300,200), labelled as separate streams or --combine'd.\n"
            "Audio inputs are visited in a seeded random order and frames reservoir-sampled until\n"
            "--scan-factor x --sample-frames frames were seen (or the audio runs out).\n"
            ".npy inputs ([frames, dim] float32) are used as the frames directly (--feature not needed).");
  args.option("feature", "f", "feature(s): cqt, mfcc, logmel, chroma, or a '+' list such as logmel+chroma");
  args.option("clusters", "k", "clusters, one count per feature (a single count applies to all) (required)");
  args.option("out", "o", "codebook file to write, e.g. km.safetensors (required)");
  args.option("sample-frames", "n", "frames k-means is fitted on (0 = every scanned frame)", "500000");
  args.option("scan-factor", "", "audio: stop scanning after this many x --sample-frames frames", "4");
  args.option("algorithm", "a", "'minibatch' (HuBERT's recipe) or 'lloyd' (full k-means)", "minibatch");
  args.option("batch-size", "", "mini-batch size", "10000");
  args.option("max-iter", "", "Lloyd iterations / mini-batch passes over the sample", "100");
  args.option("max-no-improvement", "", "mini-batch: stop after this many batches without improvement", "100");
  args.option("tol", "", "Lloyd: relative centre-shift tolerance", "1e-4");
  args.option("n-init", "", "k-means++ restarts; the best inertia wins", "1");
  args.option("seed", "s", "random seed (file order, sampling, initialisation)", "0");
  args.option("threads", "t", "threads for k-means (0 = one per core)", "0");
  args.option("report", "", "write a JSON report (inertia, frames, iterations, timings) to this file");
  args.option("list", "", "a text file with one audio path per line (repeatable via commas)");
  declare_teacher_options(args);
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("out")) throw Error("missing -o <codebook file>");
  if (!args.has("clusters")) throw Error("missing --clusters K");
  if (args.positionals().empty() && !args.flag_set("list")) throw Error("no inputs given");

  bool npy = false, audio = false;
  for (const auto& p : args.positionals()) (ends_with(p, ".npy") ? npy : audio) = true;
  if (npy && (audio || args.flag_set("list"))) throw Error("give either .npy frame files or audio inputs, not both");
  if (!npy && !args.has("feature")) throw Error("missing --feature (e.g. mfcc or logmel+chroma)");

  LabelFitOptions o;
  if (!npy) o.features = parse_feature_list(args.get("feature"));
  o.clusters = parse_clusters(args.get("clusters"), npy ? 1 : o.features.size());
  o.params = teacher_params_from(args);
  o.grid = model_grid_from(args);
  o.sample_frames = std::stoll(args.get("sample-frames"));
  o.scan_factor = args.get_int("scan-factor");
  o.jobs = jobs_from(args);
  const std::string algo = args.get("algorithm");
  if (algo != "minibatch" && algo != "lloyd") throw Error("--algorithm must be 'minibatch' or 'lloyd'");
  o.kmeans.minibatch = algo == "minibatch";
  o.kmeans.batch_size = args.get_int("batch-size");
  o.kmeans.max_iter = args.get_int("max-iter");
  o.kmeans.max_no_improvement = args.get_int("max-no-improvement");
  o.kmeans.tol = args.get_double("tol");
  o.kmeans.n_init = args.get_int("n-init");
  o.kmeans.seed = static_cast<uint64_t>(std::stoull(args.get("seed")));
  o.kmeans.threads = set_threads(args.get_int("threads"));
  if (o.kmeans.batch_size < 1 || o.kmeans.max_iter < 1 || o.kmeans.n_init < 1 || o.kmeans.max_no_improvement < 1)
    throw Error("--batch-size, --max-iter, --n-init and --max-no-improvement must be >= 1");

  LabelFitResult r;
  if (npy) {
    std::cerr << "label fit: k-means (" << algo << ", k=" << o.clusters[0] << ") on frames from "
              << args.positionals().size() << " .npy files\n";
    r = fit_codebook_from_npy(args.positionals(), o);
  } else {
    std::vector<std::string> paths;
    for (const auto& item : collect_inputs(args.positionals(), input_options_from(args)))
      if (item.error.empty()) paths.push_back(item.path);
    std::cerr << "label fit: " << feature_list_name(o.features) << " | k=" << args.get("clusters") << " (" << algo
              << ") | sample " << o.sample_frames << " frames from up to " << paths.size() << " files | " << o.jobs
              << " jobs\n";
    ProgressReporter progress(false);
    r = fit_codebook_from_audio(paths, o, progress);
    progress.finish();
  }
  io::remove_stale_temps(args.get("out"));  // a killed earlier fit leaves <out>.tmp.<pid>
  save_codebook(args.get("out"), r.codebook);

  nlohmann::ordered_json rep;
  rep["codebook"] = args.get("out");
  rep["features"] = r.codebook.feature_spec();
  rep["clusters"] = o.clusters;
  rep["algorithm"] = algo;
  rep["frames"] = r.codebook.fitted_frames;
  rep["scanned_frames"] = r.scanned_frames;
  rep["scanned_files"] = r.scanned_files;
  rep["failed_files"] = r.failed_files;
  rep["inertia"] = r.codebook.inertia.size() == 1 ? nlohmann::json(r.codebook.inertia[0]) : nlohmann::json(r.codebook.inertia);
  rep["iterations"] = r.iterations.size() == 1 ? nlohmann::json(r.iterations[0]) : nlohmann::json(r.iterations);
  rep["feature_seconds"] = r.feature_sec;
  rep["fit_seconds"] = r.fit_sec;
  rep["threads"] = o.kmeans.threads;
  if (args.has("report")) {
    const std::string text = rep.dump(2) + "\n";
    const std::string path = args.get("report");
    io::remove_stale_temps(path);
    io::write_text_atomic(path, text);
  }
  for (size_t c = 0; c < r.codebook.size(); ++c)
    std::fprintf(stderr, "codebook %zu: %lld x %lld, inertia %.6g (%.4g per frame), %d iterations\n", c,
                 (long long)r.codebook.centroids[c].rows, (long long)r.codebook.centroids[c].cols, r.codebook.inertia[c],
                 r.codebook.inertia[c] / std::max<int64_t>(1, r.codebook.fitted_frames), r.iterations[c]);
  std::fprintf(stderr, "done: %lld frames sampled from %lld scanned (%lld files, %lld unreadable) | features %.1f s, k-means %.1f s -> %s\n",
               (long long)r.codebook.fitted_frames, (long long)r.scanned_frames, (long long)r.scanned_files,
               (long long)r.failed_files, r.feature_sec, r.fit_sec, args.get("out").c_str());
  return 0;
}

int label_apply(int argc, char** argv) {
  Args args("label apply", "(--codebook <file> | --teacher encodec --codec <dir>) -o <label dir> [options] <split.tsv ...>",
            "Writes fairseq/HuBERT label files: for each manifest <split>.tsv, <label dir>/<split>.<stream>\n"
            "with one line per manifest entry (space-separated ids, one per model frame, as many as the\n"
            "model's frame count for that file) and dict.<stream>.txt. Teachers:\n"
            "  kmeans   a codebook from 'mert label fit': stream <name> (default km); a product codebook\n"
            "           writes <name>0, <name>1, ... unless --combine\n"
            "  encodec  EnCodec codes (MERT-v1): --codec a Hugging Face EnCodec dir or an original\n"
            "           encodec_24khz-*.th; streams <name>_0 ... <name>_7 at 6 kbps (default name encodec);\n"
            "           code t labels model frame t, EnCodec's extra last frame(s) are dropped\n"
            "The manifest's sample counts must match the decoded audio (at 24 kHz).\n"
            "Resumable and shardable: blocks of --block entries are finished atomically under\n"
            "<label dir>/.mert-parts/; when all blocks of all shards exist the label files are\n"
            "assembled. A rerun with a different teacher or manifest is refused unless --overwrite.");
  args.option("teacher", "", "kmeans or encodec", "kmeans");
  args.option("codebook", "c", "kmeans: codebook from 'mert label fit'");
  args.option("codec", "", "encodec: a Hugging Face EnCodec dir or an original .th checkpoint");
  args.option("bandwidth", "", "encodec: kbps (1.5, 3, 6, 12, 24 -> 2, 4, 8, 16, 32 codebooks)", "6");
  args.option("batch", "", "encodec: files each job encodes together (they share the LSTM's weight reads; "
                           "memory grows with their decoded audio)", "8");
  args.option("out", "o", "label dir (required)");
  args.option("name", "", "label name: <split>.<stream>, dict.<stream>.txt (default: km, or encodec)");
  args.flag("combine", "kmeans, product codebook: one stream of combined ids (id = i0*K1 + i1 ...) instead of one per codebook");
  args.option("block", "", "manifest entries per resumable block", "256");
  args.option("shard", "", "process only blocks b with b mod n = i (i/n, 0-based)", "0/1");
  args.flag("overwrite", "recompute everything (and accept a changed teacher or manifest)");
  args.flag("verbose", "print a line per file");
  args.option("jobs", "j", "files processed in parallel (0 = one per core)", "0");
  args.option("model", "m", "model dir whose config.json conv stack defines the frame grid (default: MERT's, 75 Hz)");
  if (!args.parse(argc, argv)) return 0;
  const std::string teacher_kind = args.get("teacher");
  if (teacher_kind != "kmeans" && teacher_kind != "encodec")
    throw Error("--teacher must be 'kmeans' or 'encodec', got '" + teacher_kind + "'");
  if (teacher_kind == "kmeans" && !args.has("codebook")) throw Error("missing --codebook <file>");
  if (teacher_kind == "encodec" && !args.has("codec")) throw Error("--teacher encodec needs --codec <EnCodec dir or .th>");
  if (!args.has("out")) throw Error("missing -o <label dir>");
  if (args.positionals().empty()) throw Error("no manifests given (<split>.tsv)");
  for (const auto& p : args.positionals())
    if (!ends_with(p, ".tsv")) throw Error(p + ": label apply takes fairseq manifests (<split>.tsv)");

  LabelApplyOptions o;
  o.label_dir = args.get("out");
  o.name = args.has("name") ? args.get("name") : teacher_kind == "kmeans" ? "km" : "encodec";
  o.block_entries = args.get_int("block");
  o.overwrite = args.flag_set("overwrite");
  o.jobs = jobs_from(args);
  o.grid = model_grid_from(args);
  parse_shard(args.get("shard"), o.shard_index, o.shard_count);
  const int64_t batch = args.get_int("batch");
  if (batch < 1 || batch > 256) throw Error("--batch must be in [1, 256]");
  // Parallelism is across files; cores the jobs leave idle go to each job's libtorch threads.
  set_threads(std::max(1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) / o.jobs));
  std::cerr << system_info_line() << "\n";
  const std::unique_ptr<Labeler> teacher =
      teacher_kind == "kmeans" ? make_kmeans_labeler(args.get("codebook"), args.flag_set("combine"), o.jobs)
                               : make_encodec_labeler(args.get("codec"), args.get_double("bandwidth"), batch);

  int64_t failed = 0;
  for (const auto& tsv : args.positionals()) {
    const Manifest m = read_manifest(tsv);
    std::cerr << "label apply: " << m.split() << " (" << m.entries.size() << " entries) with " << teacher->describe()
              << " -> " << o.label_dir
              << (o.shard_count > 1 ? " | shard " + args.get("shard") : "") << " | " << o.jobs << " jobs\n";
    ProgressReporter progress(args.flag_set("verbose"));
    const LabelApplyStats st = apply_labels(*teacher, m, o, progress);
    progress.finish();
    failed += st.failed;
    std::string outs;
    for (const auto& f : st.outputs) outs += (outs.empty() ? "" : ", ") + f;
    std::fprintf(stderr, "%s: %lld computed, %lld already done, %lld failed | %.2f h audio in %.1f s | %s\n",
                 m.split().c_str(), (long long)st.computed, (long long)st.skipped, (long long)st.failed,
                 st.audio_sec / 3600, st.compute_sec,
                 st.complete ? ("wrote " + outs).c_str()
                             : st.failed ? "label files not written: fix the failed files (failures.tsv) and rerun"
                                         : "waiting for the other shards' blocks; the last shard to finish writes the label files");
  }
  return failed ? 1 : 0;
}

}  // namespace

int cmd_label(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h")) {
    std::cout << "usage: mert label fit|apply [options]\n\n"
                 "  fit    fit k-means codebook(s) on MFCC / log-mel / chroma / CQT frames\n"
                 "  apply  write fairseq/HuBERT label files for manifests: a k-means codebook or EnCodec codes\n\n"
                 "Run 'mert label fit --help' or 'mert label apply --help' for options.\n";
    return argc < 1 ? 2 : 0;
  }
  const std::string sub = argv[0];
  if (sub == "fit") return label_fit(argc - 1, argv + 1);
  if (sub == "apply") return label_apply(argc - 1, argv + 1);
  throw Error("unknown label command '" + sub + "' (expected fit or apply)");
}

}  // namespace mert::cli
