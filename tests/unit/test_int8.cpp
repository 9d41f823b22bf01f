// The int8 compute dtype: Linear layers with dynamic int8 products, bf16 elsewhere. Checked
// against float32 Linear / the float32 model with the same weights (cosine, as the bench reports).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mert/audio.h"
#include "model/model.h"
#include "model/presets.h"
#include "model/dense.h"

namespace {

double mean_row_cosine(const at::Tensor& a, const at::Tensor& b) {
  auto x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  return ((x * y).sum(-1) / (x.norm(2, -1) * y.norm(2, -1)).clamp_min(1e-30)).mean().item<double>();
}

}  // namespace

TEST(Int8, DenseMatchesFloatLinear) {
  if (!mert::int8_engine_available()) GTEST_SKIP() << "no quantized engine in this libtorch";
  torch::NoGradGuard g;
  torch::manual_seed(5);
  mert::Dense dense(96, 200);
  const auto x = torch::randn({3, 37, 96});
  const auto ref = dense->forward(x);
  dense->quantize_int8();
  ASSERT_TRUE(dense->is_int8());
  const auto out = dense->forward(x);
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_EQ(out.scalar_type(), torch::kFloat);
  const double c = mean_row_cosine(out, ref);
  EXPECT_GE(c, 0.999);
  EXPECT_LT(c, 1.0 - 1e-9) << "int8 gave the float result exactly: the int8 path did not run";
  EXPECT_EQ(dense->forward(x.to(torch::kBFloat16)).scalar_type(), torch::kBFloat16);  // dtype kept
}

TEST(Int8, RefusesAutograd) {
  if (!mert::int8_engine_available()) GTEST_SKIP() << "no quantized engine in this libtorch";
  mert::Dense dense(8, 4);
  dense->quantize_int8();
  EXPECT_THROW(dense->forward(torch::randn({2, 8}, torch::requires_grad())), std::exception);
}

TEST(Int8, ModelHiddenStatesMatchFp32ByCosine) {
  if (!mert::int8_engine_available()) GTEST_SKIP() << "no quantized engine in this libtorch";
  torch::NoGradGuard g;
  const auto cfg = mert::preset_config("tiny");
  mert::MertModel ref(cfg), fast(cfg);
  mert::init_weights(*ref, 7);
  mert::init_weights(*fast, 7);
  ref->eval();
  fast->eval();
  mert::set_compute_dtype(*fast, "int8");
  std::vector<float> w = mert::generate_test_music(3.0, 24000, 11);
  mert::normalize_waveform(w);
  const auto x = torch::from_blob(w.data(), {1, static_cast<int64_t>(w.size())}, torch::kFloat).clone();
  const auto a = ref->forward(x).hidden_states;
  const auto b = fast->forward(x).hidden_states;
  ASSERT_EQ(a.size(), b.size());
  for (size_t l = 0; l < a.size(); ++l) EXPECT_GE(mean_row_cosine(b[l][0], a[l][0]), 0.999) << "hidden state " << l;
}

TEST(Int8, ModelCannotBeSaved) {
  if (!mert::int8_engine_available()) GTEST_SKIP() << "no quantized engine in this libtorch";
  mert::MertModel m(mert::preset_config("tiny"));
  mert::set_compute_dtype(*m, "int8");
  EXPECT_THROW(mert::model_state(*m), std::exception);
}
