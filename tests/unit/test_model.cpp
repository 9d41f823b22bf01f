// Invariants of the model that need no oracle: a padded batch equals single-item runs,
// requesting a subset of hidden states equals slicing the full set, short input is refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mert/error.h"
#include "model/model.h"
#include "model/presets.h"

namespace {

mert::ModelConfig small_config(bool pre_ln, const std::string& norm) {
  mert::ModelConfig c = mert::preset_config("tiny");
  c.conv_dim.assign(7, 32);
  c.hidden_size = 64;
  c.num_hidden_layers = 3;
  c.intermediate_size = 96;
  c.num_conv_pos_embeddings = 16;
  c.num_conv_pos_embedding_groups = 4;
  c.do_stable_layer_norm = pre_ln;
  c.feat_extract_norm = norm;
  c.conv_bias = norm == "layer";
  return c;
}

// Random weights everywhere, including norms and biases, so nothing cancels by accident.
mert::MertModel random_model(const mert::ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  mert::MertModel m(c);
  mert::init_weights(*m, seed);
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().normal_(0, 0.1);
    if (p.key().find("norm") != std::string::npos && p.key().find("weight") != std::string::npos)
      p.value().normal_(1, 0.1);
  }
  m->eval();
  return m;
}

double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-12, b.abs().max().item<double>());
}

class PaddedBatch : public ::testing::TestWithParam<std::tuple<bool, std::string>> {};

