// The source separation probe's pieces: the mono Wiener post-filter (a hand-computed bin and
// perfect masks on disjoint bins), the Open-Unmix-style head (shapes, a non-negative mask on the
// mixture magnitude, determinism from its generator) and the frame alignment to the STFT.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "probe/stems_head.h"

using namespace mert::probe;

TEST(WienerMono, HandComputedBin) {
  // One frame, one bin: mixture 4, estimates 3 and 1 (and two silent targets), residual 0.
  const at::Tensor mix = torch::complex(torch::full({1, 1}, 4.0f), torch::zeros({1, 1}));
  const at::Tensor mags = torch::tensor({3.0f, 1.0f, 0.0f, 0.0f}).reshape({4, 1, 1});
  const at::Tensor y = wiener_mono(mags, mix);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{4, 1, 1}));
  // v = |y|^2 = 9, 1, 0, 0 (+ residual 0); R = v / (1e-10 + v); gain = vR / (sum vR + sqrt(1e-10)).
  const double eps = 1e-10, r0 = 9 / (eps + 9), r1 = 1 / (eps + 1), total = 9 * r0 + 1 * r1 + std::sqrt(eps);
  EXPECT_NEAR(torch::real(y).flatten()[0].item<double>(), 4 * 9 * r0 / total, 1e-6);
  EXPECT_NEAR(torch::real(y).flatten()[1].item<double>(), 4 * 1 * r1 / total, 1e-6);
  EXPECT_EQ(torch::abs(y).flatten()[2].item<double>(), 0.0);
  EXPECT_NEAR(torch::imag(y).abs().max().item<double>(), 0.0, 1e-7);
}

TEST(WienerMono, PerfectMasksOnDisjointBinsGiveTheSources) {
  torch::manual_seed(3);
  const int64_t T = 700, F = 12;  // more than one 600-frame block
  const at::Tensor mix = torch::complex(torch::randn({T, F}), torch::randn({T, F})) * 50;
  at::Tensor mags = torch::zeros({4, T, F});
  for (int64_t f = 0; f < F; ++f) mags[f % 4].select(1, f).copy_(mix.abs().select(1, f));
  const at::Tensor y = wiener_mono(mags, mix);
  for (int64_t f = 0; f < F; ++f) {
    const at::Tensor want = mix.select(1, f), got = y[f % 4].select(1, f);
    // Only the regulariser sqrt(1e-10) in the gain's denominator keeps it from exact.
    EXPECT_LT((got - want).abs().max().item<double>() / want.abs().max().item<double>(), 1e-4) << f;
    for (int64_t j = 0; j < 4; ++j)
      if (j != f % 4) EXPECT_EQ(y[j].select(1, f).abs().max().item<double>(), 0.0) << f;
  }
}

TEST(StemsHead, ShapesMaskAndDeterminism) {
  auto make = [] { return StemsHead(24, 16, 9, 4, 0, at::detail::createCPUGenerator(7)); };
  StemsHead a = make(), b = make();
  torch::manual_seed(1);
  const at::Tensor x = torch::randn({2, 5, 24}), mag = torch::rand({2, 5, 9});
  mag[0][2].zero_();
  a->eval();
  b->eval();
  const at::Tensor ya = a->forward(x, mag), yb = b->forward(x, mag);
  EXPECT_EQ(ya.sizes(), (std::vector<int64_t>{2, 4, 5, 9}));
  EXPECT_TRUE(torch::equal(ya, yb));
  EXPECT_GE(ya.min().item<double>(), 0.0);
  EXPECT_EQ(ya[0].select(1, 2).abs().max().item<double>(), 0.0);  // silent mixture frame: silent estimates
  // The weighted-sum variant takes [B, T, L, D].
  StemsHead w(24, 16, 9, 4, 3, at::detail::createCPUGenerator(7));
  w->eval();
  EXPECT_EQ(w->forward(torch::randn({1, 5, 3, 24}), torch::rand({1, 5, 9})).sizes(), (std::vector<int64_t>{1, 4, 5, 9}));
  EXPECT_EQ(w->layer_mix().size(0), 3);
}

TEST(StemsHead, FeaturesMeetTheStftFrameCount) {
  EXPECT_EQ(stft_frames(24000, 320), 76);
  const at::Tensor x = torch::arange(6, torch::kFloat).reshape({3, 2});
  EXPECT_TRUE(torch::equal(features_to_stft_frames(x, 2), x.narrow(0, 0, 2)));
  const at::Tensor p = features_to_stft_frames(x, 5);
  EXPECT_EQ(p.size(0), 5);
  EXPECT_TRUE(torch::equal(p[4], x[2]));
  EXPECT_TRUE(torch::equal(p[3], x[2]));
}
