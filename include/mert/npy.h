#pragma once
// NumPy .npy files, for exchanging reference activations with Python (np.load / np.save).
#include <ATen/core/Tensor.h>

#include <string>

namespace mert {

// Writes `t` (float32, float64, int64 or int32; any device/layout, written C-contiguous) as NPY
// format 1.0, little-endian, header padded to a multiple of 64 bytes; atomically.
// Throws mert::Error for other dtypes or I/O failures.
void write_npy(const std::string& path, const at::Tensor& t);

// Reads an .npy file (format 1.x/2.x/3.x) of dtype '<f4', '<f8', '<i8' or '<i4' with
// fortran_order False into an owned, contiguous CPU tensor. Throws mert::Error otherwise.
at::Tensor read_npy(const std::string& path);

}  // namespace mert
