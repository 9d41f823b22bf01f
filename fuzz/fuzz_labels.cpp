// Pre-training label files and their dictionary, read against a fixed manifest of two clips
// (1 s and 2 s: 74 and 149 frames). The input is "<train.km>\n--\n<dict.km.txt>".
#include <filesystem>
#include <vector>

#include "fuzz_util.h"
#include "mert/error.h"
#include "train/pretrain_data.h"

namespace {

const std::string& corpus_dir() {
  static const std::string dir = [] {
    const std::string d = mert::fuzz::scratch_dir() + "/corpus";
    std::filesystem::create_directories(d);
    for (const char* name : {"a.wav", "b.wav"}) mert::fuzz::write_input(std::string("corpus/") + name, nullptr, 0);
    const std::string tsv = d + "\na.wav\t24000\nb.wav\t48000\n";
    mert::fuzz::write_input("corpus/train.tsv", reinterpret_cast<const uint8_t*>(tsv.data()), tsv.size());
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = corpus_dir();
  const std::string labels = mert::fuzz::part(data, size, 0);
  const std::string dict = mert::fuzz::part(data, size, 1);
  mert::fuzz::write_input("corpus/train.km", reinterpret_cast<const uint8_t*>(labels.data()), labels.size());
  mert::fuzz::write_input("corpus/dict.km.txt", reinterpret_cast<const uint8_t*>(dict.data()), dict.size());
  mert::train::CorpusOptions o;
  o.manifest = dir + "/train.tsv";
  o.label_dir = dir;
  o.label_names = {"km"};
  o.min_samples = 0;
  try {
    auto c = mert::train::Corpus::open(o);
    (void)c;
  } catch (const mert::Error&) {
  }
  return 0;
}
