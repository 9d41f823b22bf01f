#pragma once
// numpy <-> mert conversions for the Python module. Inputs are checked here, with Python's own
// exception types (TypeError for a wrong dtype, ValueError for a wrong shape or value), before
// the GIL is released; library errors travel as mert.Error.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mert/feature_matrix.h"

namespace mert::python {

namespace py = pybind11;

// A mono waveform: a 1-D float32 or float64 array (copied to float32). Integer PCM is refused
// rather than guessed at (is 16-bit audio scaled by 32768?), as are 2-D arrays (which axis is
// time?) and NaN/Inf.
inline std::vector<float> waveform_from_numpy(const py::handle& obj) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error("expected a numpy array holding a mono waveform, got " + std::string(py::str(obj.get_type())));
  const auto arr = py::reinterpret_borrow<py::array>(obj);
  if (arr.dtype().kind() != 'f' || (arr.itemsize() != 4 && arr.itemsize() != 8))
    throw py::type_error("waveform dtype must be float32 or float64 (samples in [-1, 1]), got " +
                         std::string(py::str(arr.dtype())) + "; convert integer PCM with x / 32768.0 or similar");
  if (arr.ndim() != 1)
    throw py::value_error("expected a 1-D mono waveform, got an array of shape " +
                          std::string(py::str(py::getattr(arr, "shape"))) + "; average the channels first (x.mean(axis=0))");
  const auto f32 = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arr);
  std::vector<float> out(f32.data(), f32.data() + f32.size());
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]))
      throw py::value_error("waveform sample " + std::to_string(i) + " is NaN or Inf");
  return out;
}

inline py::array_t<float> matrix_to_numpy(const FeatureMatrix& m) {
  py::array_t<float> out({static_cast<py::ssize_t>(m.rows), static_cast<py::ssize_t>(m.cols)});
  std::copy(m.data.begin(), m.data.end(), out.mutable_data());
  return out;
}

inline py::array_t<float> vector_to_numpy(const std::vector<float>& v) {
  py::array_t<float> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace mert::python
