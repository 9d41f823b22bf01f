// The training front end's time-major conv (forward and its own backward) against torch's
// conv1d and its autograd in float64.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mert/error.h"
#include "model/conv_frames.h"

namespace {

double max_rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  return ((out.to(torch::kDouble) - ref).abs().max() / ref.abs().max()).item<double>();
}

}  // namespace

TEST(ConvFrames, ForwardAndGradientsMatchConv1d) {
  // The front end's (k, s) pairs (3,2 and 2,2), taps wider than the stride by more than one
  // group (5,2), k < s and k == s, with and without bias; lengths that leave a remainder.
  struct Case { int64_t k, s, n_in; bool bias; };
  for (const Case c : {Case{3, 2, 41, false}, Case{2, 2, 40, false}, Case{5, 2, 37, true}, Case{2, 3, 29, true},
                       Case{3, 3, 30, false}, Case{3, 1, 12, true}}) {
    SCOPED_TRACE("k=" + std::to_string(c.k) + " s=" + std::to_string(c.s));
    torch::manual_seed(c.k * 10 + c.s);
    const int64_t B = 3, Ci = 8, Co = 6;
    const auto x0 = torch::randn({B, c.n_in, Ci}, torch::kDouble);
    const auto w0 = torch::randn({Co, Ci, c.k}, torch::kDouble);
    const auto b0 = torch::randn({Co}, torch::kDouble);
    // Reference: float64 conv1d on channels-first input.
    auto xr = x0.clone().requires_grad_(), wr = w0.clone().requires_grad_(), br = b0.clone().requires_grad_();
    const auto yr = torch::conv1d(xr.transpose(1, 2), wr, c.bias ? br : torch::Tensor(), c.s).transpose(1, 2);
    const auto g = torch::randn(yr.sizes(), torch::kDouble);
    yr.backward(g);
    auto x = x0.to(torch::kFloat).requires_grad_(), w = w0.to(torch::kFloat).requires_grad_(),
         b = b0.to(torch::kFloat).requires_grad_();
    const auto y = mert::conv_frames(x, w, c.bias ? b : torch::Tensor(), c.s);
    ASSERT_EQ(y.sizes(), yr.sizes());
    EXPECT_LT(max_rel_error(y, yr), 1e-6);
    y.backward(g.to(torch::kFloat));
    EXPECT_LT(max_rel_error(x.grad(), xr.grad()), 1e-6);
    EXPECT_LT(max_rel_error(w.grad(), wr.grad()), 1e-6);
    if (c.bias) EXPECT_LT(max_rel_error(b.grad(), br.grad()), 1e-6);
    else EXPECT_FALSE(b.grad().defined());
  }
}

TEST(ConvFrames, NonContiguousInputAndFrozenInput) {
  torch::manual_seed(9);
  const auto xc = torch::randn({2, 16, 33});  // channels-first: its transpose is a strided view
  const auto w = torch::randn({5, 16, 3}, torch::requires_grad());
  const auto y = mert::conv_frames(xc.transpose(1, 2), w, {}, 2);
  EXPECT_TRUE(torch::allclose(y, torch::conv1d(xc, w, {}, 2).transpose(1, 2), 1e-5, 1e-5));
  y.sum().backward();  // the input needs no gradient: only the weight's is computed
  const auto wr = w.detach().clone().requires_grad_();
  torch::conv1d(xc, wr, {}, 2).sum().backward();
  EXPECT_TRUE(torch::allclose(w.grad(), wr.grad(), 1e-4, 1e-4));
}

TEST(ConvFrames, RejectsWrongShapes) {
  const auto w = torch::randn({5, 16, 3});
  EXPECT_THROW(mert::conv_frames(torch::randn({2, 10, 8}), w, {}, 2), mert::Error);   // channels
  EXPECT_THROW(mert::conv_frames(torch::randn({2, 2, 16}), w, {}, 2), mert::Error);   // too short
  EXPECT_THROW(mert::conv_frames(torch::randn({10, 16}), w, {}, 2), mert::Error);     // no batch dim
  EXPECT_TRUE(mert::conv_frames_enabled());
}
