#include <iostream>

#include "args.h"
#include "commands.h"
#include "mert/audio.h"
#include "mert/error.h"

namespace mert::cli {

int cmd_gen_audio(int argc, char** argv) {
  Args args("gen-audio", "-o <file.wav> [--sec S] [--sr HZ] [--seed N]",
            "Writes a deterministic generated music clip (chords, bass, hi-hat) as a mono 32-bit\n"
            "float WAV, for demos and tests.");
  args.option("out", "o", "output WAV path (required)");
  args.option("sec", "", "duration in seconds", "10");
  args.option("sr", "", "sample rate in Hz", "24000");
  args.option("seed", "s", "random seed (key, tempo, noise)", "0");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("out")) throw Error("missing -o <file.wav>");
  const double sec = args.get_double("sec");
  const int sr = args.get_int("sr");
  if (!(sec > 0) || sec > 24 * 3600) throw Error("--sec must be in (0, 86400]");
  if (sr < 1000 || sr > 384000) throw Error("--sr must be in [1000, 384000]");
  auto x = generate_test_music(sec, sr, static_cast<uint64_t>(args.get_int("seed")));
  write_wav_f32(args.get("out"), x, sr);
  std::cerr << "wrote " << args.get("out") << " (" << sec << " s, " << sr << " Hz)\n";
  return 0;
}

}  // namespace mert::cli
