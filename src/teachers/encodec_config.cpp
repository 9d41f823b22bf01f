// EnCodec's config.json, the frame grid and Hugging Face's bandwidth -> codebook count rule.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/json_value.h"
#include "mert/error.h"
#include "teachers/encodec.h"

namespace mert::encodec {

EncodecConfig EncodecConfig::from_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open EnCodec config '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(path + ": expected a JSON object at top level");
  std::string model_type;
  io::read_key(j, "model_type", model_type, path);
  if (!model_type.empty() && model_type != "encodec")
    throw Error(path + ": model_type is '" + model_type + "', not an EnCodec model");
  EncodecConfig c;
  io::read_key(j, "sampling_rate", c.sampling_rate, path);
  io::read_key(j, "audio_channels", c.audio_channels, path);
  io::read_key(j, "num_filters", c.num_filters, path);
  io::read_key(j, "num_residual_layers", c.num_residual_layers, path);
  io::read_key(j, "upsampling_ratios", c.upsampling_ratios, path);
  io::read_key(j, "kernel_size", c.kernel_size, path);
  io::read_key(j, "last_kernel_size", c.last_kernel_size, path);
  io::read_key(j, "residual_kernel_size", c.residual_kernel_size, path);
  io::read_key(j, "dilation_growth_rate", c.dilation_growth_rate, path);
  io::read_key(j, "compress", c.compress, path);
  io::read_key(j, "num_lstm_layers", c.num_lstm_layers, path);
  io::read_key(j, "hidden_size", c.hidden_size, path);
  io::read_key(j, "codebook_size", c.codebook_size, path);
  io::read_key(j, "target_bandwidths", c.target_bandwidths, path);
  io::read_key(j, "norm_type", c.norm_type, path);
  io::read_key(j, "pad_mode", c.pad_mode, path);
  io::read_key(j, "use_causal_conv", c.use_causal_conv, path);
  io::read_key(j, "normalize", c.normalize, path);
  io::read_key(j, "use_conv_shortcut", c.use_conv_shortcut, path);
  int64_t codebook_dim = c.hidden_size;
  io::read_key(j, "codebook_dim", codebook_dim, path);
  if (codebook_dim != c.hidden_size)
    throw Error(path + ": codebook_dim " + std::to_string(codebook_dim) + " differs from hidden_size " +
                std::to_string(c.hidden_size) + " (projected codebooks are not supported)");
  double chunk_length_s = 0;
  io::read_key(j, "chunk_length_s", chunk_length_s, path);
  if (chunk_length_s != 0)
    throw Error(path + ": chunk_length_s is set (chunked encoding, the 48 kHz model): not supported");
  c.validate(path);
  return c;
}

void EncodecConfig::validate(const std::string& origin) const {
  auto positive = [&](int64_t v, const char* key) {
    if (v < 1 || v > 1000000) throw Error(origin + ": " + key + " must be in [1, 1000000], got " + std::to_string(v));
  };
  positive(sampling_rate, "sampling_rate");
  positive(num_filters, "num_filters");
  positive(num_residual_layers, "num_residual_layers");
  positive(kernel_size, "kernel_size");
  positive(last_kernel_size, "last_kernel_size");
  positive(residual_kernel_size, "residual_kernel_size");
  positive(dilation_growth_rate, "dilation_growth_rate");
  positive(compress, "compress");
  positive(num_lstm_layers, "num_lstm_layers");
  positive(hidden_size, "hidden_size");
  if (codebook_size < 2 || codebook_size > 1000000)
    throw Error(origin + ": codebook_size must be in [2, 1000000], got " + std::to_string(codebook_size));
  if (audio_channels != 1) throw Error(origin + ": audio_channels " + std::to_string(audio_channels) + ": only mono models are supported");
  if (upsampling_ratios.empty() || upsampling_ratios.size() > 8) throw Error(origin + ": upsampling_ratios must hold 1 to 8 ratios");
  for (int64_t r : upsampling_ratios) positive(r, "upsampling_ratios[i]");
  if (num_filters << upsampling_ratios.size() > 1000000) throw Error(origin + ": too many channels");
  if (target_bandwidths.empty()) throw Error(origin + ": target_bandwidths is empty");
  for (double b : target_bandwidths)
    if (!(b > 0) || b > 1000) throw Error(origin + ": target_bandwidths must be in (0, 1000] kbps");
  if (norm_type != "weight_norm") throw Error(origin + ": norm_type '" + norm_type + "' is not supported (weight_norm)");
  if (pad_mode != "reflect") throw Error(origin + ": pad_mode '" + pad_mode + "' is not supported (reflect)");
  if (!use_causal_conv) throw Error(origin + ": use_causal_conv false (the 48 kHz model) is not supported");
  if (normalize) throw Error(origin + ": normalize true (the 48 kHz model) is not supported");
  if (num_quantizers() < 1) throw Error(origin + ": target_bandwidths give no codebook");
}

int64_t EncodecConfig::hop() const {
  int64_t h = 1;
  for (int64_t r : upsampling_ratios) h *= r;
  return h;
}

int64_t EncodecConfig::frame_rate() const { return (sampling_rate + hop() - 1) / hop(); }

// Hugging Face: int(1000 * target_bandwidths[-1] // (frame_rate * 10)).
int64_t EncodecConfig::num_quantizers() const {
  return static_cast<int64_t>(std::floor(1000.0 * target_bandwidths.back() / (static_cast<double>(frame_rate()) * 10.0)));
}

int64_t EncodecConfig::quantizers_for_bandwidth(double kbps) const {
  // As EncodecModel.encode: only the bandwidths the model was trained for.
  if (std::find(target_bandwidths.begin(), target_bandwidths.end(), kbps) == target_bandwidths.end()) {
    std::ostringstream os;
    for (size_t i = 0; i < target_bandwidths.size(); ++i) os << (i ? ", " : "") << target_bandwidths[i];
    std::ostringstream got;
    got << kbps;
    throw Error("bandwidth " + got.str() + " kbps is not one this model supports (" + os.str() + ")");
  }
  const double per_quantizer = std::log2(static_cast<double>(codebook_size)) * static_cast<double>(frame_rate());
  const auto n = static_cast<int64_t>(std::max(1.0, std::floor(kbps * 1000.0 / per_quantizer)));
  return std::min(n, num_quantizers());  // Hugging Face slices the layer list
}

int64_t EncodecConfig::frames(int64_t num_samples) const { return (num_samples + hop() - 1) / hop(); }

}  // namespace mert::encodec
