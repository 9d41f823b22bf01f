// EnCodec's SEANet encoder and residual vector quantizer, forward only, in float32 libtorch ops
// that follow Hugging Face's EncodecConv1d / EncodecResnetBlock / EncodecLSTM /
// EncodecEuclideanCodebook step by step (same padding arithmetic, same distance formula).
#include <torch/torch.h>

#include <array>
#include <map>
#include <memory>

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

at::Tensor Encodec::embed(const at::Tensor& audio) const {
  if (audio.dim() != 3 || audio.size(1) != cfg_.audio_channels || audio.size(2) < 1)
    throw Error("EnCodec input must be [batch, " + std::to_string(cfg_.audio_channels) + ", samples >= 1]");
  return walk(audio.to(torch::kFloat), audio.size(2));  // one block: the whole input
}

// EncodecResidualVectorQuantizer.encode: each stage takes the codeword nearest the residual
// (Hugging Face's distance -(|x|^2 - 2 x.e + |e|^2), argmax; ties to the lowest index) and
// subtracts it.
at::Tensor Encodec::quantize(const at::Tensor& embeddings, int64_t n_q) const {
  torch::NoGradGuard no_grad;
  if (n_q < 1 || n_q > static_cast<int64_t>(codebooks_.size()))
    throw Error("EnCodec: " + std::to_string(n_q) + " codebooks asked for, the model has " + std::to_string(codebooks_.size()));
  const int64_t B = embeddings.size(0), T = embeddings.size(2);
  const at::Tensor rows = embeddings.permute({0, 2, 1}).reshape({B * T, embeddings.size(1)});
  at::Tensor codes = at::empty({B * T, n_q}, rows.options().dtype(torch::kLong));
  // Frames are independent: a block of them at a time keeps the [frames, codebook_size] distance
  // matrices small (a whole 10-minute file at once would need ~2 GiB for them).
  constexpr int64_t kRowsPerBlock = 2048;
  for (int64_t r0 = 0; r0 < B * T; r0 += kRowsPerBlock) {
    at::Tensor residual = rows.narrow(0, r0, std::min(kRowsPerBlock, B * T - r0));
    for (int64_t q = 0; q < n_q; ++q) {
      const at::Tensor embed_t = codebooks_[static_cast<size_t>(q)].t();
      const at::Tensor dist =
          -(residual.pow(2).sum(1, true) - 2 * at::matmul(residual, embed_t) + embed_t.pow(2).sum(0, true));
      const at::Tensor ind = std::get<1>(dist.max(-1));
      codes.narrow(0, r0, residual.size(0)).select(1, q).copy_(ind);
      residual = residual - at::embedding(codebooks_[static_cast<size_t>(q)], ind);
    }
  }
  return codes.reshape({B, T, n_q}).permute({0, 2, 1}).contiguous();
}

// One EncodecConv1d with use_causal_conv, fed block by block. It pads as Hugging Face pads the
// whole input: all the padding P = k_eff - s on the left, and on the right the "extra padding"
// that completes the last window, so a stride-s conv yields ceil(L / s) outputs (Hugging Face
// computes it through a float division; this is the exact integer form, docs/TEACHERS.md). Its
// input so far is held from the first sample the next output needs: output j reads inputs
// [j*s - P, j*s + s), so after a block ending at input position `end` the outputs up to
// floor(end / s) - 1 are complete. The first block brings the left padding, the last one the
// right; a single block (first and last) is the one-pass conv, short inputs included.
class Encodec::StreamedConv {
 public:
  explicit StreamedConv(const Conv& c) : c_(c) {
    k_eff_ = (c.weight.size(2) - 1) * c.dilation + 1;
    pad_ = k_eff_ - c.stride;
  }

  at::Tensor push(const at::Tensor& x, bool last) {
    const int64_t s = c_.stride;
    if (!started_ && last) {
      const int64_t length = x.size(-1);
      started_ = true;
      return conv(pad_reflect(x, pad_, (length + s - 1) / s * s - length));
    }
    at::Tensor in = x;
    if (!started_) {
      if (x.size(-1) <= pad_) throw Error("EnCodec: a streamed block is shorter than a conv's padding");
      in = at::reflection_pad1d(x, {pad_, 0});
      started_ = true;
    }
    buf_ = buf_.defined() ? at::cat({buf_, in}, -1) : in;
    total_in_ += x.size(-1);
    if (last) {  // complete the last window as the one-pass conv does
      const int64_t extra = (total_in_ + s - 1) / s * s - total_in_;
      if (extra > 0) buf_ = at::reflection_pad1d(buf_, {0, extra});
    }
    const int64_t end = last ? (total_in_ + s - 1) / s * s : total_in_;
    const int64_t count = end / s - next_out_;
    if (count <= 0) return at::empty({x.size(0), c_.weight.size(0), 0}, x.options());
    at::Tensor out = conv(buf_.narrow(-1, 0, (count - 1) * s + k_eff_));
    // A copy, not a view: a view (even an empty one) would keep the whole block's storage alive.
    buf_ = buf_.narrow(-1, count * s, buf_.size(-1) - count * s).clone(at::MemoryFormat::Contiguous);
    next_out_ += count;
    return out;
  }

