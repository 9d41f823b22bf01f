// `import mert`: the Python module (pybind11). mert.Model in bind_model.cpp, mert.features in
// bind_features.cpp; here the module, its exception and the audio loader.
#include <pybind11/pybind11.h>

#include <string>

#include "bind_features.h"
#include "bind_model.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "util/blas_kernels.h"
#include "util/system_info.h"
#include "numpy_convert.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

// The CLI's caps on libtorch's per-shape kernel caches (tools/mert/main.cpp), so that embedding
// many inputs of different lengths keeps memory flat here too. A capacity set in the environment
// wins; they apply process-wide, to `torch` in the same process as well.
constexpr int kOneDnnCacheCapacity = 64;
constexpr int kIdeepCacheCapacity = 8;

py::array_t<float> load_audio(const std::string& path, int64_t sample_rate) {
  if (sample_rate <= 0) throw py::value_error("sample_rate must be positive, got " + std::to_string(sample_rate));
  mert::Audio a;
  {
    py::gil_scoped_release nogil;
    a = mert::decode_audio(path, sample_rate);
  }
  if (!a.warning.empty() && PyErr_WarnEx(PyExc_UserWarning, (path + ": " + a.warning).c_str(), 1) != 0)
    throw py::error_already_set();  // the warning filter made it an exception
  return mert::python::vector_to_numpy(a.samples);
}

}  // namespace

PYBIND11_MODULE(mert, m) {
  m.doc() = R"doc(MERT music embeddings, natively (the `mert` project's C++ engine).

  m = mert.Model("MERT-v1-95M", dtype="bf16", threads=2)
  emb = m.embed(wave, 44100, layers="all", pool="mean")   # float32 [13, 768]
  emb = m.embed_file("song.flac", pool="none")            # [13, frames, 768]
  x = mert.load_audio("song.flac", 24000)
  cqt = mert.features.cqt(x, 24000)                       # [frames, 336]

Errors from the engine (missing or corrupt files, bad settings) raise mert.Error with the same
message `mert` prints.)doc";
  mert::limit_kernel_caches(kOneDnnCacheCapacity, kIdeepCacheCapacity);
  mert::select_blas_kernels();  // as the CLI does; MERT_BLAS_KERNELS=keep opts out

  static py::exception<mert::Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const mert::Error& e) {
      error(e.what());
    }
  });

  m.def("load_audio", &load_audio, "path"_a, "sample_rate"_a,
        "Decodes an audio file to a mono float32 array at sample_rate (channels averaged, libsoxr "
        "resampling), exactly as `mert embed` reads its inputs. A file decoded with a caveat gives a "
        "UserWarning; one that cannot be used raises mert.Error.");
  m.def("system_info", &mert::system_info_line, "CPU, ISA extensions, threads, libtorch, oneDNN and BLAS in use.");
  m.attr("__version__") = MERT_VERSION;
  m.attr("build_info") = mert::build_info();
  mert::python::bind_model(m);
  mert::python::bind_features(m);
}
