// The bf16 compute path against fp32 with the same weights: every hidden state within the
// cosine bound the benchmark reports (per-frame cosine, mean over frames, >= 0.999).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mert/audio.h"
#include "model/model.h"
#include "model/presets.h"

namespace {

mert::MertModel seeded_model(const mert::ModelConfig& cfg) {
  mert::MertModel m(cfg);
  mert::init_weights(*m, 7);
  m->eval();
  return m;
}

at::Tensor music(double sec, uint64_t seed) {
  std::vector<float> w = mert::generate_test_music(sec, 24000, seed);
  mert::normalize_waveform(w);
  return torch::from_blob(w.data(), {1, static_cast<int64_t>(w.size())}, torch::kFloat).clone();
}

double mean_frame_cosine(const at::Tensor& a, const at::Tensor& b) {
  auto x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  return ((x * y).sum(-1) / (x.norm(2, -1) * y.norm(2, -1)).clamp_min(1e-30)).mean().item<double>();
}

}  // namespace

TEST(Bf16, HiddenStatesMatchFp32ByCosine) {
  torch::NoGradGuard g;
  const auto cfg = mert::preset_config("tiny");
  auto ref = seeded_model(cfg);
  auto fast = seeded_model(cfg);
  mert::set_compute_dtype(*fast, "bf16");
  ASSERT_EQ(fast->dtype(), torch::kBFloat16);
  const auto x = music(3.0, 11);
  const auto a = ref->forward(x).hidden_states;
  const auto b = fast->forward(x).hidden_states;
  ASSERT_EQ(a.size(), b.size());
  for (size_t l = 0; l < a.size(); ++l) {
    EXPECT_EQ(b[l].scalar_type(), torch::kBFloat16);
    const double c = mean_frame_cosine(b[l], a[l]);
    EXPECT_GE(c, 0.999) << "hidden state " << l;
    EXPECT_LT(c, 1.0 - 1e-9) << "bf16 gave fp32's exact result: the dtype switch did nothing";
  }
}

TEST(Bf16, PaddedBatchHasNoNaNAndMatchesSingleRuns) {
  torch::NoGradGuard g;
  auto fast = seeded_model(mert::preset_config("tiny"));
  mert::set_compute_dtype(*fast, "bf16");
  auto x = torch::zeros({2, 48000});
  x[0].copy_(music(2.0, 1)[0]);
  x[1].narrow(0, 0, 20000).copy_(music(2.0, 2)[0].narrow(0, 0, 20000));
  const auto batch = fast->forward(x, torch::tensor({48000L, 20000L})).hidden_states;
  const auto single = fast->forward(x[1].narrow(0, 0, 20000).unsqueeze(0)).hidden_states;
  const int64_t T = single.back().size(1);
  for (size_t l = 0; l < batch.size(); ++l) {
    ASSERT_TRUE(torch::isfinite(batch[l]).all().item<bool>()) << "hidden state " << l;
    EXPECT_GE(mean_frame_cosine(batch[l][1].narrow(0, 0, T), single[l][0]), 0.999) << "hidden state " << l;
  }
}

TEST(Bf16, UnknownDtypeRefused) {
  auto m = seeded_model(mert::preset_config("tiny"));
  EXPECT_THROW(mert::set_compute_dtype(*m, "int4"), std::exception);
}
