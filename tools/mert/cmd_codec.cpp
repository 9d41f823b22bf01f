// `mert codec encode`: EnCodec codes per file, for inspection and tests (catalogue-scale labels
// for pre-training come from `mert label apply --teacher encodec`).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "embed/inputs.h"
#include "input_options.h"
#include "io/npy.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "teachers/encodec.h"
#include "util/system_info.h"

namespace fs = std::filesystem;

namespace mert::cli {

int cmd_codec(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) != "encode") {
    if (argc >= 1 && (std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h")) {
      std::cout << "usage: mert codec encode -m <EnCodec dir or .th> -o <out dir> [--bandwidth KBPS] <audio files | dirs ...>\n"
                   "Run 'mert codec encode --help' for the options.\n";
      return 0;
    }
    throw Error("expected 'mert codec encode ...' (see 'mert codec encode --help')");
  }
  Args args("codec encode", "-m <EnCodec dir or .th> -o <out dir> [--bandwidth KBPS] <audio files | dirs | manifest.tsv ...>",
            "Encodes audio with an EnCodec model (MERT-v1's acoustic teacher) and writes one int64 .npy\n"
            "[codebooks, frames] per input: EnCodec's own frames, ceil(samples / 320) at 24 kHz\n"
            "(75 Hz). The model is a Hugging Face dir (config.json + model.safetensors or\n"
            "pytorch_model.bin, e.g. facebook/encodec_24khz) or an original encodec_24khz-*.th.\n"
            "Audio is decoded to mono at the model's rate and encoded in blocks (--block-sec) that\n"
            "reproduce one pass over the file, as MERT's label script makes it, with memory bounded by\n"
            "the block. The codes equal Hugging Face's EncodecModel.encode (docs/TEACHERS.md).");
  args.option("model", "m", "EnCodec model: a Hugging Face dir or an original .th checkpoint (required)");
  args.option("out", "o", "output dir, created if needed (required)");
  args.option("bandwidth", "b", "kbps: 1.5, 3, 6, 12 or 24 for the 24 kHz model (2/4/8/16/32 codebooks)", "6");
  args.option("threads", "t", "libtorch threads (0 = one per core)", "0");
  args.option("list", "", "a text file with one audio path per line (repeatable via commas)");
  args.option("block-sec", "", "encode in blocks of this many seconds (memory bounded by the block; 0 = one pass)", "2");
  args.option("batch", "", "files encoded together (they share the LSTM's weight reads; memory grows with their "
                           "decoded audio)", "8");
  args.flag("embeddings", "also write <name>.emb.npy: the encoder's float32 [hidden, frames] before quantization");
  if (!args.parse(argc - 1, argv + 1)) return 0;
  if (!args.has("model")) throw Error("missing -m <EnCodec dir or .th>");
  if (!args.has("out")) throw Error("missing -o <out dir>");
  if (args.positionals().empty() && !args.flag_set("list")) throw Error("no inputs given (files, directories, manifests or --list)");
  set_threads(args.get_int("threads"));
  std::cerr << system_info_line() << "\n";
  const double kbps = args.get_double("bandwidth");
  const double block_sec = args.get_double("block-sec");
  if (!(block_sec >= 0) || block_sec > 86400) throw Error("--block-sec must be in [0, 86400]");
  const encodec::Encodec codec(encodec::load_encodec_weights(args.get("model")));
  const int64_t n_q = codec.config().quantizers_for_bandwidth(kbps);  // refuses unsupported rates early
  const auto block = static_cast<int64_t>(block_sec * static_cast<double>(codec.config().sampling_rate));
  const auto items = collect_inputs(args.positionals(), input_options_from(args));
  std::cerr << "codec: " << args.get("model") << " | " << codec.config().sampling_rate << " Hz, "
            << codec.config().frame_rate() << " frames/s | " << kbps << " kbps = " << n_q << " codebooks | "
            << items.size() << " inputs -> " << args.get("out") << "\n";
  const int64_t batch = args.get_int("batch");
  if (batch < 1 || batch > 256) throw Error("--batch must be in [1, 256]");
  int failed = 0, ok = 0;
  auto fail = [&](const std::string& path, const std::string& why) {
    std::cerr << "FAILED " << path << ": " << why << "\n";
    ++failed;
  };
  // Files are decoded `batch` at a time and encoded together (their LSTM steps share the weights).
  // A batch stops taking files once it holds 30 minutes of decoded audio (label apply caps it the
  // same way), so long files go in smaller batches.
  const int64_t batch_samples = 1800 * codec.config().sampling_rate;
  for (size_t next = 0; next < items.size();) {
    std::vector<const InputItem*> group;
    std::vector<std::vector<float>> audio;
    int64_t samples = 0;
    while (next < items.size() && static_cast<int64_t>(group.size()) < batch && samples < batch_samples) {
      const InputItem& it = items[next++];
      try {
        if (!it.error.empty()) throw Error(it.error);
        Audio a = decode_audio(it.path, codec.config().sampling_rate);
        if (!a.warning.empty()) std::cerr << "warning: " << it.path << ": " << a.warning << "\n";
        apply_segment(it, a.samples, codec.config().sampling_rate);
        if (a.samples.empty()) throw Error("no audio samples");
        group.push_back(&it);
        samples += static_cast<int64_t>(a.samples.size());
        audio.push_back(std::move(a.samples));
      } catch (const std::exception& e) {
        fail(it.path, e.what());
      }
    }
    std::vector<const std::vector<float>*> waves;
    for (const auto& a : audio) waves.push_back(&a);
    const std::vector<at::Tensor> embeddings = codec.embed_many(waves, block, batch);
    for (size_t i = 0; i < group.size(); ++i) {
      const InputItem& it = *group[i];
      try {
        const fs::path out = fs::path(args.get("out")) / (it.rel_out + ".npy");
        fs::create_directories(out.parent_path());
        write_npy(out.string(), codec.quantize(embeddings[i], n_q)[0]);
        if (args.flag_set("embeddings"))
          write_npy((fs::path(args.get("out")) / (it.rel_out + ".emb.npy")).string(), embeddings[i][0].contiguous());
        ++ok;
      } catch (const OutputError&) {
        throw;
      } catch (const std::exception& e) {
        fail(it.path, e.what());
      }
    }
  }
  std::fprintf(stderr, "done: %d ok, %d failed | peak RSS %.0f MiB\n", ok, failed, peak_rss_mib());
  return failed ? 1 : 0;
}

}  // namespace mert::cli
