// mert's hashed dropout: the statistics of its mask, its gradient, and its determinism.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <cmath>

#include "model/dropout.h"

TEST(HashedDropout, MaskRateScaleAndIndependence) {
  const auto x = torch::ones({1000, 1001});  // odd count: the last element's half-draw
  for (double p : {0.1, 0.5}) {
    SCOPED_TRACE(p);
    const auto mask = mert::hashed_dropout_mask(x, p, 12345);
    const double n = static_cast<double>(x.numel());
    const double kept = mask.sum().item<double>() / n;
    // 1M Bernoulli draws: 5 standard deviations of the kept fraction.
    EXPECT_NEAR(kept, 1 - p, 5 * std::sqrt(p * (1 - p) / n));
    // Neighbours (the two halves of one hash, and consecutive hashes) are uncorrelated.
    const auto m = mask.flatten() - (1 - p);
    for (int64_t lag : {1, 2, 3, 1001}) {
      const double corr = (m.narrow(0, 0, m.size(0) - lag) * m.narrow(0, lag, m.size(0) - lag)).mean().item<double>() /
                          (p * (1 - p));
      EXPECT_LT(std::abs(corr), 0.01) << "lag " << lag;
    }
    // A different seed gives a different mask (they agree where two draws would: p^2 + (1-p)^2).
    const double same = (mask == mert::hashed_dropout_mask(x, p, 12346)).to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(same, p * p + (1 - p) * (1 - p), 0.01);
  }
}

TEST(HashedDropout, ForwardScalesKeptElementsAndBackwardUsesTheSameMask) {
  torch::manual_seed(7);
  const auto x = torch::randn({6, 50, 40}, torch::requires_grad());
  const auto y = mert::hashed_dropout(x, 0.2);
  const auto kept = y.ne(0).to(torch::kFloat);
  EXPECT_TRUE(torch::allclose(y, x.detach() * kept / 0.8, 1e-6, 1e-6));
  const auto g = torch::randn(y.sizes());
  y.backward(g);
  EXPECT_TRUE(torch::allclose(x.grad(), g * kept / 0.8, 1e-6, 1e-6));
  // Each call draws a new mask from the default generator; reseeding repeats it.
  torch::manual_seed(7);
  const auto a = mert::hashed_dropout(x.detach(), 0.2);
  const auto b = mert::hashed_dropout(x.detach(), 0.2);
  torch::manual_seed(7);
  EXPECT_TRUE(torch::equal(a, mert::hashed_dropout(x.detach(), 0.2)));
  EXPECT_FALSE(torch::equal(a, b));
}

TEST(HashedDropout, SameMaskWhateverTheThreadCountAndBf16) {
  const auto x = torch::randn({300, 700});
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = mert::hashed_dropout_mask(x, 0.1, 99);
  at::set_num_threads(2);
  const auto two = mert::hashed_dropout_mask(x, 0.1, 99);
  at::set_num_threads(before);
  EXPECT_TRUE(torch::equal(one, two));
  const auto xb = x.to(torch::kBFloat16);
  torch::manual_seed(3);
  const auto yb = mert::hashed_dropout(xb, 0.1);
  EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
  const auto kept = yb.ne(0).to(torch::kFloat);
  EXPECT_TRUE(torch::allclose(yb.to(torch::kFloat), (xb.to(torch::kFloat) / 0.9).to(torch::kBFloat16).to(torch::kFloat) * kept,
                              1e-2, 1e-2));
}

TEST(HashedDropout, EdgeProbabilitiesAndOtherDtypes) {
  const auto x = torch::randn({10, 10});
  EXPECT_TRUE(torch::equal(mert::hashed_dropout(x, 0.0), x));
  EXPECT_EQ(mert::hashed_dropout(x, 1.0).abs().sum().item<float>(), 0.0f);
  const auto xd = torch::randn({10, 10}, torch::kDouble);  // torch's dropout
  const auto yd = mert::hashed_dropout(xd, 0.5);
  EXPECT_EQ(yd.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(yd, xd * yd.ne(0).to(torch::kDouble) * 2.0));
}
