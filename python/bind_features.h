#pragma once
#include <pybind11/pybind11.h>

namespace mert::python {
void bind_features(pybind11::module_& m);
}  // namespace mert::python
