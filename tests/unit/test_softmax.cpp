// mert's bf16 attention softmax against torch's softmax computed in float64.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "model/softmax.h"

TEST(Softmax, Bf16RowsMatchFloat64Softmax) {
  torch::NoGradGuard g;
  for (int64_t n : {1, 15, 16, 17, 375, 1000}) {
    SCOPED_TRACE(n);
    torch::manual_seed(n);
    auto x = (torch::randn({3, 5, n}) * 8).to(torch::kBFloat16);
    if (n > 2) {  // masked positions as HF makes them (the dtype's lowest) and -inf
      x.select(-1, 1).fill_(std::numeric_limits<c10::BFloat16>::lowest());
      x[0][0][n - 1] = -std::numeric_limits<float>::infinity();
    }
    const auto ref = torch::softmax(x.to(torch::kDouble), -1);
    const auto out = mert::softmax_last_dim(x.clone());
    ASSERT_EQ(out.scalar_type(), torch::kBFloat16);
    const auto err = (out.to(torch::kDouble) - ref).abs();
    // bf16 keeps 8 significant bits: rounding is at most 2^-8 relative.
    EXPECT_TRUE((err <= ref * (1.0 / 256) + 1e-6).all().item<bool>()) << "max error " << err.max().item<double>();
    // Errors far below bf16's step still move roundings: most results must be torch's, rounded.
    const double same = (out == ref.to(torch::kBFloat16)).to(torch::kDouble).mean().item<double>();
    EXPECT_GE(same, 0.99);
    if (n > 2) EXPECT_EQ(out.select(-1, 1).abs().max().item<float>(), 0.0f);
  }
}

TEST(Softmax, OtherDtypesAndAutogradUseTorch) {
  const auto x = torch::randn({4, 9});
  EXPECT_TRUE(torch::allclose(mert::softmax_last_dim(x.clone()), torch::softmax(x, -1)));
  const auto y = torch::randn({4, 9}, torch::requires_grad());
  const auto p = mert::softmax_last_dim(y);
  EXPECT_TRUE(p.requires_grad());
  const auto nc = torch::randn({9, 4}).to(torch::kBFloat16).t();  // not contiguous
  EXPECT_TRUE(torch::allclose(mert::softmax_last_dim(nc).to(torch::kFloat), torch::softmax(nc.to(torch::kFloat), -1), 1e-2, 1e-3));
}
