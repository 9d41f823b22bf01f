// EnCodec's SEANet encoder and residual vector quantizer, forward only, in float32 libtorch ops
// that follow Hugging Face's EncodecConv1d / EncodecResnetBlock / EncodecLSTM /
// EncodecEuclideanCodebook step by step (same padding arithmetic, same distance formula).
#include <torch/torch.h>

#include "mert/error.h"
#include "teachers/encodec.h"

namespace mert::encodec {
namespace {

// Reflect padding as Hugging Face's EncodecConv1d._pad1d does it: an input no longer than the
// pad is first zero-extended so that reflection is defined, then the extension is cut off again.
at::Tensor pad_reflect(const at::Tensor& x, int64_t left, int64_t right) {
  const int64_t length = x.size(-1);
  const int64_t max_pad = std::max(left, right);
  if (length > max_pad) return at::reflection_pad1d(x, {left, right});
  const int64_t extra = max_pad - length + 1;
  const at::Tensor padded = at::reflection_pad1d(at::constant_pad_nd(x, {0, extra}), {left, right});
  return padded.narrow(-1, 0, padded.size(-1) - extra);
}

}  // namespace

Encodec::Encodec(EncodecWeights weights) : cfg_(std::move(weights.config)) {
  auto& t = weights.tensors;
  auto conv = [&](const std::string& prefix, int64_t stride, int64_t dilation) {
    Conv c;
    // weight = g * v / ||v||, the norm over every dim but the output channel (weight_norm, dim 0).
    c.weight = at::_weight_norm(t.at(prefix + ".weight_v"), t.at(prefix + ".weight_g"), 0);
    c.bias = t.at(prefix + ".bias");
    c.stride = stride;
    c.dilation = dilation;
    return c;
  };
  int64_t idx = 0;
  first_ = conv("encoder.layers.0.conv", 1, 1);
  ++idx;
  for (auto r = cfg_.upsampling_ratios.rbegin(); r != cfg_.upsampling_ratios.rend(); ++r) {
    std::vector<ResBlock> blocks;
    int64_t dilation = 1;
    for (int64_t j = 0; j < cfg_.num_residual_layers; ++j, ++idx, dilation *= cfg_.dilation_growth_rate) {
      const std::string b = "encoder.layers." + std::to_string(idx);
      ResBlock rb;
      rb.conv1 = conv(b + ".block.1.conv", 1, dilation);
      rb.conv2 = conv(b + ".block.3.conv", 1, 1);
      rb.has_shortcut = cfg_.use_conv_shortcut;
      if (rb.has_shortcut) rb.shortcut = conv(b + ".shortcut.conv", 1, 1);
      blocks.push_back(std::move(rb));
    }
    blocks_.push_back(std::move(blocks));
    ++idx;  // ELU
    downs_.push_back(conv("encoder.layers." + std::to_string(idx) + ".conv", *r, 1));
    ++idx;
  }
  const std::string lstm = "encoder.layers." + std::to_string(idx) + ".lstm.";
  for (int64_t l = 0; l < cfg_.num_lstm_layers; ++l)
    for (const char* name : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"})
      lstm_params_.push_back(t.at(lstm + name + std::to_string(l)));
  idx += 2;
  last_ = conv("encoder.layers." + std::to_string(idx) + ".conv", 1, 1);
  for (int64_t q = 0; q < cfg_.num_quantizers(); ++q)
    codebooks_.push_back(t.at("quantizer.layers." + std::to_string(q) + ".codebook.embed"));
}

// EncodecConv1d with use_causal_conv: all the padding (kernel - stride) on the left, plus the
// "extra padding" on the right that makes the last window complete, so a stride-s conv yields
// ceil(L / s) outputs. Hugging Face computes the extra padding through a float division; this
// is the exact integer form (they agree below ~2^24 samples, docs/TEACHERS.md).
at::Tensor Encodec::conv(const Conv& c, const at::Tensor& x) const {
  const int64_t k = (c.weight.size(2) - 1) * c.dilation + 1;
  const int64_t s = c.stride;
  const int64_t padding_total = k - s;
  const int64_t length = x.size(-1);
  const int64_t n_frames_ceil = (length - k + padding_total + s - 1) / s + 1;  // ceil((L - k + pt) / s) + 1
  const int64_t ideal_length = (n_frames_ceil - 1) * s + (k - padding_total);
  const int64_t extra = ideal_length - length;
  const int64_t stride[1] = {s}, padding[1] = {0}, dilation[1] = {c.dilation};
  return at::conv1d(pad_reflect(x, padding_total, extra), c.weight, c.bias, stride, padding, dilation);
}

at::Tensor Encodec::embed(const at::Tensor& audio) const {
  torch::NoGradGuard no_grad;
  if (audio.dim() != 3 || audio.size(1) != cfg_.audio_channels || audio.size(2) < 1)
    throw Error("EnCodec input must be [batch, " + std::to_string(cfg_.audio_channels) + ", samples >= 1]");
  at::Tensor x = conv(first_, audio.to(torch::kFloat));
  for (size_t r = 0; r < downs_.size(); ++r) {
    for (const ResBlock& b : blocks_[r]) {
      at::Tensor y = conv(b.conv1, at::elu(x));
      y = conv(b.conv2, at::elu(y));
      x = (b.has_shortcut ? conv(b.shortcut, x) : x) + y;
    }
    x = conv(downs_[r], at::elu(x));
  }
  // EncodecLSTM: sequence-first LSTM over [T, B, C], plus the input (skip).
  const at::Tensor seq = x.permute({2, 0, 1});
  const at::Tensor h0 = at::zeros({cfg_.num_lstm_layers, seq.size(1), seq.size(2)}, seq.options());
  const auto out = at::lstm(seq, {h0, h0}, lstm_params_, /*has_biases=*/true, cfg_.num_lstm_layers,
                            /*dropout=*/0.0, /*train=*/false, /*bidirectional=*/false, /*batch_first=*/false);
  x = (std::get<0>(out) + seq).permute({1, 2, 0});
  return conv(last_, at::elu(x));
}

// EncodecResidualVectorQuantizer.encode: each stage takes the codeword nearest the residual
// (Hugging Face's distance -(|x|^2 - 2 x.e + |e|^2), argmax; ties to the lowest index) and
// subtracts it.
at::Tensor Encodec::quantize(const at::Tensor& embeddings, int64_t n_q) const {
  torch::NoGradGuard no_grad;
  if (n_q < 1 || n_q > static_cast<int64_t>(codebooks_.size()))
    throw Error("EnCodec: " + std::to_string(n_q) + " codebooks asked for, the model has " + std::to_string(codebooks_.size()));
  const int64_t B = embeddings.size(0), T = embeddings.size(2);
  at::Tensor residual = embeddings.permute({0, 2, 1}).reshape({B * T, embeddings.size(1)});
  std::vector<at::Tensor> codes;
  for (int64_t q = 0; q < n_q; ++q) {
    const at::Tensor embed_t = codebooks_[static_cast<size_t>(q)].t();
    const at::Tensor dist = -(residual.pow(2).sum(1, true) - 2 * at::matmul(residual, embed_t) + embed_t.pow(2).sum(0, true));
    const at::Tensor ind = std::get<1>(dist.max(-1));
    codes.push_back(ind.reshape({B, T}));
    residual = residual - at::embedding(codebooks_[static_cast<size_t>(q)], ind);
  }
  return at::stack(codes, 1);
}

at::Tensor Encodec::encode(const std::vector<float>& wave, double kbps) const {
  if (wave.empty()) throw Error("EnCodec: the waveform is empty");
  const int64_t n_q = cfg_.quantizers_for_bandwidth(kbps);
  const at::Tensor audio =
      torch::from_blob(const_cast<float*>(wave.data()), {1, 1, static_cast<int64_t>(wave.size())}, torch::kFloat);
  return quantize(embed(audio), n_q)[0];
}

}  // namespace mert::encodec
