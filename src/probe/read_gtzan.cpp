// GTZAN genre with the fault-filtered split of Kereliuk et al. (the lists MARBLE v1 downloads from
// coreyker/dnn-mgr: {train,valid,test}_filtered.txt, lines "blues/blues.00012.wav"), audio under
// genres/ (or the Kaggle copy's genres_original/ or Data/genres_original/).
#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

const std::vector<std::string> kGenres = {"blues", "classical", "country", "disco", "hiphop",
                                          "jazz",  "metal",     "pop",     "reggae", "rock"};

}  // namespace

ProbeDataset read_gtzan(const std::string& root) {
  using namespace detail;
  const std::string name = "gtzan";
  std::string audio_dir;
  for (const char* d : {"genres", "genres_original", "Data/genres_original"})
    if (is_dir(join(root, d))) {
      audio_dir = join(root, d);
      break;
    }
  if (audio_dir.empty())
    throw Error(name + ": no audio folder under " + root + " (expected genres/, genres_original/ or Data/genres_original/)");
  DatasetBuilder b(name, root, TaskType::Multiclass, kGenres);
  for (const char* split : kSplits) {
    const std::string list = join(root, std::string(split) + "_filtered.txt");
    if (!is_file(list))
      throw Error(name + ": split list " + list + " not found (the fault-filtered lists train_filtered.txt, "
                  "valid_filtered.txt, test_filtered.txt go in the dataset folder)");
    for (const auto& line : read_lines(list)) {
      const std::string rel = trim(line.text);
      if (rel.empty()) continue;
      const std::string where = at_line(list, line.number);
      const size_t slash = rel.find('/');
      if (slash == std::string::npos) throw Error(where + ": expected <genre>/<file>, got '" + rel + "'");
      const std::string genre = rel.substr(0, slash);
      int64_t label = -1;
      for (size_t g = 0; g < kGenres.size(); ++g)
        if (kGenres[g] == genre) label = static_cast<int64_t>(g);
      if (label < 0) throw Error(where + ": unknown genre '" + genre + "'");
      // MARBLE v1 deletes jazz.00054 from its lists: the Kaggle copy of the file is corrupt.
      if (stem(rel) == "jazz.00054") {
        note(where + ": jazz.00054 skipped, as MARBLE does (its Kaggle copy is corrupt)");
        continue;
      }
      ProbeItem item;
      item.split = split;
      item.label = label;
      const std::string base = rel.substr(0, rel.find_last_of('/') + 1) + stem(rel);  // no extension
      item.id = safe_id(base);
      // The lists name .wav files; the original GTZAN release has .au.
      item.path = first_existing({join(audio_dir, rel), join(audio_dir, base + ".au")});
      b.add(std::move(item), where);
    }
  }
  return b.finish();
}

}  // namespace mert::probe