TEST_P(PaddedBatch, EachItemEqualsItsSingleRun) {
  auto [pre_ln, norm] = GetParam();
  auto cfg = small_config(pre_ln, norm);
  auto model = random_model(cfg, 7);
  torch::NoGradGuard g;
  const std::vector<int64_t> lens = {24000, 12345, 401, 17000};
  const int64_t S = 24000;
  auto batch = torch::zeros({4, S});
  std::vector<torch::Tensor> singles;
  for (size_t b = 0; b < lens.size(); ++b) {
    auto x = torch::randn({1, lens[b]}) * 0.3;
    batch[b].narrow(0, 0, lens[b]).copy_(x[0]);
    singles.push_back(x);
  }
  auto out = model->forward(batch, torch::tensor(lens));
  ASSERT_EQ(out.hidden_states.size(), static_cast<size_t>(cfg.num_hidden_layers + 1));
  for (size_t b = 0; b < lens.size(); ++b) {
    const int64_t T = cfg.frames_for_samples(lens[b]);
    EXPECT_EQ(out.frame_lengths[b].item<int64_t>(), T);
    auto single = model->forward(singles[b]);
    for (size_t l = 0; l < single.hidden_states.size(); ++l) {
      ASSERT_EQ(single.hidden_states[l].size(1), T);
      auto batched = out.hidden_states[l][b].narrow(0, 0, T);
      EXPECT_LE(rel_err(batched, single.hidden_states[l][0]), 1e-4) << "item " << b << " layer " << l;
      // padded frames are zeroed
      if (T < out.hidden_states[l].size(1))
        EXPECT_EQ(out.hidden_states[l][b].narrow(0, T, out.hidden_states[l].size(1) - T).abs().max().item<float>(), 0.0f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Styles, PaddedBatch,
                         ::testing::Values(std::make_tuple(false, std::string("group")),
                                           std::make_tuple(true, std::string("group")),
                                           std::make_tuple(false, std::string("layer"))));

TEST(Model, LayerSubsetEqualsFullRun) {
  auto cfg = small_config(true, "group");
  auto model = random_model(cfg, 3);
  torch::NoGradGuard g;
  auto x = torch::randn({1, 9000});
  auto full = model->forward(x);
  auto part = model->forward(x, {}, {1, 3});
  EXPECT_FALSE(part.hidden_states[0].defined());
  EXPECT_FALSE(part.hidden_states[2].defined());
  EXPECT_TRUE(torch::equal(part.hidden_states[1], full.hidden_states[1]));
  EXPECT_TRUE(torch::equal(part.hidden_states[3], full.hidden_states[3]));
}

TEST(Model, PreLnOnlyLastStateNormalised) {
  auto cfg = small_config(true, "group");
  auto model = random_model(cfg, 5);
  torch::NoGradGuard g;
  auto out = model->forward(torch::randn({1, 12000}));
  // named_parameters() returns a dict by value: keep it, or find()'s pointers dangle.
  const auto params = model->named_parameters();
  const auto& enc_ln = *params.find("encoder.layer_norm.weight");
  const auto& enc_lb = *params.find("encoder.layer_norm.bias");
  auto last = out.hidden_states.back();
  // The last state is LayerNorm(raw): undo the affine part and check unit variance per frame.
  auto unaffine = (last - enc_lb) / enc_ln;
  EXPECT_NEAR(unaffine.var(-1, false).mean().item<double>(), 1.0, 1e-3);
  EXPECT_NEAR(unaffine.mean(-1).abs().max().item<double>(), 0.0, 1e-4);
}

TEST(Model, RefusesAudioShorterThanReceptiveField) {
  auto model = random_model(small_config(false, "group"), 1);
  torch::NoGradGuard g;
  EXPECT_THROW(model->forward(torch::randn({1, 399})), mert::Error);
  EXPECT_NO_THROW(model->forward(torch::randn({1, 400})));
}

TEST(Model, DeepNormScalesResiduals) {
  auto cfg = small_config(false, "group");
  auto plain = random_model(cfg, 11);
  cfg.deepnorm = true;
  auto deep = random_model(cfg, 11);
  torch::NoGradGuard g;
  auto x = torch::randn({1, 8000});
  auto a = plain->forward(x), b = deep->forward(x);
  // Same weights, same hidden state 0; different after the first layer.
  EXPECT_TRUE(torch::allclose(a.hidden_states[0], b.hidden_states[0]));
  EXPECT_GT((a.hidden_states[1] - b.hidden_states[1]).abs().max().item<double>(), 1e-3);
}

TEST(Model, ParameterNamesAreHuggingFace) {
  mert::MertModel m(mert::preset_config("v1-95m"));
  auto params = m->named_parameters();
  for (const char* name : {"feature_extractor.conv_layers.0.conv.weight", "feature_extractor.conv_layers.0.layer_norm.weight",
                           "feature_projection.projection.bias", "encoder.pos_conv_embed.conv.weight_g",
                           "encoder.pos_conv_embed.conv.weight_v", "encoder.layers.11.attention.q_proj.weight",
                           "encoder.layers.3.feed_forward.intermediate_dense.weight", "encoder.layers.0.final_layer_norm.bias",
                           "encoder.layer_norm.weight", "masked_spec_embed"})
    EXPECT_TRUE(params.contains(name)) << name;
  EXPECT_EQ(mert::count_parameters(*m), 94371712 - 768);  // spec: 94,371,712 incl. masked_spec_embed
  EXPECT_EQ(mert::count_parameters(*m, true), 94371712);
  EXPECT_EQ(params.find("encoder.pos_conv_embed.conv.weight_v")->sizes(), torch::IntArrayRef({768, 48, 128}));
}

}  // namespace

namespace {

// Inference takes the GEMM front end (64-frame tiles, layer 0's GroupNorm folded into its
// weights from patch statistics); with autograd on, the plain conv path runs. Both must agree,
// for both norm modes, also with a DC offset (the statistics' float64 sums are centred for it).
TEST(Model, TiledFrontEndEqualsPlain) {
  for (const char* norm : {"group", "layer"}) {
    auto cfg = small_config(false, norm);
    auto model = random_model(cfg, 21);
    auto x = torch::randn({2, 24000 * 4 + 777}) * 0.3;  // 1302 frames: many tiles
    x[1] += 0.7;
    mert::ModelOutput tiled;
    {
      torch::NoGradGuard g;
      tiled = model->forward(x);
    }
    auto plain = model->forward(x);  // grad mode on: plain path
    for (size_t l = 0; l < plain.hidden_states.size(); ++l)
      EXPECT_LE(rel_err(tiled.hidden_states[l], plain.hidden_states[l].detach()), 1e-5) << norm << " layer " << l;
  }
}

}  // namespace

#include "model/attention.h"

namespace {

// Without autograd, attention runs over groups of heads once one head's scores pass 16 MB
// (T > ~2048 frames, about 27 s in one chunk); it must equal the all-heads computation.
TEST(Model, HeadGroupedAttentionEqualsFull) {
  torch::manual_seed(4);
  mert::SelfAttention att(32, 4, 0.0);
  att->eval();
  // 1150^2 floats = 5.3 MB per head -> groups of 3 heads and 1; 4200^2 = 70 MB -> one head each.
  for (const int64_t T : {1150L, 4200L}) {
    auto x = torch::randn({1, T, 32});
    auto mask = torch::zeros({1, 1, 1, T});
    mask.narrow(3, T - 100, 100).fill_(std::numeric_limits<float>::lowest());
    torch::Tensor grouped;
    {
      torch::NoGradGuard g;
      grouped = att->forward(x, mask);
    }
    auto full = att->forward(x, mask).detach();  // grad mode on: all heads at once
    EXPECT_LE(rel_err(grouped, full), 1e-6) << "T=" << T;
  }
}

}  // namespace
