// Pre-training heads and loss: cross-entropies, accuracies and the CQT MSE against plain
// double-precision loops, masked-frames-only behaviour (and the CQT term on every frame), loss weights, gradients, float32 heads
// under bf16 autocast, and the checks on configuration and inputs.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mert/error.h"
#include "model/model.h"
#include "train/pretrain_heads.h"

namespace {

using mert::train::HeadsConfig;
using mert::train::LossTerms;
using mert::train::LossWeights;
using mert::train::PretrainHeads;
using mert::train::pretrain_loss;

constexpr int64_t B = 2, T = 7, H = 16, D = 8, BINS = 6;

HeadsConfig small_config() {
  HeadsConfig c;
  c.hidden = H;
  c.final_dim = D;
  c.vocab_sizes = {5, 11};
  c.cqt_bins = BINS;
  return c;
}

struct Case {
  at::Tensor hidden, mask, labels, cqt, pen;
};

Case random_case(uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Case c;
  c.hidden = at::randn({B, T, H}, gen, at::kFloat);
  c.mask = at::zeros({B, T}, at::kBool);
  for (int64_t t : {1, 2, 3, 5}) c.mask[0][t] = true;
  for (int64_t t : {0, 4, 6}) c.mask[1][t] = true;
  c.labels = at::stack({at::randint(5, {B, T}, gen), at::randint(11, {B, T}, gen)});
  c.cqt = at::rand({B, T, BINS}, gen);
  c.pen = at::full({}, 0.3);
  return c;
}

// The loss written out frame by frame in double precision.
struct Expected {
  std::vector<double> ce{0, 0};
  std::vector<int64_t> correct{0, 0};
  double mse = 0;
  int64_t n = 0;
};

// The CQT MSE over masked frames, or over every frame.
double reference_mse(PretrainHeads& heads, const Case& c, bool all_frames) {
  const at::Tensor Wc = heads->cqt_head->weight.to(at::kDouble), bc = heads->cqt_head->bias.to(at::kDouble);
  const at::Tensor x = c.hidden.to(at::kDouble), cqt = c.cqt.to(at::kDouble);
  double sum = 0;
  int64_t n = 0;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      if (!all_frames && !c.mask[b][t].item<bool>()) continue;
      ++n;
      for (int64_t k = 0; k < BINS; ++k) {
        double s = bc[k].item<double>();
        for (int64_t i = 0; i < H; ++i) s += Wc[k][i].item<double>() * x[b][t][i].item<double>();
        sum += std::pow(s - cqt[b][t][k].item<double>(), 2);
      }
    }
  }
  return sum / static_cast<double>(n * BINS);
}

Expected reference(PretrainHeads& heads, const Case& c, double temperature) {
  const at::Tensor W = heads->final_proj->weight.to(at::kDouble), bias = heads->final_proj->bias.to(at::kDouble);
  const at::Tensor E = heads->label_embs_concat.to(at::kDouble);
  const at::Tensor x = c.hidden.to(at::kDouble);
  const std::vector<int64_t> vocab = heads->config().vocab_sizes;
  Expected e;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      if (!c.mask[b][t].item<bool>()) continue;
      ++e.n;
      std::vector<double> proj(2 * D);
      for (int64_t o = 0; o < 2 * D; ++o) {
        double s = bias[o].item<double>();
        for (int64_t i = 0; i < H; ++i) s += W[o][i].item<double>() * x[b][t][i].item<double>();
        proj[o] = s;
      }
      for (int64_t cb = 0, offset = 0; cb < 2; offset += vocab[cb], ++cb) {
        std::vector<double> logits(vocab[cb]);
        double pnorm = 0;
        for (int64_t d = 0; d < D; ++d) pnorm += proj[cb * D + d] * proj[cb * D + d];
        for (int64_t j = 0; j < vocab[cb]; ++j) {
          double dot = 0, enorm = 0;
          for (int64_t d = 0; d < D; ++d) {
            const double ev = E[offset + j][d].item<double>();
            dot += proj[cb * D + d] * ev;
            enorm += ev * ev;
          }
          logits[j] = dot / std::max(std::sqrt(pnorm * enorm), 1e-8) / temperature;
        }
        const double top = *std::max_element(logits.begin(), logits.end());
        double z = 0;
        for (double l : logits) z += std::exp(l - top);
        const int64_t label = c.labels[cb][b][t].item<int64_t>();
        e.ce[cb] += top + std::log(z) - logits[label];
        e.correct[cb] += std::max_element(logits.begin(), logits.end()) - logits.begin() == label;
      }
    }
  }
  e.mse = reference_mse(heads, c, false);
  return e;
}

