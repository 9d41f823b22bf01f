// mert's batched matrix product for attention against float64 products and torch's autograd.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "mert/error.h"
#include "model/batched_matmul.h"

namespace {

double max_rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  return ((out.to(torch::kDouble) - ref).abs().max() / ref.abs().max()).item<double>();
}

}  // namespace

TEST(BatchedMatmul, ForwardMatchesFloat64OnAttentionViews) {
  torch::manual_seed(3);
  // [B, T, heads, d] split into heads by a transpose, as attention does: strided views.
  const auto q = torch::randn({2, 37, 3, 16}).transpose(1, 2);
  const auto k = torch::randn({2, 37, 3, 16}).transpose(1, 2);
  const auto v = torch::randn({2, 37, 3, 16}).transpose(1, 2);
  const auto scores = mert::batched_matmul(q, k.transpose(-2, -1));
  ASSERT_EQ(scores.sizes(), (torch::IntArrayRef{2, 3, 37, 37}));
  const auto ref = torch::matmul(q.to(torch::kDouble), k.to(torch::kDouble).transpose(-2, -1));
  EXPECT_LT(max_rel_error(scores, ref), 1e-6);
  // Each product must be its own batch entry's: a mix-up of matrices is a large error.
  const auto ctx = mert::batched_matmul(torch::softmax(scores, -1), v);
  const auto ref2 = torch::matmul(torch::softmax(ref, -1), v.to(torch::kDouble));
  EXPECT_LT(max_rel_error(ctx, ref2), 1e-6);
  // 3-D inputs and a batch of one.
  const auto a = torch::randn({1, 5, 7}), b = torch::randn({1, 7, 4});
  EXPECT_LT(max_rel_error(mert::batched_matmul(a, b), torch::matmul(a.to(torch::kDouble), b.to(torch::kDouble))), 1e-6);
}

TEST(BatchedMatmul, SameBitsWhateverTheThreadCount) {
  torch::manual_seed(4);
  const auto a = torch::randn({4, 6, 50, 32}), b = torch::randn({4, 6, 32, 50});
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = mert::batched_matmul(a, b);
  at::set_num_threads(2);
  const auto two = mert::batched_matmul(a, b);
  at::set_num_threads(before);
  EXPECT_TRUE(torch::equal(one, two));
}

TEST(BatchedMatmul, GradientsMatchTorchAutograd) {
  torch::manual_seed(5);
  // Two threads: the pool's threads have their own (default, on) grad mode.
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  const auto a0 = torch::randn({2, 3, 20, 8}, torch::kDouble), b0 = torch::randn({2, 3, 8, 20}, torch::kDouble);
  const auto g = torch::randn({2, 3, 20, 20});
  // Reference in float64 through torch's own matmul backward.
  auto ar = a0.clone().requires_grad_(), br = b0.clone().requires_grad_();
  torch::matmul(ar, br).backward(g.to(torch::kDouble));
  auto a = a0.to(torch::kFloat).requires_grad_(), b = b0.to(torch::kFloat).transpose(-2, -1).contiguous()
                                                          .requires_grad_();
  const auto out = mert::batched_matmul(a, b.transpose(-2, -1));  // a transposed view, as k^T is
  ASSERT_TRUE(out.requires_grad());
  EXPECT_NE(out.grad_fn()->name().find("BatchedMatmulFn"), std::string::npos) << out.grad_fn()->name();
  out.backward(g);
  EXPECT_LT(max_rel_error(a.grad(), ar.grad()), 1e-5);
  EXPECT_LT(max_rel_error(b.grad(), br.grad().transpose(-2, -1)), 1e-5);
  // Only the input that needs a gradient gets one.
  auto c = a0.to(torch::kFloat).requires_grad_();
  mert::batched_matmul(c, b0.to(torch::kFloat)).sum().backward();
  EXPECT_LT(max_rel_error(c.grad(), torch::ones({2, 3, 20, 20}, torch::kDouble).matmul(b0.transpose(-2, -1))), 1e-5);
  at::set_num_threads(before);
}

TEST(BatchedMatmul, AutocastAndBf16FollowTorch) {
  const auto a = torch::randn({2, 9, 16}), b = torch::randn({2, 16, 5});
  {
    at::autocast::set_cpu_enabled(true);
    const auto out = mert::batched_matmul(a, b);
    at::autocast::set_cpu_enabled(false);
    EXPECT_EQ(out.scalar_type(), at::autocast::get_autocast_cpu_dtype());
  }
  const auto ab = a.to(torch::kBFloat16), bb = b.to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(mert::batched_matmul(ab, bb), torch::matmul(ab, bb)));
}

TEST(BatchedMatmul, RejectsMismatchedShapes) {
  EXPECT_THROW(mert::batched_matmul(torch::randn({2, 3, 4}), torch::randn({2, 5, 4})), mert::Error);
  EXPECT_THROW(mert::batched_matmul(torch::randn({2, 3, 4}), torch::randn({3, 4, 4})), mert::Error);
  EXPECT_THROW(mert::batched_matmul(torch::randn({3, 4}), torch::randn({4, 4})), mert::Error);
  EXPECT_EQ(mert::batched_matmul_kernel_name(), "mert per-thread");
}
