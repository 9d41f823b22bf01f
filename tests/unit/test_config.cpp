#include <gtest/gtest.h>

#include "mert/config.h"
#include "mert/error.h"
#include "model/presets.h"

using mert::Error;
using mert::ModelConfig;

TEST(Config, V1_95MFrameArithmetic) {
  ModelConfig c = mert::preset_config("v1-95m");
  EXPECT_EQ(c.total_stride(), 320);
  EXPECT_EQ(c.receptive_field(), 400);
  EXPECT_EQ(c.frames_for_samples(24000), 74);
  EXPECT_EQ(c.frames_for_samples(120000), 374);
  EXPECT_EQ(c.frames_for_samples(122880), 383);
  EXPECT_EQ(c.frames_for_samples(240000), 749);
  EXPECT_EQ(c.frames_for_samples(720000), 2249);
  EXPECT_EQ(c.frames_for_samples(400), 1);
  EXPECT_EQ(c.frames_for_samples(399), 0);
}

TEST(Config, ParsesHuggingFaceKeys) {
  auto c = ModelConfig::from_json_string(R"({"hidden_size": 1024, "num_hidden_layers": 24,
      "num_attention_heads": 16, "intermediate_size": 4096, "do_stable_layer_norm": true,
      "attention_relax": 32.0, "feature_extractor_cqt": false, "hidden_act": "gelu",
      "layer_norm_eps": 1e-6, "mask_time_prob": 0.075, "unknown_key": [1,2]})", "test");
  EXPECT_EQ(c.hidden_size, 1024);
  EXPECT_TRUE(c.is_pre_ln());
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-6);
}

static std::string error_of(const std::string& json) {
  try {
    ModelConfig::from_json_string(json, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, RefusesUnsupportedAndInconsistent) {
  EXPECT_NE(error_of(R"({"feature_extractor_cqt": true})").find("feature_extractor_cqt"), std::string::npos);
  EXPECT_NE(error_of(R"({"hidden_act": "relu"})").find("hidden_act"), std::string::npos);
  EXPECT_NE(error_of(R"({"hidden_size": 100, "num_attention_heads": 12})").find("divisible"), std::string::npos);
  EXPECT_NE(error_of(R"({"conv_dim": [512, 512], "conv_kernel": [10], "conv_stride": [5, 2]})").find("equal lengths"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"deepnorm": true, "do_stable_layer_norm": true})").find("deepnorm"), std::string::npos);
  EXPECT_NE(error_of(R"({"feat_extract_norm": "batch"})").find("feat_extract_norm"), std::string::npos);
  EXPECT_NE(error_of(R"({"hidden_size": "768"})").find("wrong type"), std::string::npos);
  EXPECT_NE(error_of(R"({"hidden_size": 768,)").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of(R"([1,2,3])").find("JSON object"), std::string::npos);
  // Found by fuzz_config: a number past double's range escaped as nlohmann's out_of_range.
  EXPECT_NE(error_of(R"({"layer_norm_eps": 2e8132})").find("malformed JSON"), std::string::npos);
  EXPECT_EQ(error_of(R"({})"), "");
}

TEST(Config, JsonRoundTrip) {
  ModelConfig c = mert::preset_config("tiny");
  c.conv_bias = true;
  c.feat_extract_norm = "layer";
  auto d = ModelConfig::from_json_string(c.to_json_string(), "roundtrip");
  EXPECT_EQ(d.to_json_string(), c.to_json_string());
}
