#pragma once
// Atomic file replacement: readers of `path` see either the old file or the complete new one,
// never a half-written file (a crash or a full disk mid-write leaves the old file in place).
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>

namespace mert::io {

// Calls `writer` with a FILE* open on `<path>.tmp.<pid>`, then flushes, fsyncs, renames the
// temp file over `path` and fsyncs the directory (so the rename itself survives a crash).
// If `writer` throws or any step fails, the temp file is removed and mert::Error (naming the
// path and strerror) is thrown; `path` is left untouched.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& writer);

// The whole of `text` as the file's new contents, atomically as above.
void write_text_atomic(const std::string& path, const std::string& text);

// fwrite that throws mert::Error (naming `path`) on a short write, for use inside `writer`.
void write_all(std::FILE* f, const void* data, std::size_t size, const std::string& path);

}  // namespace mert::io
