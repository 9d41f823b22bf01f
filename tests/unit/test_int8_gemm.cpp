// mert's VNNI int8 product against the published recipe computed here in double precision:
// symmetric per-output-channel weights, symmetric per-row activations (scale max|x| / 127, round
// half to even), exact integer sums, then scaled back and biased. Shapes leave remainders in every
// dimension (rows vs the 6-row tile, columns vs the 64-column panel, inner vs 4-byte groups).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/int8_gemm.h"

namespace {

at::Tensor reference(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const auto xf = x.to(torch::kFloat);
  const auto amax = xf.abs().amax(1, true);
  const auto inv = torch::where(amax > 0, 127.0f / amax, torch::zeros_like(amax));
  const auto qx = torch::round(xf * inv).clamp(-127, 127).to(torch::kDouble);
  const auto sx = (amax / 127.0f).to(torch::kDouble);
  const auto sw = (w.abs().amax(1) / 127.0f).clamp_min(1e-12f);
  const auto qw = torch::round(w / sw.unsqueeze(1)).clamp(-127, 127).to(torch::kDouble);
  return torch::matmul(qx, qw.t()) * sx * sw.to(torch::kDouble) + b.to(torch::kDouble);
}

void check(int64_t M, int64_t K, int64_t N, torch::ScalarType dtype) {
  SCOPED_TRACE(testing::Message() << M << "x" << K << " -> " << N << " " << c10::toString(dtype));
  torch::manual_seed(M * 1000 + K + N);
  const auto w = torch::randn({N, K});
  const auto b = torch::randn({N});
  auto x = (torch::randn({M, K}) * torch::rand({M, 1}) * 4).to(dtype);
  x[M / 2].zero_();  // an all-zero row: scale 0, result exactly the bias
  const auto packed = mert::pack_int8_weight(w, b);
  const auto out = mert::int8_linear(x, packed);
  ASSERT_EQ(out.scalar_type(), dtype);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{M, N}));
  const auto ref = reference(x, w, b);
  const auto err = (out.to(torch::kDouble) - ref).abs();
  // float32 epilogue: a few ulps of the result; bf16 output: its rounding (2^-9 relative).
  const double rel = dtype == torch::kFloat ? 1e-5 : 1.0 / 256;
  const auto bound = ref.abs() * rel + 1e-5;
  EXPECT_TRUE((err <= bound).all().item<bool>()) << "max error " << err.max().item<double>();
  EXPECT_TRUE(torch::equal(out[M / 2].to(torch::kFloat), b.to(dtype).to(torch::kFloat)));
}

}  // namespace

TEST(Int8Gemm, MatchesExactIntegerReference) {
  if (!mert::int8_vnni_available()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    check(37, 98, 200, dtype);    // remainders everywhere
    check(1, 4, 1, dtype);        // smallest
    check(96, 768, 768, dtype);   // MERT's square layers, whole tiles
    check(131, 3072, 64, dtype);  // long inner dimension, one panel
  }
}

TEST(Int8Gemm, KeepsLeadingDimensionsAndRejectsWrongWidth) {
  if (!mert::int8_vnni_available()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  const auto packed = mert::pack_int8_weight(torch::randn({10, 12}), at::Tensor());
  const auto out = mert::int8_linear(torch::randn({2, 3, 12}), packed);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 10}));
  EXPECT_THROW(mert::int8_linear(torch::randn({3, 11}), packed), std::exception);
  EXPECT_THROW(mert::int8_linear(torch::randn({3, 12}).to(torch::kDouble), packed), std::exception);
}

