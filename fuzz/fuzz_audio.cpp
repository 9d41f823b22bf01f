// Audio decoding (libsndfile, libmpg123, libsoxr behind mert's length policy): the first byte
// picks the extension, the rest is the file.
#include <c10/util/Exception.h>

#include "fuzz_util.h"
#include "mert/audio.h"
#include "mert/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kExt[] = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".wav", ".mp3", ".wav"};
  const std::string path = mert::fuzz::write_input(std::string("in") + kExt[data[0] & 7], data + 1, size - 1);
  try {
    mert::Audio a = mert::decode_audio(path, 24000);
    (void)a;
  } catch (const mert::Error&) {
  }
  return 0;
}
