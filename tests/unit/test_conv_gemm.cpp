// The inference-only GEMM forms of the convolutions against libtorch's own conv1d (the oracle),
// and the inference weight caches against parameter changes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/conv_gemm.h"
#include "model/positional_conv.h"
#include "model/presets.h"

namespace {

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

}  // namespace

TEST(ConvGemm, MatchesConv1dForEveryKernelStrideShape) {
  torch::NoGradGuard g;
  torch::manual_seed(3);
  // (C_in, C_out, kernel, stride): MERT's layers (10/5 on raw samples, 3/2, 2/2) and the
  // other orderings of kernel and stride (k < s, k = s, k > s not a multiple, wide C_in).
  const std::vector<std::array<int64_t, 4>> shapes = {
      {1, 32, 10, 5}, {64, 48, 3, 2}, {64, 48, 2, 2}, {16, 8, 5, 2}, {16, 8, 2, 3}, {16, 8, 7, 7}, {96, 16, 4, 1}};
  for (const auto& [cin, cout, k, s] : shapes) {
    for (bool bias : {false, true}) {
      for (int64_t n : {k, k + 1, 97L, 256L}) {
        auto x = torch::randn({n, cin});
        auto w = torch::randn({cout, cin, k});
        auto b = bias ? torch::randn({cout}) : at::Tensor();
        auto ref = torch::conv1d(x.t().unsqueeze(0), w, b, s).squeeze(0).t();
        auto gemm = mert::ConvGemm::from_conv(w, b, s);
        ASSERT_EQ(gemm.out_frames(n), ref.size(0));
        auto out = gemm.forward(x);
        ASSERT_EQ(out.sizes(), ref.sizes()) << cin << "/" << k << "/" << s << " n=" << n;
        EXPECT_LE(rel_err(out, ref), 1e-5) << cin << "/" << k << "/" << s << " n=" << n << " bias " << bias;
      }
    }
  }
}

TEST(ConvGemm, Bf16MatchesFloatConv1d) {
  torch::NoGradGuard g;
  torch::manual_seed(4);
  // bf16 takes oneDNN's channels-last conv for wide layers and the patch GEMM for layer 0.
  for (const auto& [cin, k, s] : std::vector<std::array<int64_t, 3>>{{1, 10, 5}, {64, 3, 2}, {64, 2, 2}, {32, 5, 2}}) {
    auto x = torch::randn({301, cin}).to(torch::kBFloat16);
    auto w = torch::randn({48, cin, k}).to(torch::kBFloat16);
    auto b = torch::randn({48}).to(torch::kBFloat16);
    auto ref = torch::conv1d(x.to(torch::kFloat).t().unsqueeze(0), w.to(torch::kFloat), b.to(torch::kFloat), s)
                   .squeeze(0).t();
    auto out = mert::ConvGemm::from_conv(w, b, s).forward(x);
    ASSERT_EQ(out.scalar_type(), torch::kBFloat16);
    ASSERT_EQ(out.sizes(), ref.sizes());
    EXPECT_TRUE(out.is_contiguous());
    EXPECT_LE(rel_err(out.to(torch::kFloat), ref), 1e-2) << cin << "/" << k << "/" << s;
  }
}

TEST(ConvGemm, AcceptsNonContiguousInputAndRefusesWrongChannels) {
  torch::NoGradGuard g;
  auto x = torch::randn({32, 200}).t();  // [200, 32], transposed storage
  auto w = torch::randn({8, 32, 3});
  auto ref = torch::conv1d(x.t().unsqueeze(0), w, {}, 2).squeeze(0).t();
  EXPECT_LE(rel_err(mert::ConvGemm::from_conv(w, {}, 2).forward(x), ref), 1e-5);
  EXPECT_THROW(mert::ConvGemm::from_conv(w, {}, 2).forward(torch::randn({200, 31})), std::exception);
}

TEST(PositionalConv, InferenceWeightCacheFollowsParameterChanges) {
  torch::NoGradGuard g;
  mert::WeightNormConv1d conv(64, 16, 4);
  auto expect = [&] { return conv->effective_weight().unsqueeze(2); };
  const auto first = conv->channels_last_weight();
  EXPECT_TRUE(first.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(first.equal(expect()));
  EXPECT_EQ(conv->channels_last_weight().data_ptr(), first.data_ptr());  // cached, not rebuilt
  conv->weight_v.mul_(2).add_(0.5);  // in place, as an optimizer step
  EXPECT_LE(rel_err(conv->channels_last_weight(), expect()), 1e-6);
  EXPECT_FALSE(conv->channels_last_weight().equal(first));
  conv->weight_g.fill_(3.0);
  EXPECT_LE(rel_err(conv->channels_last_weight(), expect()), 1e-6);
  conv->to(torch::kBFloat16);  // new storage
  EXPECT_EQ(conv->channels_last_weight().scalar_type(), torch::kBFloat16);
}

TEST(PositionalConv, InferencePathMatchesAutogradPath) {
  auto cfg = mert::preset_config("tiny");
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    for (int64_t kernel : {cfg.num_conv_pos_embeddings, cfg.num_conv_pos_embeddings + 1}) {  // even and odd
      cfg.num_conv_pos_embeddings = kernel;
      mert::PositionalConvEmbedding pe(cfg);
      pe->to(dtype);
      const auto x = torch::randn({2, 150, cfg.hidden_size}).to(dtype);
      at::Tensor fast;
      {
        torch::NoGradGuard g;  // inference: channels-last 2-D conv over the time-major input
        fast = pe->forward(x);
      }
      const auto ref = pe->forward(x).detach();  // autograd on: libtorch's grouped conv1d
      ASSERT_EQ(fast.sizes(), ref.sizes());
      EXPECT_LE(rel_err(fast.to(torch::kFloat), ref.to(torch::kFloat)), dtype == torch::kFloat ? 1e-5 : 2e-2)
          << "kernel " << kernel << " " << dtype;
    }
  }
}
