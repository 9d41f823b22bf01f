#pragma once
// NumPy .npy files, for exchanging reference activations with Python (np.load / np.save).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace mert {

// Writes `t` (float16, float32, float64, int64, int32, uint8 or bool; any device/layout, written
// C-contiguous) as NPY format 1.0, little-endian, header padded to a multiple of 64 bytes;
// atomically.
// Throws mert::Error for other dtypes or I/O failures.
void write_npy(const std::string& path, const at::Tensor& t);

// The complete .npy 1.0 header (magic, version, length, padded dict) for a C-order array.
std::string npy_header_bytes(at::ScalarType type, at::IntArrayRef sizes, const std::string& path_for_errors);

// Writes a large .npy piece by piece without holding it in memory: the shape is fixed up front,
// blocks are written at their offsets (any order) into `<path>.tmp.<pid>`, and commit() fsyncs
// and renames it into place. Destroying an uncommitted writer removes the temp file.
class NpyStreamWriter {
 public:
  // float32 or float16 (kHalf: half the disk, for large frame-level features).
  NpyStreamWriter(const std::string& path, std::vector<int64_t> shape, at::ScalarType type = at::kFloat);
  ~NpyStreamWriter();
  NpyStreamWriter(const NpyStreamWriter&) = delete;
  NpyStreamWriter& operator=(const NpyStreamWriter&) = delete;
  // Writes `block` (any floating type, converted) at element offset `offset` of the flattened array.
  void write_at(int64_t offset, const at::Tensor& block);
  void commit();
  const std::vector<int64_t>& shape() const { return shape_; }

 private:
  std::string path_, tmp_;
  std::vector<int64_t> shape_;
  at::ScalarType type_;
  int64_t elem_;
  int fd_ = -1;
  int64_t data_start_ = 0;
  bool committed_ = false;
};

// Reads an .npy file (format 1.x/2.x/3.x) of dtype '<f2', '<f4', '<f8', '<i8', '<i4', '|u1' or
// '|b1' with fortran_order False into an owned, contiguous CPU tensor. Throws mert::Error otherwise.
at::Tensor read_npy(const std::string& path);
// The sub-array at `index` of the first axis (e.g. one layer of [layers, T, D] frame features),
// reading only its bytes. Throws mert::Error as read_npy, and for an index out of range or a
// 0-dimensional array.
at::Tensor read_npy_index(const std::string& path, int64_t index);
// The shape of an .npy file, from its header (the data's size is checked, not read).
std::vector<int64_t> read_npy_shape(const std::string& path);

}  // namespace mert
