// load_codebook on damaged metadata: every number that does not parse, or does not fit, is a
// mert::Error naming the file (std::stoll's own exceptions used to escape).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "teachers/codebook.h"
#include "mert/error.h"
#include "io/weights.h"
#include "test_util.h"

using namespace mert_test;

namespace {

std::map<std::string, std::string> valid_metadata() {
  return {{"format", "mert-codebook"}, {"version", "1"},       {"features", "npy"}, {"params", "{}"},
          {"algorithm", "lloyd"},      {"fitted_frames", "10"}, {"seed", "0"},       {"inertia", "1.5"},
          {"count", "1"}};
}

std::string write_codebook(const TempDir& dir, const std::string& key, const std::string& value) {
  auto meta = valid_metadata();
  if (!key.empty()) meta[key] = value;
  const std::string path = dir / ("km-" + key + ".safetensors");
  mert::write_safetensors(path, {{"codebook.0", torch::zeros({2, 3})}}, meta);
  return path;
}

}  // namespace

TEST(CodebookFile, ValidMetadataLoads) {
  TempDir dir;
  const auto cb = mert::load_codebook(write_codebook(dir, "", ""));
  EXPECT_EQ(cb.size(), 1u);
  EXPECT_EQ(cb.fitted_frames, 10);
}

TEST(CodebookFile, DamagedNumbersAreErrors) {
  TempDir dir;
  for (const auto& kv : std::vector<std::pair<std::string, std::string>>{{"count", "x"},
                                                                     {"count", "99999999999999999999999"},
                                                                     {"fitted_frames", "99999999999999999999999"},
                                                                     {"seed", "-"},
                                                                     {"inertia", "1e99999"}})
    expect_mert_error([&] { mert::load_codebook(write_codebook(dir, kv.first, kv.second)); }, kv.first + "=" + kv.second,
                      "corrupt codebook metadata");
}
