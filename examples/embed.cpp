// Embeds one audio file with a MERT model dir: the mean over time of every hidden state.
// Build against an installed libmert: examples/CMakeLists.txt. Run: embed MODEL_DIR AUDIO [OUT]
#include <cstdio>

#include "mert/mert.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: embed MODEL_DIR AUDIO [OUT.f32]\n");
    return 2;
  }
  try {
    mert::Model model(argv[1], {mert::ComputeType::Float32, /*threads=*/2});
    mert::EmbedOptions options;  // all layers, mean over time, 30 s chunks: as `mert embed`
    const mert::Embedding e = model.embed_file(argv[2], options);
    std::printf("%s: %lld layers x %lld\n", argv[2], (long long)e.shape[0], (long long)e.shape[1]);
    if (argc == 4) {  // raw float32, row-major [layers, hidden]
      std::FILE* f = std::fopen(argv[3], "wb");
      if (!f || std::fwrite(e.values.data(), sizeof(float), e.values.size(), f) != e.values.size()) return 1;
      return std::fclose(f) == 0 ? 0 : 1;
    }
  } catch (const mert::Error& err) {
    std::fprintf(stderr, "embed: %s\n", err.what());
    return 1;
  }
  return 0;
}
