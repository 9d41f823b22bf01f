// Writing audio with libsndfile: encoded in memory (virtual I/O), then written atomically, so a
// reader never sees a half-written file and a failure leaves no temp file behind.
#include "audio/sndfile_writer.h"

#include <sndfile.h>

#include <algorithm>
#include <cstring>

#include "io/atomic_file.h"
#include "mert/error.h"

namespace mert {
namespace {

struct MemFile {
  std::vector<char> data;
  sf_count_t pos = 0;
};

sf_count_t mem_len(void* u) { return static_cast<sf_count_t>(static_cast<MemFile*>(u)->data.size()); }
sf_count_t mem_seek(sf_count_t off, int whence, void* u) {
  auto* m = static_cast<MemFile*>(u);
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : static_cast<sf_count_t>(m->data.size());
  m->pos = std::max<sf_count_t>(0, base + off);
  return m->pos;
}
sf_count_t mem_read(void* ptr, sf_count_t n, void* u) {
  auto* m = static_cast<MemFile*>(u);
  const sf_count_t avail = std::max<sf_count_t>(0, static_cast<sf_count_t>(m->data.size()) - m->pos);
  n = std::min(n, avail);
  if (n > 0) std::memcpy(ptr, m->data.data() + m->pos, static_cast<size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t mem_write(const void* ptr, sf_count_t n, void* u) {
  auto* m = static_cast<MemFile*>(u);
  if (m->pos + n > static_cast<sf_count_t>(m->data.size())) m->data.resize(static_cast<size_t>(m->pos + n));
  std::memcpy(m->data.data() + m->pos, ptr, static_cast<size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t mem_tell(void* u) { return static_cast<MemFile*>(u)->pos; }

}  // namespace

void write_audio(const std::string& path, const std::vector<float>& samples, int64_t sample_rate, int format,
                 bool clip) {
  MemFile mem;
  SF_VIRTUAL_IO vio{mem_len, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  info.samplerate = static_cast<int>(sample_rate);
  info.channels = 1;
  info.format = format;
  if (!sf_format_check(&info)) throw Error(path + ": unsupported output format");
  SNDFILE* sf = sf_open_virtual(&vio, SFM_WRITE, &info, &mem);
  if (!sf) throw Error(path + ": cannot encode audio: " + sf_strerror(nullptr));
  if (clip) sf_command(sf, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  const sf_count_t n = static_cast<sf_count_t>(samples.size());
  const sf_count_t w = sf_writef_float(sf, samples.data(), n);
  const std::string err = sf_strerror(sf);
  sf_close(sf);
  if (w != n) throw Error(path + ": audio encoding failed: " + err);
  io::write_file_atomic(path, [&](std::FILE* f) { io::write_all(f, mem.data.data(), mem.data.size(), path); });
}

}  // namespace mert