 private:
  // The conv over an already padded input. The first conv (one input channel, 7 taps) runs as one
  // GEMM over a [taps, frames] patch matrix: the same sums as at::conv1d, ~10x faster there.
  at::Tensor conv(const at::Tensor& in) const {
    if (in.size(0) == 1 && in.size(1) == 1 && c_.dilation == 1 && in.size(-1) >= k_eff_) {
      const int64_t frames = (in.size(-1) - k_eff_) / c_.stride + 1;
      const at::Tensor x = in.reshape({in.size(-1)}).contiguous();  // as_strided below assumes unit stride
      const at::Tensor patches = x.as_strided({k_eff_, frames}, {1, c_.stride}, x.storage_offset()).contiguous();
      return at::addmm(c_.bias.unsqueeze(1), c_.weight.select(1, 0), patches).unsqueeze(0);
    }
    const int64_t stride[1] = {c_.stride}, padding[1] = {0}, dilation[1] = {c_.dilation};
    return at::conv1d(in, c_.weight, c_.bias, stride, padding, dilation);
  }

  const Conv& c_;
  int64_t k_eff_ = 1, pad_ = 0;
  bool started_ = false;
  at::Tensor buf_;
  int64_t total_in_ = 0, next_out_ = 0;
};

// One input on its way through the encoder, a block at a time: every causal conv keeps its left
// context between blocks and the LSTM its state. `wave` is [batch, 1, n] and must outlive it.
class Encodec::Stream {
 public:
  Stream(const Encodec& codec, at::Tensor wave, int64_t block_samples)
      : wave_(std::move(wave)), n_(wave_.size(-1)), block_(block_samples), first_(codec.first_), last_(codec.last_) {
    for (size_t r = 0; r < codec.downs_.size(); ++r) {
      blocks_.emplace_back();
      for (const ResBlock& b : codec.blocks_[r])
        blocks_.back().push_back({std::make_unique<StreamedConv>(b.conv1), std::make_unique<StreamedConv>(b.conv2),
                                  b.has_shortcut ? std::make_unique<StreamedConv>(b.shortcut) : nullptr});
      downs_.push_back(std::make_unique<StreamedConv>(codec.downs_[r]));
    }
    h = at::zeros({codec.cfg_.num_lstm_layers, wave_.size(0), codec.downs_.back().weight.size(0)}, wave_.options());
    c = h.clone();
  }

  bool done() const { return start_ >= n_; }
  int64_t batch() const { return wave_.size(0); }

  // The next block through the convs before the LSTM: [batch, channels, frames], frames may be 0.
  at::Tensor next_block() {
    last_block_ = start_ + block_ >= n_;
    at::Tensor x = first_.push(wave_.narrow(-1, start_, std::min(block_, n_ - start_)), last_block_);
    start_ += block_;
    for (size_t r = 0; r < downs_.size(); ++r) {
      for (auto& b : blocks_[r]) {
        at::Tensor y = b[0]->push(at::elu(x), last_block_);
        y = b[1]->push(at::elu(y), last_block_);
        x = (b[2] ? b[2]->push(x, last_block_) : x) + y;
      }
      x = downs_[r]->push(at::elu(x), last_block_);
    }
    return x;
  }
  // The LSTM's output plus its input (EncodecLSTM's skip), [batch, channels, frames], through the
  // last conv.
  void finish_block(const at::Tensor& x) { outputs_.push_back(last_.push(at::elu(x), last_block_)); }
  at::Tensor embeddings() const { return at::cat(outputs_, -1); }

  at::Tensor h, c;  // the LSTM's state, [layers, batch, channels]

 private:
  at::Tensor wave_;
  int64_t n_, block_, start_ = 0;
  bool last_block_ = false;
  StreamedConv first_, last_;
  std::vector<std::vector<std::array<std::unique_ptr<StreamedConv>, 3>>> blocks_;
  std::vector<std::unique_ptr<StreamedConv>> downs_;
  std::vector<at::Tensor> outputs_;
};

