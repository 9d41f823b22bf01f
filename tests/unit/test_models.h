#pragma once
// Model configurations shared by the unit tests.
#include "mert/config.h"
#include "model/presets.h"

namespace mert_test {

// MERT's architecture at toy size (2 layers x 32): fast enough for many forward passes per test.
inline mert::ModelConfig micro_config() {
  mert::ModelConfig cfg = mert::preset_config("tiny");
  cfg.conv_dim.assign(7, 32);
  cfg.hidden_size = 32;
  cfg.num_hidden_layers = 2;
  cfg.num_attention_heads = 2;
  cfg.intermediate_size = 64;
  cfg.num_conv_pos_embeddings = 8;
  cfg.num_conv_pos_embedding_groups = 2;
  return cfg;
}

}  // namespace mert_test
