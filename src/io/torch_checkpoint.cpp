// torch.save zip archives (torch >= 1.6): `<prefix>/data.pkl` describes the object with tensors
// as persistent ids pointing at `<prefix>/data/<key>` storage entries.
#include <ATen/core/Tensor.h>

#include "io/mapped_file.h"
#include "io/pickle.h"
#include "io/zip_archive.h"
#include "mert/error.h"
#include "io/weights.h"

namespace mert {

TensorMap read_torch_checkpoint(const std::string& path) {
  const auto file = io::MappedFile::open(path);
  auto fail = [&](const std::string& what) { return Error("cannot read torch checkpoint " + path + ": " + what); };
  if (!io::ZipArchive::looks_like_zip(*file)) {
    // Pre-1.6 torch.save (and `_use_new_zipfile_serialization=False`) writes a bare pickle
    // stream starting with PROTO; its storages follow the pickle and need a different reader.
    if (file->data()[0] == 0x80)
      throw fail("legacy (pre-torch-1.6, non-zip) torch.save format is not supported; re-save it with "
                 "torch.save(torch.load(f), f) using torch >= 1.6 defaults, or convert to safetensors");
    throw fail("not a zip archive (expected a torch.save file such as pytorch_model.bin)");
  }
  const io::ZipArchive zip(file);

  // The pickle lives at `<prefix>/data.pkl`, where prefix is the archive name torch chose
  // (the file stem, or "archive"): find it rather than guess.
  std::string prefix;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && slash > 0 && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      if (!prefix.empty()) throw fail("more than one data.pkl in the archive");
      prefix = e.name.substr(0, slash);
    }
  }
  if (prefix.empty()) throw fail("no <name>/data.pkl entry: not a torch.save archive");

  if (const io::ZipEntry* bo = zip.find(prefix + "/byteorder")) {
    const io::ByteView b = zip.data(*bo);
    const std::string order(reinterpret_cast<const char*>(b.data), b.size);
    if (order != "little") throw fail("byteorder is '" + order + "'; only little-endian checkpoints are supported");
  }

  const io::PickleValuePtr root = io::load_torch_pickle(zip, prefix);
  if (root->kind != io::PickleValue::Kind::Dict)
    throw fail("top-level object is a " + root->describe() + ", expected a state dict (dict of name -> tensor)");
  TensorMap out;
  for (const auto& [key, value] : root->dict) {
    if (key->kind != io::PickleValue::Kind::Str) throw fail("state dict has a non-string key (" + key->describe() + ")");
    if (value->kind != io::PickleValue::Kind::Tensor)
      throw fail("state dict entry '" + key->s + "' is a " + value->describe() + ", not a tensor" +
                 (value->kind == io::PickleValue::Kind::Dict ? " (nested checkpoints are not unwrapped; save the state dict itself)" : ""));
    if (!out.emplace(key->s, value->tensor).second) throw fail("duplicate key '" + key->s + "'");
  }
  return out;
}

}  // namespace mert
