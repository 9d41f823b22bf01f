#include "model/presets.h"

#include "mert/error.h"

namespace mert {

ModelConfig preset_config(const std::string& name) {
  ModelConfig c;  // defaults are MERT-v1-95M
  if (name == "v1-95m") return c;
  if (name == "v0") {
    c.sample_rate = 16000;
    return c;
  }
  if (name == "v1-330m") {
    c.hidden_size = 1024;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 16;
    c.intermediate_size = 4096;
    c.do_stable_layer_norm = true;
    c.attention_relax = 32.0;
    c.hidden_dropout = c.attention_dropout = c.feat_proj_dropout = c.layerdrop = 0.0;
    return c;
  }
  if (name == "tiny") {
    // Same architecture, a few million parameters: fast enough for demos and unit tests.
    c.conv_dim.assign(7, 128);
    c.hidden_size = 128;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
    c.intermediate_size = 512;
    c.num_conv_pos_embeddings = 32;
    c.num_conv_pos_embedding_groups = 4;
    return c;
  }
  if (name == "small") {
    // Between tiny and 95M: 6 x 256, 256-channel conv (6.4 M parameters). The shipped default
    // model (models/mert-synth-small) has this shape; it pre-trains in hours on two cores.
    c.conv_dim.assign(7, 256);
    c.hidden_size = 256;
    c.num_hidden_layers = 6;
    c.num_attention_heads = 4;
    c.intermediate_size = 1024;
    c.num_conv_pos_embeddings = 64;
    c.num_conv_pos_embedding_groups = 8;
    return c;
  }
  throw Error("unknown preset '" + name + "' (known: " + preset_names() + ")");
}

std::string preset_names() { return "tiny, small, v1-95m, v1-330m, v0"; }

}  // namespace mert