TEST(PretrainLoss, MatchesDoublePrecisionLoops) {
  PretrainHeads heads(small_config());
  heads->reset(42);
  const Case c = random_case(1);
  const LossWeights w;  // features_pen 10, cqt 1
  const LossTerms got = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, w);
  const Expected e = reference(heads, c, 0.1);
  ASSERT_EQ(got.n_masked, 7);
  ASSERT_EQ(e.n, 7);
  for (int cb = 0; cb < 2; ++cb) {
    EXPECT_NEAR(got.ce_sum[cb], e.ce[cb], 1e-4 * e.ce[cb]) << "codebook " << cb;
    EXPECT_EQ(got.correct[cb], e.correct[cb]) << "codebook " << cb;
  }
  EXPECT_NEAR(got.cqt_mse, e.mse, 1e-4 * e.mse);
  EXPECT_NEAR(got.features_pen, 0.3, 1e-7);
  const double total = e.ce[0] + e.ce[1] + e.n * (10 * 0.3 + 1 * e.mse);
  EXPECT_NEAR(got.sum_loss.item<double>(), total, 1e-4 * total);
  EXPECT_EQ(got.sum_loss.dim(), 0);

  // The accuracy follows the labels: labelling every masked frame with its most similar
  // embedding (torch's own cosine_similarity) makes every frame correct.
  const at::Tensor x = c.hidden.reshape({-1, H}).index_select(0, c.mask.reshape({-1}).nonzero().squeeze(1));
  const at::Tensor proj = heads->final_proj->forward(x).detach();
  at::Tensor labels = c.labels.clone();
  const at::Tensor frames = c.mask.reshape({-1}).nonzero().squeeze(1);
  for (int64_t cb = 0, offset = 0; cb < 2; offset += small_config().vocab_sizes[cb], ++cb) {
    const at::Tensor emb = heads->label_embs_concat.detach().slice(0, offset, offset + small_config().vocab_sizes[cb]);
    const at::Tensor cos = at::cosine_similarity(proj.slice(1, cb * D, (cb + 1) * D).unsqueeze(1), emb.unsqueeze(0), 2);
    labels[cb].view({-1}).index_copy_(0, frames, cos.argmax(1));
  }
  const LossTerms best = pretrain_loss(*heads, c.hidden, c.mask, labels, c.cqt, c.pen, w);
  EXPECT_EQ(best.correct, (std::vector<int64_t>{7, 7}));
}

TEST(PretrainLoss, OnlyMaskedFramesCount) {
  PretrainHeads heads(small_config());
  heads->reset(3);
  const Case c = random_case(2);
  const LossWeights w;
  const double base = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, w).sum_loss.item<double>();

  Case changed = c;
  changed.hidden = c.hidden.clone();
  changed.cqt = c.cqt.clone();
  changed.labels = c.labels.clone();
  changed.hidden[0][0].fill_(5);  // (0, 0) is not masked
  changed.cqt[0][0].fill_(9);
  changed.labels[1][0][0] = 3;
  EXPECT_EQ(pretrain_loss(*heads, changed.hidden, c.mask, changed.labels, changed.cqt, c.pen, w).sum_loss.item<double>(),
            base);

  changed.cqt[0][1].fill_(9);  // (0, 1) is masked
  const LossTerms cqt_moved = pretrain_loss(*heads, c.hidden, c.mask, c.labels, changed.cqt, c.pen, w);
  EXPECT_GT(cqt_moved.sum_loss.item<double>(), base + 1);
  changed.hidden[0][1].fill_(5);
  EXPECT_NE(pretrain_loss(*heads, changed.hidden, c.mask, c.labels, c.cqt, c.pen, w).sum_loss.item<double>(), base);
}

TEST(PretrainLoss, CqtOnEveryFrameWhenAsked) {
  PretrainHeads heads(small_config());
  heads->reset(5);
  const Case c = random_case(4);
  LossWeights masked, all;
  all.cqt_all_frames = true;
  const LossTerms m = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, masked);
  const LossTerms a = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, all);
  const double mse_all = reference_mse(heads, c, true);
  EXPECT_NEAR(a.cqt_mse, mse_all, 1e-4 * mse_all);
  EXPECT_NE(a.cqt_mse, m.cqt_mse);
  // Only the CQT term changes; it is still scaled by the masked-frame count (7).
  EXPECT_EQ(a.n_masked, 7);
  EXPECT_EQ(a.ce_sum, m.ce_sum);
  EXPECT_NEAR(a.sum_loss.item<double>() - m.sum_loss.item<double>(), 7 * (a.cqt_mse - m.cqt_mse), 1e-4);

  // An unmasked frame's CQT now counts, and its gradient reaches that frame's hidden state.
  Case changed = c;
  changed.cqt = c.cqt.clone();
  changed.cqt[0][0].fill_(9);  // (0, 0) is not masked
  EXPECT_GT(pretrain_loss(*heads, c.hidden, c.mask, c.labels, changed.cqt, c.pen, all).sum_loss.item<double>(),
            a.sum_loss.item<double>() + 1);
  const at::Tensor hidden = c.hidden.clone().requires_grad_(true);
  pretrain_loss(*heads, hidden, c.mask, c.labels, c.cqt, c.pen, all).sum_loss.backward();
  EXPECT_GT(hidden.grad()[0][0].abs().sum().item<double>(), 0);
  const at::Tensor hidden_m = c.hidden.clone().requires_grad_(true);
  pretrain_loss(*heads, hidden_m, c.mask, c.labels, c.cqt, c.pen, masked).sum_loss.backward();
  EXPECT_EQ(hidden_m.grad()[0][0].abs().sum().item<double>(), 0);
}