// EncodecLSTM over one block of several streams at once: a sequence-first LSTM over [T, B, C]
// plus the input. Streams whose blocks have the same number of frames share one call, so the
// recurrent weights are read once per step for all of them (a single stream reads them, 4 MiB a
// layer at the 24 kHz size, for every one of its 75 frames a second).
void Encodec::run_lstm(const std::vector<Stream*>& streams, const std::vector<at::Tensor>& blocks) const {
  std::map<int64_t, std::vector<size_t>> by_frames;
  for (size_t i = 0; i < streams.size(); ++i)
    if (blocks[i].size(-1) > 0) by_frames[blocks[i].size(-1)].push_back(i);
  for (const auto& [frames, group] : by_frames) {
    std::vector<at::Tensor> seqs, hs, cs;
    for (size_t i : group) {
      seqs.push_back(blocks[i].permute({2, 0, 1}));
      hs.push_back(streams[i]->h);
      cs.push_back(streams[i]->c);
    }
    const at::Tensor seq = seqs.size() == 1 ? seqs[0] : at::cat(seqs, 1);
    const at::Tensor h = hs.size() == 1 ? hs[0] : at::cat(hs, 1), c = cs.size() == 1 ? cs[0] : at::cat(cs, 1);
    const auto out = at::lstm(seq, {h, c}, lstm_params_, true, cfg_.num_lstm_layers, 0.0, false, false, false);
    const at::Tensor y = (std::get<0>(out) + seq).permute({1, 2, 0});
    int64_t offset = 0;
    for (size_t i : group) {
      Stream& s = *streams[i];
      const int64_t b = s.batch();
      s.h = std::get<1>(out).narrow(1, offset, b);
      s.c = std::get<2>(out).narrow(1, offset, b);
      s.finish_block(y.narrow(0, offset, b));
      offset += b;
    }
  }
}

// Blocks under 16 frames' worth are not streamed: the first block must give every conv more
// inputs than its left padding (the last conv, k 7, needs 7 frames).
int64_t Encodec::effective_block(int64_t n, int64_t block_samples) const {
  return block_samples <= 0 || block_samples < 16 * cfg_.hop() ? n : block_samples;
}

at::Tensor Encodec::embed_streamed(const std::vector<float>& wave, int64_t block_samples) const {
  const auto n = static_cast<int64_t>(wave.size());
  if (n == 0) throw Error("EnCodec: the waveform is empty");
  const at::Tensor all = torch::from_blob(const_cast<float*>(wave.data()), {1, 1, n}, torch::kFloat);
  return walk(all, effective_block(n, block_samples));
}

// The encoder over [batch, 1, n] in blocks of block_samples (the last may be shorter).
at::Tensor Encodec::walk(const at::Tensor& all, int64_t block_samples) const {
  torch::NoGradGuard no_grad;
  Stream s(*this, all, block_samples);
  while (!s.done()) run_lstm({&s}, {s.next_block()});
  return s.embeddings();
}

std::vector<at::Tensor> Encodec::embed_many(const std::vector<const std::vector<float>*>& waves, int64_t block_samples,
                                            int64_t width) const {
  torch::NoGradGuard no_grad;
  for (const auto* w : waves)
    if (w->empty()) throw Error("EnCodec: the waveform is empty");
  // `width` slots; a slot whose input ends takes the next one, so inputs of any lengths keep the
  // batch full until the last ones.
  std::vector<at::Tensor> result(waves.size());
  std::vector<std::pair<size_t, std::unique_ptr<Stream>>> active;
  size_t next = 0;
  while (next < waves.size() || !active.empty()) {
    while (next < waves.size() && static_cast<int64_t>(active.size()) < std::max<int64_t>(1, width)) {
      const auto n = static_cast<int64_t>(waves[next]->size());
      const at::Tensor wave = torch::from_blob(const_cast<float*>(waves[next]->data()), {1, 1, n}, torch::kFloat);
      active.emplace_back(next++, std::make_unique<Stream>(*this, wave, effective_block(n, block_samples)));
    }
    std::vector<Stream*> streams;
    std::vector<at::Tensor> blocks;
    for (auto& [idx, s] : active) {
      streams.push_back(s.get());
      blocks.push_back(s->next_block());
    }
    run_lstm(streams, blocks);
    for (size_t i = active.size(); i-- > 0;)
      if (active[i].second->done()) {
        result[active[i].first] = active[i].second->embeddings();
        active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      }
  }
  return result;
}

}  // namespace mert::encodec
