// io::json_to: typed reads of untrusted JSON that refuse what nlohmann's get<T>() would convert
// with undefined behaviour (1e300 into an int or a float) or silent loss (64.5 into an int).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/json_value.h"
#include "mert/config.h"
#include "mert/error.h"

using nlohmann::json;
using mert::io::json_to;

namespace {

template <typename T>
bool reads(const char* text, T expected) {
  T out{};
  return json_to(json::parse(text), out) && out == expected;
}

template <typename T>
bool refuses(const char* text) {
  T out{};
  const T before = out;
  return !json_to(json::parse(text), out) && out == before;
}

}  // namespace

TEST(JsonValue, IntegersInRange) {
  EXPECT_TRUE(reads<int>("64", 64));
  EXPECT_TRUE(reads<int>("-3", -3));
  EXPECT_TRUE(reads<int>("64.0", 64));
  EXPECT_TRUE(reads<int>("2147483647", 2147483647));
  EXPECT_TRUE(reads<int64_t>("-9223372036854775808", INT64_MIN));
  EXPECT_TRUE(reads<uint64_t>("18446744073709551615", UINT64_MAX));
}

TEST(JsonValue, IntegersOutOfRangeOrFractional) {
  EXPECT_TRUE(refuses<int>("2147483648"));
  EXPECT_TRUE(refuses<int>("1099511627776"));  // 2^40: get<int> would wrap
  EXPECT_TRUE(refuses<int>("64.5"));
  EXPECT_TRUE(refuses<int>("5.88889e+51"));  // fuzz_config: UB in get<long>
  EXPECT_TRUE(refuses<int64_t>("9223372036854775808.0"));  // 2^63 as a float: one past the end
  EXPECT_TRUE(refuses<uint32_t>("-1"));
  EXPECT_TRUE(refuses<int>("\"64\""));
  EXPECT_TRUE(refuses<int>("true"));
}

TEST(JsonValue, Floats) {
  EXPECT_TRUE(reads<float>("1e-5", 1e-5f));
  EXPECT_TRUE(reads<float>("3", 3.0f));
  EXPECT_TRUE(reads<double>("1e300", 1e300));
  EXPECT_TRUE(refuses<float>("1e300"));  // get<float> would be UB
  EXPECT_TRUE(refuses<double>("null"));
}

TEST(JsonValue, BoolsStringsVectors) {
  EXPECT_TRUE(reads<bool>("true", true));
  EXPECT_TRUE(refuses<bool>("1"));
  EXPECT_TRUE(reads<std::string>("\"gelu\"", std::string("gelu")));
  EXPECT_TRUE(refuses<std::string>("5"));
  EXPECT_TRUE(reads<std::vector<int>>("[512, 512]", std::vector<int>{512, 512}));
  EXPECT_TRUE(refuses<std::vector<int>>("[512, 2.5]"));
  EXPECT_TRUE(refuses<std::vector<int>>("[512, 1e300]"));
  EXPECT_TRUE(refuses<std::vector<int>>("512"));
}

// The loader that fuzz_config crashed: a config.json whose int key holds 5.9e51.
TEST(JsonValue, ConfigRefusesHugeNumberForIntKey) {
  try {
    mert::ModelConfig::from_json_string(R"({"hidden_size": 5.88889e+51})", "config.json");
    ADD_FAILURE() << "no error";
  } catch (const mert::Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_size"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}