TEST(PretrainLoss, WeightsScaleTheExtraTermsByMaskedFrames) {
  PretrainHeads heads(small_config());
  heads->reset(4);
  const Case c = random_case(3);
  LossWeights none;
  none.features_pen = 0;
  none.cqt = 0;
  const LossTerms ce_only = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, none);
  EXPECT_NEAR(ce_only.sum_loss.item<double>(), ce_only.ce_sum[0] + ce_only.ce_sum[1], 1e-4);

  LossWeights pen_only = none;
  pen_only.features_pen = 10;
  const double with_pen = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, pen_only).sum_loss.item<double>();
  EXPECT_NEAR(with_pen - ce_only.sum_loss.item<double>(), 7 * 10 * 0.3, 1e-4);

  LossWeights cqt_only = none;
  cqt_only.cqt = 2;
  const LossTerms with_cqt = pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, cqt_only);
  EXPECT_NEAR(with_cqt.sum_loss.item<double>() - ce_only.sum_loss.item<double>(), 7 * 2 * with_cqt.cqt_mse, 1e-4);

  // No CQT target: no CQT term even with a weight.
  const LossTerms no_target = pretrain_loss(*heads, c.hidden, c.mask, c.labels, at::Tensor(), c.pen, cqt_only);
  EXPECT_EQ(no_target.cqt_mse, 0);
  EXPECT_NEAR(no_target.sum_loss.item<double>(), ce_only.sum_loss.item<double>(), 1e-5);
}

TEST(PretrainLoss, BackwardGivesFiniteGradients) {
  PretrainHeads heads(small_config());
  heads->reset(5);
  Case c = random_case(4);
  c.hidden.requires_grad_(true);
  c.pen = at::full({}, 0.3).requires_grad_(true);
  pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, LossWeights{}).sum_loss.backward();
  for (const auto& p : heads->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  EXPECT_NEAR(c.pen.grad().item<double>(), 7 * 10, 1e-4);  // d/dpen of n * w0 * pen
  EXPECT_TRUE(c.hidden.grad()[0][0].eq(0).all().item<bool>());  // unmasked frame
  EXPECT_GT(c.hidden.grad()[0][1].abs().sum().item<double>(), 0);
}

TEST(PretrainLoss, NoMaskedFramesGivesConnectedZero) {
  PretrainHeads heads(small_config());
  Case c = random_case(5);
  c.hidden.requires_grad_(true);
  c.labels.fill_(-1);  // labels of unmasked frames are never looked at
  const LossTerms got = pretrain_loss(*heads, c.hidden, at::zeros({B, T}, at::kBool), c.labels, c.cqt, c.pen, {});
  EXPECT_EQ(got.n_masked, 0);
  EXPECT_EQ(got.sum_loss.item<double>(), 0);
  EXPECT_EQ(got.ce_sum, (std::vector<double>{0, 0}));
  EXPECT_EQ(got.correct, (std::vector<int64_t>{0, 0}));
  got.sum_loss.backward();
  EXPECT_TRUE(c.hidden.grad().eq(0).all().item<bool>());
}

