// mert.features: the teacher features (CQT, MFCC, log-mel, chroma) of a waveform, as
// `mert features` computes them for a file.
#include "bind_features.h"

#include <string>
#include <vector>

#include "mert/audio.h"
#include "mert/teacher_features.h"
#include "numpy_convert.h"

namespace mert::python {
namespace {

py::array_t<float> compute(TeacherFeature type, const py::object& wave, int64_t sample_rate, const std::string& grid) {
  std::vector<float> x = waveform_from_numpy(wave);
  if (sample_rate <= 0) throw py::value_error("sample_rate must be positive, got " + std::to_string(sample_rate));
  if (grid != "model" && grid != "native") throw py::value_error("grid must be 'model' or 'native', got '" + grid + "'");
  TeacherParams params;  // the defaults `mert features` uses, at 24 kHz
  FeatureMatrix f;
  {
    py::gil_scoped_release nogil;
    const auto rate = static_cast<int64_t>(params.sample_rate);
    if (sample_rate != rate) x = resample(x, sample_rate, rate);
    TeacherExtractor ex(type, params);
    const auto n = static_cast<int64_t>(x.size());
    f = grid == "model" ? ex.on_grid(x.data(), n, ModelGrid{}) : ex.native(x.data(), n);
  }
  return matrix_to_numpy(f);
}

}  // namespace

void bind_features(py::module_& parent) {
  using namespace pybind11::literals;
  py::module_ m = parent.def_submodule("features", R"doc(
Teacher features of a mono waveform (1-D float32/float64 array at `sample_rate`, resampled to
24 kHz first), with `mert features`' default parameters. grid="model": one row per MERT frame
(75 per second, row t at sample 320 t); grid="native": the feature's own framing.
Returns float32 [frames, dim]: cqt 336 bins, mfcc 39 (13 + deltas), logmel 229 mels, chroma 12.)doc");
  const struct {
    const char* name;
    TeacherFeature type;
  } kinds[] = {{"cqt", TeacherFeature::Cqt}, {"mfcc", TeacherFeature::Mfcc}, {"logmel", TeacherFeature::LogMel},
               {"chroma", TeacherFeature::Chroma}};
  for (const auto& k : kinds) {
    const TeacherFeature type = k.type;
    m.def(
        k.name,
        [type](const py::object& wave, int64_t sample_rate, const std::string& grid) {
          return compute(type, wave, sample_rate, grid);
        },
        "wave"_a, "sample_rate"_a, py::kw_only(), "grid"_a = "model",
        (std::string(k.name) + "(wave, sample_rate, *, grid='model') -> float32 [frames, dim]").c_str());
  }
}

}  // namespace mert::python
