#pragma once
// Reading and writing weight files: safetensors (read memory-mapped, write atomically) and
// PyTorch's torch.save zip archives (the Hugging Face `pytorch_model.bin`). No Python and no
// code execution: the pickle inside a .bin is interpreted, never run.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace mert {

// Tensors by name, sorted by name (what safetensors stores and what validation reports).
using TensorMap = std::map<std::string, at::Tensor>;

// Reads a .safetensors file. Tensors of F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL are views of
// a read-only memory map that stays alive while any tensor refers to it: clone before writing
// to them. Throws mert::Error naming the file and the problem (truncated, bad header, offsets
// out of range, unsupported dtype).
TensorMap read_safetensors(const std::string& path);

// Metadata stored in a safetensors header's "__metadata__" (string to string).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

// Writes a .safetensors file atomically (path.tmp, fsync, rename). Tensors are written
// contiguous, in their own dtype, little-endian, sorted by name, data aligned to 8 bytes.
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads a torch.save zip archive holding a dict / OrderedDict of name -> tensor (a state dict,
// possibly with `_metadata`). Stored (uncompressed) entries are memory-mapped; tensors are views
// with the saved sizes, strides and storage offsets. Throws mert::Error for legacy (pre-1.6,
// non-zip) files, compressed entries, truncated archives, unknown pickle opcodes, non-tensor
// values.
TensorMap read_torch_checkpoint(const std::string& path);

}  // namespace mert
