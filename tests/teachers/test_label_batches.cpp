// apply_labels with a teacher that labels several files per call (as the EnCodec teacher does):
// the batches it is given, and a file that makes a whole batch throw failing alone.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "audio/sndfile_writer.h"
#include "mert/error.h"
#include "teachers/teacher_runs.h"

namespace fs = std::filesystem;

namespace mert {
namespace {

constexpr int64_t kBadLength = 4321;  // the one length the teacher refuses

// Labels every model frame with the file's length mod 7; refuses kBadLength, alone or in a batch.
class FakeBatchTeacher : public Labeler {
 public:
  int64_t sample_rate() const override { return 16000; }
  std::vector<std::string> stream_names(const std::string& name) const override { return {name}; }
  std::vector<int64_t> vocab_sizes() const override { return {7}; }
  std::string teacher_path() const override { return "fake"; }
  std::string identity_json() const override { return "{\"kind\":\"fake\"}"; }
  std::string describe() const override { return "fake"; }
  int64_t batch_files() const override { return 3; }
  EntryLabels label(const std::vector<float>& samples, const ModelGrid& grid, int) override {
    const auto n = static_cast<int64_t>(samples.size());
    if (n == kBadLength) throw Error("refused");
    return {std::vector<int32_t>(static_cast<size_t>(grid.frames(n)), static_cast<int32_t>(n % 7))};
  }
  std::vector<EntryLabels> label_batch(const std::vector<const std::vector<float>*>& files, const ModelGrid& grid,
                                       int worker) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      batch_sizes.push_back(files.size());
    }
    for (const auto* f : files)
      if (static_cast<int64_t>(f->size()) == kBadLength) throw Error("a batch with the bad file");
    return Labeler::label_batch(files, grid, worker);
  }
  std::mutex mu;
  std::vector<size_t> batch_sizes;
};

struct CountingObserver : RunObserver {
  std::vector<FileEvent> events;
  void on_file(const FileEvent& e) override { events.push_back(e); }
};

// A manifest of generated files of these lengths (16 kHz) in a fresh temporary dir.
fs::path make_corpus(const std::string& name, const std::vector<int64_t>& lengths) {
  const fs::path dir = fs::temp_directory_path() / ("mert-label-batches-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "audio");
  std::ofstream tsv(dir / "train.tsv");
  tsv << (dir / "audio").string() << "\n";
  for (size_t i = 0; i < lengths.size(); ++i) {
    const std::string name = "f" + std::to_string(i) + ".wav";
    write_audio((dir / "audio" / name).string(), std::vector<float>(static_cast<size_t>(lengths[i]), 0.1f), 16000,
                SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    tsv << name << "\t" << lengths[i] << "\n";
  }
  return dir;
}

// apply_labels over make_corpus's manifest, one entry per resumable block.
LabelApplyStats label_corpus(const fs::path& dir, Labeler& teacher, int jobs, double group_audio_sec,
                             RunObserver& obs) {
  LabelApplyOptions o;
  o.label_dir = (dir / "labels").string();
  o.name = "fake";
  o.block_entries = 1;
  o.jobs = jobs;
  o.group_audio_sec = group_audio_sec;
  return apply_labels(teacher, read_manifest((dir / "train.tsv").string()), o, obs);
}

TEST(LabelBatches, BadFileFailsAloneAndOthersAreLabelled) {
  const std::vector<int64_t> lengths{8000, 9000, kBadLength, 10000, 11000, 12000, 13000};
  const fs::path dir = make_corpus("bad", lengths);
  FakeBatchTeacher teacher;
  CountingObserver obs;
  const LabelApplyStats st = label_corpus(dir, teacher, 2, LabelApplyOptions{}.group_audio_sec, obs);

  EXPECT_EQ(st.computed, 6);
  EXPECT_EQ(st.failed, 1);
  EXPECT_FALSE(st.complete);
  ASSERT_EQ(obs.events.size(), lengths.size());  // every entry reported, in manifest order
  for (size_t i = 0; i < lengths.size(); ++i) {
    EXPECT_EQ(obs.events[i].path, (dir / "audio" / ("f" + std::to_string(i) + ".wav")).string());
    EXPECT_EQ(obs.events[i].kind == FileEvent::Kind::Failed, lengths[i] == kBadLength) << i;
  }
  // Groups of 3: [0 1 2*] fails whole and is redone one by one, [3 4 5], [6].
  std::vector<size_t> sizes = teacher.batch_sizes;
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 1, 1, 1, 3, 3})) << "batches given to the teacher";
  for (size_t i = 0; i < lengths.size(); ++i)
    EXPECT_EQ(fs::exists(dir / "labels" / ".mert-parts" / "train.fake" / ("part-" + std::to_string(i) + ".txt")),
              lengths[i] != kBadLength)
        << i;
  fs::remove_all(dir);
}

TEST(LabelBatches, LongFilesMakeSmallerBatches) {
  // With at most 2 s of audio per batch (32 000 samples): [1 s, 0.5 s] then [3 s] alone (longer
  // than the cap), [0.5 s, 0.5 s, 0.5 s] (three, the batch size), [1 s].
  const std::vector<int64_t> lengths{16000, 8000, 48000, 8000, 8000, 8000, 16000};
  const fs::path dir = make_corpus("long", lengths);
  FakeBatchTeacher teacher;
  CountingObserver obs;
  const LabelApplyStats st = label_corpus(dir, teacher, 1, 2, obs);
  EXPECT_EQ(st.computed, 7);
  EXPECT_TRUE(st.complete);
  EXPECT_EQ(teacher.batch_sizes, (std::vector<size_t>{2, 1, 3, 1})) << "batches in order (one job)";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mert
