// AdamW against fairseq's update written out in double precision, the learning-rate schedule,
// the pre-training config (presets, JSON round trip, overrides) and checkpoint round trips.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "mert/error.h"
#include "mert/pretrain.h"
#include "train/adamw.h"
#include "train/checkpoint.h"

using namespace mert;
using namespace mert::train;

TEST(AdamW, MatchesFairseqUpdateInDouble) {
  at::manual_seed(3);
  at::Tensor p = at::randn({5, 3});
  p.set_requires_grad(true);
  AdamWOptions o;
  o.weight_decay = 0.1;
  AdamW opt({{"p", p}}, o);
  std::vector<double> ref(p.data_ptr<float>(), p.data_ptr<float>() + 15), m(15, 0), v(15, 0);
  for (int step = 1; step <= 4; ++step) {
    at::Tensor g = at::randn({5, 3});
    p.mutable_grad() = g.clone();
    const double lr = 0.01 * step;
    opt.step(lr);
    const double b1 = 1 - std::pow(o.beta1, step), b2 = 1 - std::pow(o.beta2, step);
    for (int i = 0; i < 15; ++i) {
      const double gi = g.data_ptr<float>()[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      ref[i] -= o.weight_decay * lr * ref[i];  // decoupled decay first, as fairseq's adam
      ref[i] -= lr * std::sqrt(b2) / b1 * m[i] / (std::sqrt(v[i]) + o.eps);
    }
  }
  for (int i = 0; i < 15; ++i) EXPECT_NEAR(p.data_ptr<float>()[i], ref[i], 1e-5) << i;
  EXPECT_EQ(opt.steps_taken(), 4);
}

TEST(AdamW, StateRestoresToTheSameNextStep) {
  at::manual_seed(4);
  auto make = [] {
    at::Tensor p = at::ones({4});
    p.set_requires_grad(true);
    return p;
  };
  at::Tensor a = make(), b = make();
  AdamW oa({{"w", a}}, {}), ob({{"w", b}}, {});
  at::Tensor g1 = at::randn({4}), g2 = at::randn({4});
  a.mutable_grad() = g1.clone();
  oa.step(0.1);
  {
    at::NoGradGuard ng;
    b.copy_(a);
  }
  ob.restore(oa.state(), oa.steps_taken(), "test");
  a.mutable_grad() = g2.clone();
  b.mutable_grad() = g2.clone();
  oa.step(0.1);
  ob.step(0.1);
  EXPECT_TRUE(at::equal(a, b));
  TensorMap bad = oa.state();
  bad.erase("exp_avg.w");
  EXPECT_THROW(ob.restore(bad, 1, "test"), Error);
}

TEST(PretrainSchedule, LinearWarmupThenLinearDecayToZero) {
  PretrainConfig c = PretrainConfig::preset_named("tiny");
  c.lr = 1.0;
  c.warmup_steps = 10;
  c.max_steps = 110;
  EXPECT_DOUBLE_EQ(c.lr_at(0), 0.1);
  EXPECT_DOUBLE_EQ(c.lr_at(4), 0.5);
  EXPECT_DOUBLE_EQ(c.lr_at(9), 1.0);
  EXPECT_DOUBLE_EQ(c.lr_at(10), 1.0);
  EXPECT_DOUBLE_EQ(c.lr_at(60), 0.5);
  EXPECT_NEAR(c.lr_at(109), 0.01, 1e-12);
  EXPECT_GT(c.lr_at(109), 0.0);
}

TEST(PretrainConfig, PresetsCarryTheRecipes) {
  const auto m95 = PretrainConfig::preset_named("mert-v1-95m");
  EXPECT_EQ(m95.model.hidden_size, 768);
  EXPECT_DOUBLE_EQ(m95.lr, 5e-4);
  EXPECT_DOUBLE_EQ(m95.clip_norm, 10.0);
  EXPECT_DOUBLE_EQ(m95.feature_grad_mult, 0.1);
  EXPECT_EQ(m95.final_dim, 64);
  EXPECT_EQ(m95.warmup_steps, 32000);
  const auto m330 = PretrainConfig::preset_named("mert-v1-330m");
  EXPECT_TRUE(m330.model.do_stable_layer_norm);
  EXPECT_DOUBLE_EQ(m330.lr, 1.5e-3);
  EXPECT_EQ(m330.update_freq, 8);
  EXPECT_EQ(m330.final_dim, 128);
  EXPECT_EQ(m330.mixup_max_len, 36000);
  EXPECT_EQ(m330.crop_samples, 122880);
  const auto small = PretrainConfig::preset_named("small");
  EXPECT_EQ(small.model.hidden_size, 256);
  EXPECT_EQ(small.model.num_hidden_layers, 6);
  EXPECT_EQ(small.model.conv_dim, std::vector<int64_t>(7, 256));
  EXPECT_DOUBLE_EQ(small.cqt_log_gain, 100);
  EXPECT_EQ(small.keep_every % small.save_every, 0);
  EXPECT_NO_THROW(small.validate());
  EXPECT_THROW(PretrainConfig::preset_named("huge"), Error);
}

TEST(PretrainConfig, JsonRoundTripAndOverrides) {
  PretrainConfig c = PretrainConfig::preset_named("mert-v1-95m");
  c.set("lr", "0.001");
  c.set("loss_weights", "5,2");
  c.set("hidden_size", "384");
  c.set("num_attention_heads", "6");
  c.set("cqt_loss", "false");
  c.set("dtype", "bf16");
  EXPECT_DOUBLE_EQ(c.lr, 0.001);
  EXPECT_EQ(c.loss_weights, (std::vector<double>{5, 2}));
  EXPECT_EQ(c.model.hidden_size, 384);
  EXPECT_FALSE(c.cqt_loss);
  const PretrainConfig back = PretrainConfig::from_json_string(c.to_json_string(), "test");
  EXPECT_EQ(back.to_json_string(), c.to_json_string());
  EXPECT_EQ(back.preset, "mert-v1-95m");
  EXPECT_THROW(c.set("no_such_key", "1"), Error);
  EXPECT_THROW(c.set("lr", "fast"), Error);
  EXPECT_THROW(c.set("max_steps", "1.5"), Error);
  EXPECT_THROW(c.set("cqt_loss", "maybe"), Error);
  c.set("cqt_log_gain", "100");
  EXPECT_DOUBLE_EQ(PretrainConfig::from_json_string(c.to_json_string(), "t").cqt_log_gain, 100);
  EXPECT_THROW(PretrainConfig::from_json_string(R"({"train": {"cqt_log_gain": -1}})", "t"), Error);
  EXPECT_THROW(PretrainConfig::from_json_string(R"({"train": {"lr": "x"}})", "t"), Error);
  EXPECT_THROW(PretrainConfig::from_json_string(R"({"train": {"nope": 1}})", "t"), Error);
  EXPECT_THROW(PretrainConfig::from_json_string(R"({"train": {"mask_prob": 2}})", "t"), Error);
  EXPECT_THROW(PretrainConfig::from_json_string(R"({"train": {"lr": 1e999}})", "t"), Error);  // nlohmann out_of_range
  EXPECT_TRUE(PretrainConfig::is_key("mask_prob"));
  EXPECT_TRUE(PretrainConfig::is_key("layerdrop"));
  EXPECT_FALSE(PretrainConfig::is_key("steps"));
}

TEST(PretrainCheckpoint, RoundTripsEveryPart) {
  const auto dir = std::filesystem::temp_directory_path() / ("mert_ckpt_" + std::to_string(::getpid()));
  CheckpointState s;
  s.update = 42;
  s.skipped_updates = 1;
  s.audio_seconds = 123.5;
  s.world_size = 2;
  s.threads = 3;
  s.config_json = PretrainConfig::preset_named("tiny").to_json_string();
  s.label_names = {"km0", "km1"};
  s.vocab_sizes = {100, 50};
  s.model["a.weight"] = at::randn({3, 2});
  s.heads["final_proj.weight"] = at::randn({4});
  s.optimizer["exp_avg.a"] = at::randn({2});
  const std::string path = checkpoint_path(dir.string());
  save_checkpoint(path, s);
  CheckpointState r = load_checkpoint(path);
  EXPECT_EQ(r.update, 42);
  EXPECT_EQ(r.skipped_updates, 1);
  EXPECT_DOUBLE_EQ(r.audio_seconds, 123.5);
  EXPECT_EQ(r.world_size, 2);
  EXPECT_EQ(r.threads, 3);
  EXPECT_EQ(r.config_json, s.config_json);
  EXPECT_EQ(r.label_names, s.label_names);
  EXPECT_EQ(r.vocab_sizes, s.vocab_sizes);
  EXPECT_TRUE(at::equal(r.model.at("a.weight"), s.model["a.weight"]));
  EXPECT_TRUE(at::equal(r.heads.at("final_proj.weight"), s.heads["final_proj.weight"]));
  EXPECT_TRUE(at::equal(r.optimizer.at("exp_avg.a"), s.optimizer["exp_avg.a"]));
  EXPECT_THROW(load_checkpoint((dir / "missing.safetensors").string()), Error);
  std::filesystem::remove_all(dir);
}