TEST(Int8Gemm, ConvQuantizesEachOutputFramesInputsOnItsOwn) {
  if (!mert::int8_vnni_available()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  for (auto dtype : {torch::kFloat, torch::kBFloat16})
    for (auto [k, s] : std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {2, 2}, {4, 1}}) {
      SCOPED_TRACE(testing::Message() << "kernel " << k << " stride " << s << " " << c10::toString(dtype));
      torch::manual_seed(k * 10 + s);
      const int64_t n_in = 61, C = 8, C_out = 70;
      const auto w = torch::randn({C_out, C, k});
      const auto b = torch::randn({C_out});
      // Frames of very different loudness: one scale for the whole input would lose the quiet ones.
      const auto x = (torch::randn({n_in, C}) * torch::exp(torch::randn({n_in, 1}) * 2)).to(dtype);
      const auto out = mert::int8_conv_frames(x, mert::pack_int8_conv_weight(w, b), k, s);
      const int64_t n = (n_in - k) / s + 1;
      ASSERT_EQ(out.sizes(), (std::vector<int64_t>{n, C_out}));
      // Output frame t is the product of its own input run x[s*t .. s*t+k) (tap-major).
      const auto runs = x.as_strided({n, k * C}, {s * C, 1});
      const auto ref = reference(runs, w.permute({0, 2, 1}).reshape({C_out, k * C}), b);
      const double rel = dtype == torch::kFloat ? 1e-5 : 1.0 / 256;
      const auto err = (out.to(torch::kDouble) - ref).abs();
      EXPECT_TRUE((err <= ref.abs() * rel + 1e-5).all().item<bool>()) << "max error " << err.max().item<double>();
      // And against torch's float conv, independent of any layout: every frame close in direction.
      const auto conv = torch::conv1d(x.to(torch::kFloat).t().unsqueeze(0), w, b, s)[0].t();
      const auto cos = torch::cosine_similarity(out.to(torch::kFloat), conv, 1);
      EXPECT_GE(cos.min().item<double>(), 0.999);
    }
}

TEST(Int8Gemm, FusedGeluEqualsTorchGeluOfTheProduct) {
  if (!mert::int8_vnni_available()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  torch::manual_seed(3);
  // Outputs spread over about +-40: GELU's negative tail, its bend, and its linear part.
  const auto w = torch::randn({130, 96});
  const auto x = torch::randn({50, 96}) * torch::linspace(0.01, 1.5, 50).unsqueeze(1);
  const auto packed = mert::pack_int8_weight(w, torch::randn({130}));
  const auto plain = mert::int8_linear(x, packed);
  const auto fused = mert::int8_linear(x, packed, /*gelu=*/true);
  const auto ref = torch::gelu(plain.to(torch::kDouble));  // float64 erf as the oracle
  const auto err = (fused.to(torch::kDouble) - ref).abs();
  // erf is approximated to 1.5e-7: GELU to |x| * 7.5e-8, plus float rounding.
  EXPECT_TRUE((err <= plain.abs().to(torch::kDouble) * 1e-7 + 1e-6).all().item<bool>())
      << "max error " << err.max().item<double>();
  EXPECT_LT(plain.min().item<double>(), -20);
  EXPECT_GT(plain.max().item<double>(), 20);
  // bf16: the same value, rounded once.
  const auto fused_bf16 = mert::int8_linear(x.to(torch::kBFloat16), packed, true).to(torch::kFloat);
  const auto ref_bf16 = torch::gelu(mert::int8_linear(x.to(torch::kBFloat16), packed).to(torch::kFloat));
  EXPECT_TRUE(torch::allclose(fused_bf16, ref_bf16, 1.0 / 64, 1e-2));
  // The conv route fuses it the same way.
  const auto cw = torch::randn({64, 8, 3});
  const auto frames = torch::randn({40, 8}) * 3;
  const auto cp = mert::pack_int8_conv_weight(cw, at::Tensor());
  const auto conv_err = (mert::int8_conv_frames(frames, cp, 3, 2, true) - torch::gelu(mert::int8_conv_frames(frames, cp, 3, 2))).abs();
  EXPECT_LE(conv_err.max().item<double>(), 1e-5);
}

TEST(Int8Gemm, NonContiguousInputGivesTheSameResult) {
  if (!mert::int8_vnni_available()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  const auto packed = mert::pack_int8_weight(torch::randn({70, 40}), torch::randn({70}));
  const auto x = torch::randn({40, 9}).t();  // [9, 40], transposed storage
  EXPECT_TRUE(torch::equal(mert::int8_linear(x, packed), mert::int8_linear(x.contiguous(), packed)));
}