TEST(PretrainLoss, HeadsRunInFloat32UnderBf16Autocast) {
  PretrainHeads heads(small_config());
  heads->reset(6);
  const Case c = random_case(6);
  const at::Tensor bf16_hidden = c.hidden.to(at::kBFloat16);
  const double fp32 =
      pretrain_loss(*heads, bf16_hidden.to(at::kFloat), c.mask, c.labels, c.cqt, c.pen, {}).sum_loss.item<double>();

  const bool was_enabled = at::autocast::is_cpu_enabled();
  const at::ScalarType was_dtype = at::autocast::get_autocast_cpu_dtype();
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
  // Sanity: autocast is live, a Linear here would run in bf16.
  const bool autocast_live = heads->final_proj->forward(c.hidden).scalar_type() == at::kBFloat16;
  const LossTerms got = pretrain_loss(*heads, bf16_hidden, c.mask, c.labels, c.cqt, c.pen, {});
  const bool still_enabled = at::autocast::is_cpu_enabled();
  at::autocast::set_cpu_enabled(was_enabled);
  at::autocast::set_autocast_cpu_dtype(was_dtype);
  at::autocast::clear_cache();

  EXPECT_TRUE(autocast_live);
  EXPECT_TRUE(still_enabled);  // restored on the way out
  EXPECT_EQ(got.sum_loss.scalar_type(), at::kFloat);
  EXPECT_NEAR(got.sum_loss.item<double>(), fp32, 1e-6 * fp32);
}

TEST(PretrainHeads, ParametersResetAndNames) {
  PretrainHeads a(small_config()), b(small_config());
  a->reset(7);
  b->reset(7);
  for (const auto& p : a->named_parameters()) {
    EXPECT_TRUE(p.value().equal(b->named_parameters()[p.key()])) << p.key();
    EXPECT_TRUE(mert::is_training_only_tensor(p.key())) << p.key();
  }
  EXPECT_EQ(a->named_parameters().size(), 5u);  // final_proj.{weight,bias}, label_embs_concat, cqt_head.{weight,bias}
  EXPECT_EQ(a->label_embs_concat.sizes(), (at::IntArrayRef{16, D}));
  EXPECT_EQ(a->final_proj->weight.sizes(), (at::IntArrayRef{2 * D, H}));
  EXPECT_GE(a->label_embs_concat.min().item<float>(), 0);
  EXPECT_LT(a->label_embs_concat.max().item<float>(), 1);
  EXPECT_TRUE(a->final_proj->bias.eq(0).all().item<bool>());
  EXPECT_NEAR(a->final_proj->weight.std().item<double>(), 0.02, 0.005);
  b->reset(8);
  EXPECT_FALSE(a->final_proj->weight.equal(b->final_proj->weight));

  HeadsConfig no_cqt = small_config();
  no_cqt.cqt_bins = 0;
  PretrainHeads c(no_cqt);
  EXPECT_TRUE(c->cqt_head.is_empty());
  EXPECT_EQ(c->named_parameters().size(), 3u);
}

TEST(PretrainHeads, RejectsBadConfigAndInputs) {
  HeadsConfig bad = small_config();
  bad.vocab_sizes = {};
  EXPECT_THROW(PretrainHeads{bad}, mert::Error);
  bad.vocab_sizes = {5, 1};
  EXPECT_THROW(PretrainHeads{bad}, mert::Error);
  bad = small_config();
  bad.final_dim = 0;
  EXPECT_THROW(PretrainHeads{bad}, mert::Error);

  PretrainHeads heads(small_config());
  const Case c = random_case(7);
  const LossWeights w;
  EXPECT_THROW(pretrain_loss(*heads, c.hidden[0], c.mask, c.labels, c.cqt, c.pen, w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden.slice(2, 0, H - 1), c.mask, c.labels, c.cqt, c.pen, w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden, c.mask.slice(1, 0, T - 1), c.labels, c.cqt, c.pen, w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden, c.mask, c.labels[0].unsqueeze(0), c.cqt, c.pen, w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden, c.mask, c.labels.to(at::kInt), c.cqt, c.pen, w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt.slice(2, 0, BINS - 1), c.pen, w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, at::zeros({2}), w), mert::Error);
  EXPECT_THROW(pretrain_loss(*heads, c.hidden, c.mask, c.labels, c.cqt, c.pen, w, 0.0), mert::Error);
  HeadsConfig no_cqt = small_config();
  no_cqt.cqt_bins = 0;
  PretrainHeads without_cqt_head(no_cqt);
  EXPECT_THROW(pretrain_loss(*without_cqt_head, c.hidden, c.mask, c.labels, c.cqt, c.pen, w), mert::Error);

  at::Tensor labels = c.labels.clone();
  labels[1][0][0] = 11;  // unmasked frame: ignored
  EXPECT_NO_THROW(pretrain_loss(*heads, c.hidden, c.mask, labels, c.cqt, c.pen, w));
  labels[1][1][4] = 11;  // masked frame, vocabulary of codebook 1 is 11
  try {
    pretrain_loss(*heads, c.hidden, c.mask, labels, c.cqt, c.pen, w);
    ADD_FAILURE() << "out-of-range label accepted";
  } catch (const mert::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("codebook 1"), std::string::npos) << what;
    EXPECT_NE(what.find("label 11"), std::string::npos) << what;
  }
}

}  // namespace
