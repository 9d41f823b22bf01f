// The `mert synth` readers on real `mert synth` output (key, pitch/instrument, tags, beat at tiny
// counts), checked against the generator's own metadata.csv, which the readers never read.
// Needs MERT_BIN (ctest sets it); skipped when it is not set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mert/metrics.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace fs = std::filesystem;
using namespace mert::probe;

namespace {

struct Meta {
  std::string split, path;
  std::vector<std::string> cols;  // the task columns after id,split,path
};

std::map<std::string, Meta> read_metadata(const std::string& dir) {
  std::map<std::string, Meta> m;
  bool header = true;
  for (const auto& l : detail::read_lines(dir + "/metadata.csv")) {
    if (header) {
      header = false;
      continue;
    }
    if (l.text.empty()) continue;
    auto f = detail::split_fields(l.text, ',');
    Meta x{f.at(1), f.at(2), std::vector<std::string>(f.begin() + 3, f.end())};
    m[f.at(0)] = x;
  }
  return m;
}

class ReadSynthOutput : public testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("MERT_BIN");
    if (!bin || !*bin) GTEST_SKIP() << "MERT_BIN not set (run through ctest)";
    bin_ = bin;
    std::string tmpl = (fs::temp_directory_path() / "mert_synth_readers_XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  // Renders `task` into <dir>/<task> and returns that folder.
  std::string synth(const std::string& task, const std::string& args) {
    const std::string out = dir_ + "/" + task;
    std::string sf;
    for (const char* f : {"/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2"})
      if (fs::exists(f)) {
        sf = std::string(" --soundfont ") + f;
        break;
      }
    const std::string cmd = "'" + bin_ + "' synth " + task + " -o '" + out + "' " + args + sf + " --jobs 1 2>/dev/null >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out;
  }
  // The generator's row for a read item, after checking that split and audio path agree.
  static const Meta& row_of(const ProbeItem& it, const std::map<std::string, Meta>& meta, const std::string& d) {
    const Meta& m = meta.at(it.id);
    EXPECT_EQ(it.split, m.split) << it.id;
    EXPECT_EQ(it.path, d + "/" + m.path) << it.id;
    return m;
  }
  std::string bin_, dir_;
};

TEST_F(ReadSynthOutput, Key) {
  const std::string d = synth("key", "--count 24 --sec 3");
  const ProbeDataset ds = read_synth_key(d);
  const auto meta = read_metadata(d);
  ASSERT_EQ(ds.items.size(), meta.size());
  ASSERT_EQ(ds.items.size(), 24u);
  std::map<std::string, int> per_split;
  for (const auto& it : ds.items) {
    const Meta& m = row_of(it, meta, d);
    EXPECT_EQ(it.label, mert::metrics::key_index(m.cols.at(0))) << it.id;  // enharmonics: one class
    ++per_split[it.split];
  }
  EXPECT_EQ(per_split, (std::map<std::string, int>{{"test", 2}, {"train", 20}, {"valid", 2}}));
}

TEST_F(ReadSynthOutput, PitchAndInstrument) {
  const std::string d = synth("pitch", "--count 12");
  const auto meta = read_metadata(d);
  const ProbeDataset p = read_synth_pitch(d);
  const ProbeDataset f = read_synth_instrument(d);
  ASSERT_EQ(p.items.size(), meta.size());
  ASSERT_EQ(f.items.size(), meta.size());
  for (size_t i = 0; i < p.items.size(); ++i) {
    const Meta& m = row_of(p.items[i], meta, d);
    EXPECT_EQ(p.items[i].label, std::stoll(m.cols.at(0)));                      // pitch
    EXPECT_EQ(f.class_names.at(size_t(f.items[i].label)), m.cols.at(2));        // instrument_family
    EXPECT_EQ(f.items[i].id, p.items[i].id);
  }
}

TEST_F(ReadSynthOutput, Tags) {
  const std::string d = synth("tags", "--count 12 --sec 3");
  const auto meta = read_metadata(d);
  const ProbeDataset ds = read_synth_tags(d);
  ASSERT_EQ(ds.items.size(), meta.size());
  EXPECT_EQ(ds.class_names.size(), 14u);
  for (const auto& it : ds.items) {
    const Meta& m = row_of(it, meta, d);
    std::vector<std::string> on;
    for (size_t c = 0; c < ds.class_names.size(); ++c)
      if (it.targets[c] == 1.f) on.push_back(ds.class_names[c]);
    std::vector<std::string> want;
    std::stringstream ss(m.cols.at(0));
    for (std::string t; std::getline(ss, t, ';');)
      if (!t.empty()) want.push_back(t);
    std::sort(on.begin(), on.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(on, want) << it.id;
  }
}

TEST_F(ReadSynthOutput, Tempo) {
  const std::string d = synth("beat", "--count 12 --sec 4");
  const auto meta = read_metadata(d);
  const ProbeDataset ds = read_synth_tempo(d);
  ASSERT_EQ(ds.items.size(), meta.size());
  for (const auto& it : ds.items) {
    const Meta& m = row_of(it, meta, d);
    EXPECT_NEAR(it.targets.at(0), std::stod(m.cols.at(0)), 1e-3) << it.id;  // bpm column
    EXPECT_GE(it.targets.at(0), 60.f);
    EXPECT_LE(it.targets.at(0), 200.f);
  }
}

}  // namespace
