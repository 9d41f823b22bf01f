// Guards the workaround in src/model/gelu.h: libtorch 1.13's float32 GELU backward is wrong for a
// non-contiguous incoming gradient, which the model produces wherever a transpose follows a GELU.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include "model/model.h"
#include "model/presets.h"
#include "model/gelu.h"

TEST(GeluBackward, NonContiguousGradientMatchesFloat64) {
  at::manual_seed(0);
  at::Tensor x = at::randn({4, 128, 74});
  at::Tensor g = at::randn({4, 74, 128}).transpose(1, 2);  // as after a transpose
  at::Tensor xf = x.clone().set_requires_grad(true);
  mert::gelu_with_safe_backward(xf).backward(g);
  at::Tensor xd = x.to(at::kDouble).set_requires_grad(true);
  at::gelu(xd).backward(g.to(at::kDouble).contiguous());
  EXPECT_LT((xf.grad().to(at::kDouble) - xd.grad()).abs().max().item<double>(), 1e-5);
}

TEST(GeluBackward, PretrainBackwardIsFiniteAndRepeatable) {
  mert::ModelConfig cfg = mert::preset_config("tiny");
  cfg.hidden_dropout = cfg.attention_dropout = cfg.feat_proj_dropout = cfg.layerdrop = 0;
  mert::MertModel model(cfg);
  mert::init_weights(*model, 1);
  at::manual_seed(1);
  at::Tensor wave = at::randn({2, 24000}) * 0.1;
  at::Tensor mask = at::zeros({2, cfg.frames_for_samples(24000)}, at::kBool);
  mask.narrow(1, 10, 20).fill_(true);
  std::vector<double> norms;
  for (int rep = 0; rep < 2; ++rep) {
    model->zero_grad();
    auto out = model->forward_pretrain(wave, mask, 1.0);
    (out.hidden.pow(2).mean() + out.features_pen).backward();
    double sq = 0;
    for (const auto& p : model->parameters())
      if (p.grad().defined()) sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
    ASSERT_TRUE(std::isfinite(sq));
    norms.push_back(sq);
  }
  EXPECT_EQ(norms[0], norms[1]);
  EXPECT_LT(norms[0], 1e6);
}
