// mert.Model: a loaded model directory and the embedding calls on it.
#include "bind_model.h"

#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "mert/error.h"
#include "mert/mert.h"
#include "util/system_info.h"
#include "numpy_convert.h"

namespace mert::python {
namespace {

// layers: "all", one index, or a sequence of indices (0 = the conv front end's projection,
// L = the last transformer layer), validated against the model.
std::vector<int64_t> layers_from(const py::object& layers, int64_t num_hidden_layers) {
  if (py::isinstance<py::str>(layers)) return parse_layers(layers.cast<std::string>(), num_hidden_layers);
  std::string spec;
  if (py::isinstance<py::int_>(layers)) {
    spec = std::to_string(layers.cast<int64_t>());
  } else if (py::isinstance<py::sequence>(layers)) {
    for (const auto& l : layers.cast<py::sequence>()) {
      if (!py::isinstance<py::int_>(l)) throw py::type_error("layers must be 'all', an int or a sequence of ints");
      spec += (spec.empty() ? "" : ",") + std::to_string(l.cast<int64_t>());
    }
  } else {
    throw py::type_error("layers must be 'all', an int or a sequence of ints");
  }
  return parse_layers(spec, num_hidden_layers);
}

}  // namespace

// mert.Model: mert::Model (mert/mert.h) with numpy in and out and the GIL released while it works.
class Model {
 public:
  Model(const std::string& path, const std::string& dtype, int threads) {
    ModelOptions o;
    o.compute_type = compute_type_from_string(dtype);
    o.threads = set_threads(threads);  // 0 -> the count in effect, which `threads` reports
    py::gil_scoped_release nogil;
    m_ = std::make_unique<mert::Model>(path, o);
  }

  EmbedOptions options(const py::object& layers, const std::string& pool, double chunk_sec, double hop_sec,
                       int batch) const {
    EmbedOptions o;
    o.layers = layers_from(layers, m_->config().num_hidden_layers);
    o.pool = parse_pool(pool);
    o.chunk_sec = chunk_sec;
    o.hop_sec = hop_sec;
    o.batch = batch;
    o.validate(m_->config());
    return o;
  }

  py::array_t<float> embed(const py::object& wave, int64_t sample_rate, const py::object& layers,
                           const std::string& pool, double chunk_sec, double hop_sec, int batch) {
    const std::vector<float> x = waveform_from_numpy(wave);
    if (sample_rate <= 0) throw py::value_error("sample_rate must be positive, got " + std::to_string(sample_rate));
    const EmbedOptions o = options(layers, pool, chunk_sec, hop_sec, batch);
    Embedding e;
    {
      py::gil_scoped_release nogil;
      e = m_->embed(x, sample_rate, o);
    }
    return embedding_to_numpy(e);
  }

  py::array_t<float> embed_file(const std::string& path, const py::object& layers, const std::string& pool,
                                double chunk_sec, double hop_sec, int batch) {
    const EmbedOptions o = options(layers, pool, chunk_sec, hop_sec, batch);
    Embedding e;
    std::string warning;
    {
      py::gil_scoped_release nogil;
      e = m_->embed_file(path, o, &warning);
    }
    if (!warning.empty()) warn(path + ": " + warning);
    return embedding_to_numpy(e);
  }

  py::dict config() const {
    return py::module_::import("json").attr("loads")(m_->config().to_json_string()).cast<py::dict>();
  }
  py::dict preprocessor_config() const {
    return py::module_::import("json").attr("loads")(m_->preprocessor().to_json_string()).cast<py::dict>();
  }
  int64_t sample_rate() const { return m_->sample_rate(); }
  int64_t num_layers() const { return m_->num_layers(); }
  int64_t hidden_size() const { return m_->hidden_size(); }
  std::string dtype() const { return to_string(m_->options().compute_type); }
  int threads() const { return m_->options().threads; }
  std::string path() const { return m_->dir(); }
  std::string repr() const {
    return "mert.Model('" + m_->dir() + "', dtype='" + dtype() + "', threads=" + std::to_string(threads()) + ": " +
           m_->config().to_string() + ")";
  }

 private:
  static py::array_t<float> embedding_to_numpy(const Embedding& e) {
    py::array_t<float> out(std::vector<py::ssize_t>(e.shape.begin(), e.shape.end()));
    std::copy(e.values.begin(), e.values.end(), out.mutable_data());
    return out;
  }
  static void warn(const std::string& text) {
    // -1: the warning filter turned it into an exception (python -W error); raise it.
    if (PyErr_WarnEx(PyExc_UserWarning, text.c_str(), 1) != 0) throw py::error_already_set();
  }

  std::unique_ptr<mert::Model> m_;
};

void bind_model(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<Model>(m, "Model", R"doc(
A MERT model loaded from a Hugging Face-layout directory (config.json, preprocessor_config.json,
model.safetensors or pytorch_model.bin), e.g. a released MERT-v1-95M download or a `mert export`.

dtype: "fp32", "bf16" (about 2x faster where the CPU has avx512_bf16/AMX; hidden states within
cosine 0.999 of fp32) or "int8" (bf16 with dynamic int8 Linear layers). Outputs are float32.
threads: libtorch's intra-op threads for this model's calls (0 = one per core); each call sets
it for the calling thread, as torch.set_num_threads would.)doc")
      .def(py::init<const std::string&, const std::string&, int>(), "path"_a, "dtype"_a = "fp32", "threads"_a = 0)
      .def("embed", &Model::embed, "wave"_a, "sample_rate"_a, py::kw_only(), "layers"_a = "all", "pool"_a = "mean",
           "chunk_sec"_a = 30.0, "hop_sec"_a = 0.0, "batch"_a = 1, R"doc(
Embeds a mono waveform (1-D float32/float64 numpy array, samples in [-1, 1]) recorded at
sample_rate; it is resampled to the model's rate as `mert embed` resamples files.

layers: "all", an int, a list of ints or "0,6,12" (0 is the conv front end's projection).
pool: "mean" -> [layers, hidden]; "none" -> [layers, frames, hidden] (75 frames/s for MERT);
      "chunks" -> [layers, chunks, hidden] (one mean per chunk).
chunk_sec: the model runs on chunks of this length (0 = the whole input at once, exactly as
      Hugging Face does); hop_sec: distance between chunk starts (0 = chunk_sec).
batch: chunks per forward pass.
The same settings give the same numbers as `mert embed`, bit for bit.)doc")
      .def("embed_file", &Model::embed_file, "path"_a, py::kw_only(), "layers"_a = "all", "pool"_a = "mean",
           "chunk_sec"_a = 30.0, "hop_sec"_a = 0.0, "batch"_a = 1,
           "Decodes an audio file (WAV, FLAC, Ogg, MP3, AIFF...) as `mert embed` does and embeds it. "
           "A file decoded with a caveat (e.g. a small end shortfall) gives a UserWarning.")
      .def_property_readonly("config", &Model::config, "config.json as a dict")
      .def_property_readonly("preprocessor_config", &Model::preprocessor_config, "preprocessor_config.json as a dict")
      .def_property_readonly("sample_rate", &Model::sample_rate)
      .def_property_readonly("num_layers", &Model::num_layers, "hidden states per input: transformer layers + 1")
      .def_property_readonly("hidden_size", &Model::hidden_size)
      .def_property_readonly("dtype", &Model::dtype)
      .def_property_readonly("threads", &Model::threads)
      .def_property_readonly("path", &Model::path)
      .def("__repr__", &Model::repr);
}

}  // namespace mert::python
