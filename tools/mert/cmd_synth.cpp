#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "mert/error.h"
#include "mert/synth.h"

namespace mert::cli {

int cmd_synth(int argc, char** argv) {
  Args args("synth", "<task> -o <out dir> [options]",
            "Renders a labelled synthetic music dataset with FluidSynth (24 kHz mono, reverb and chorus off,\n"
            "fixed gain), deterministic in (task, count, seed, soundfonts) whatever --jobs is.\n"
            "tasks: pitch, instrument (NSynth layout; the same data), key (GiantSteps .key), chords (.lab),\n"
            "beat (.beats + .bpm), tags (MTT-like annotations_final.csv), stems (MUSDB-like folders),\n"
            "corpus (unlabelled pieces + fairseq train.tsv/valid.tsv; size by --hours).\n"
            "Splits: train 80% / valid 10% / test 10% by index (corpus: 95/5); the test split is rendered\n"
            "with --test-soundfont. See docs/SYNTH.md.");
  args.option("out", "o", "output dir (created if needed)");
  args.option("count", "n", "number of items (default per task: pitch 4000, key 1200, stems 100, others 1000)", "0");
  args.option("hours", "", "corpus: total duration in hours", "1");
  args.option("seed", "s", "random seed", "0");
  args.option("soundfont", "f", "SF2/SF3 soundfont for train and valid", "/usr/share/sounds/sf2/FluidR3_GM.sf2");
  args.option("test-soundfont", "", "soundfont for the test split (default: --soundfont)");
  args.option("jobs", "j", "worker threads", "1");
  args.option("sec", "", "length of a piece in seconds (default 30; pitch/instrument notes are always 4 s)", "0");
  args.option("gain", "", "FluidSynth master gain (fixed for the whole dataset)", "0.3");
  args.flag("wav", "write 16-bit WAV instead of FLAC");
  if (!args.parse(argc, argv)) return 0;
  if (args.positionals().size() != 1)
    throw Error("expected exactly one task (pitch instrument key chords beat tags stems corpus), see --help");

  if (!args.has("out")) throw Error("missing -o <out dir> (see --help)");

  SynthOptions o;
  o.task = args.positionals()[0];
  o.out_dir = args.get("out");
  try {
    o.count = std::stol(args.get("count"));
    o.seed = std::stoull(args.get("seed"));
  } catch (const std::exception&) {
    throw Error("--count and --seed must be non-negative integers");
  }
  if (args.get("count").find('-') != std::string::npos || args.get("seed").find('-') != std::string::npos)
    throw Error("--count and --seed must be non-negative integers");
  o.hours = args.get_double("hours");
  o.soundfont = args.get("soundfont");
  o.test_soundfont = args.get("test-soundfont");
  o.jobs = args.get_int("jobs");
  o.item_sec = args.get_double("sec");
  o.gain = args.get_double("gain");
  o.wav = args.flag_set("wav");
  o.validate();
  std::cerr << "synth: " << o.to_string() << "\n";
  const SynthReport r = run_synth(o);
  std::fprintf(stderr,
               "done: %ld items, %.1f s of audio (%.2f h) in %.2f s wall | %.0fx real time per core (%.1f CPU-s over %d jobs) | "
               "%ld items scaled down to avoid clipping\n",
               r.items, r.audio_sec, r.audio_sec / 3600, r.wall_sec, r.cpu_sec > 0 ? r.audio_sec / r.cpu_sec : 0.0, r.cpu_sec,
               o.jobs, r.clipped);
  return 0;
}

}  // namespace mert::cli
