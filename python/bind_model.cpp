// mert.Model: a loaded model directory and the embedding calls on it.
#include "bind_model.h"

#include <pybind11/stl.h>

#include <mutex>
#include <string>
#include <vector>

#include "mert/audio.h"
#include "mert/embed.h"
#include "mert/error.h"
#include "mert/model_dir.h"
#include "mert/system_info.h"
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

class Model {
 public:
  Model(const std::string& path, const std::string& dtype, int threads) {
    threads_ = set_threads(threads);
    py::gil_scoped_release nogil;
    m_ = load_model_dir(path, dtype);
    dtype_ = dtype;
  }

  EmbedOptions options(const py::object& layers, const std::string& pool, double chunk_sec, double hop_sec,
                       int batch) const {
    EmbedOptions o;
    o.layers = layers_from(layers, m_.config.num_hidden_layers);
    o.pool = parse_pool(pool);
    o.chunk_sec = chunk_sec;
    o.hop_sec = hop_sec;
    o.batch = batch;
    o.validate(m_.config);
    return o;
  }

  py::array_t<float> embed(const py::object& wave, int64_t sample_rate, const py::object& layers,
                           const std::string& pool, double chunk_sec, double hop_sec, int batch) {
    std::vector<float> x = waveform_from_numpy(wave);
    if (sample_rate <= 0) throw py::value_error("sample_rate must be positive, got " + std::to_string(sample_rate));
    const EmbedOptions o = options(layers, pool, chunk_sec, hop_sec, batch);
    at::Tensor out;
    {
      py::gil_scoped_release nogil;
      if (sample_rate != m_.config.sample_rate) x = resample(x, sample_rate, m_.config.sample_rate);
      out = run(std::move(x), o);
    }
    return tensor_to_numpy(out);
  }

  py::array_t<float> embed_file(const std::string& path, const py::object& layers, const std::string& pool,
                                double chunk_sec, double hop_sec, int batch) {
    const EmbedOptions o = options(layers, pool, chunk_sec, hop_sec, batch);
    Audio a;
    at::Tensor out;
    {
      py::gil_scoped_release nogil;
      a = decode_audio(path, m_.config.sample_rate);
      out = run(std::move(a.samples), o);
    }
    if (!a.warning.empty()) warn(path + ": " + a.warning);
    return tensor_to_numpy(out);
  }

  py::dict config() const {
    return py::module_::import("json").attr("loads")(m_.config.to_json_string()).cast<py::dict>();
  }
  py::dict preprocessor_config() const {
    return py::module_::import("json").attr("loads")(m_.preprocessor.to_json_string()).cast<py::dict>();
  }
  int64_t sample_rate() const { return m_.config.sample_rate; }
  int64_t num_layers() const { return m_.config.num_hidden_layers + 1; }
  int64_t hidden_size() const { return m_.config.hidden_size; }
  std::string dtype() const { return dtype_; }
  int threads() const { return threads_; }
  std::string path() const { return m_.dir; }
  std::string repr() const {
    return "mert.Model('" + m_.dir + "', dtype='" + dtype_ + "', threads=" + std::to_string(threads_) + ": " +
           m_.config.to_string() + ")";
  }

 private:
  // One forward at a time per model (the positional conv keeps a lazily built weight, and
  // libtorch modules are not made for concurrent calls); separate models run in parallel.
  at::Tensor run(std::vector<float> wave, const EmbedOptions& o) {
    std::lock_guard<std::mutex> g(mu_);
    // With OpenMP the thread count belongs to the calling thread: set it for each call, which
    // may come from any Python thread.
    set_threads(threads_);
    return embed_waveform(*m_.model, m_.preprocessor, std::move(wave), o);
  }
  static void warn(const std::string& text) {
    // -1: the warning filter turned it into an exception (python -W error); raise it.
    if (PyErr_WarnEx(PyExc_UserWarning, text.c_str(), 1) != 0) throw py::error_already_set();
  }

  LoadedModel m_;
  std::string dtype_;
  int threads_ = 0;
  std::mutex mu_;
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
