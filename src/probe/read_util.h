#pragma once
// Helpers shared by the dataset readers (src/probe/read_*.cpp): text/CSV/TSV lines with line
// numbers, file-name-safe ids, and DatasetBuilder, which applies the rules every reader promises
// (ids unique, items sorted, labels inside the class set, audio present, every split non-empty).
#include <cstddef>
#include <string>
#include <vector>

#include "probe/probe_dataset.h"

namespace mert::probe::detail {

inline const char* const kSplits[3] = {"train", "valid", "test"};

struct TextLine {
  size_t number = 0;  // 1-based
  std::string text;   // without the line end ('\r' of CRLF files removed)
};
// Every line of a text file (a UTF-8 byte-order mark is dropped). Throws naming the file when it
// is missing or unreadable.
std::vector<TextLine> read_lines(const std::string& path);
std::string trim(const std::string& s);  // ASCII white space at both ends
// The fields of one CSV/TSV line. A field may be double-quoted (then it may hold `sep`, and ""
// stands for one quote); quotes are removed and unquoted fields trimmed.
std::vector<std::string> split_fields(const std::string& line, char sep);
std::string at_line(const std::string& file, size_t line);  // "file:line"

// A CSV/TSV file with a header line. Blank lines are skipped; rows keep their line numbers and
// are padded with empty fields to the header's width.
struct Table {
  std::string file;
  std::vector<std::string> header;
  std::vector<std::pair<size_t, std::vector<std::string>>> rows;
  size_t col(const std::string& name) const;  // throws naming the file when there is no such column
};
Table read_table(const std::string& file, char sep);

bool is_file(const std::string& path);
bool is_dir(const std::string& path);
std::string join(const std::string& dir, const std::string& rel);
// The first candidate that is a regular file, else the first candidate (reported missing later).
std::string first_existing(const std::vector<std::string>& candidates);
// Names of the entries of a directory (sorted), files or directories; hidden names skipped.
std::vector<std::string> list_dir(const std::string& dir, bool directories);
std::string stem(const std::string& file_name);  // "a/b.c.wav" -> "b.c"

// A file-name-safe id: '/' and '\' become "__", anything outside [A-Za-z0-9._+-] becomes '_',
// and a leading '.' becomes '_'.
std::string safe_id(const std::string& s);

// A one-value label file (.key, .bpm): its first non-empty line, trimmed; `line` gets its number.
// Throws naming the file when it is missing or has no such line.
std::string read_label_file(const std::string& path, size_t& line);

// Keys: the 24 classes of mert::metrics::key_index ("C major" .. "B minor", flats as GiantSteps
// writes them) and a key text parsed into one, the error naming `where`.
std::vector<std::string> key_class_names();
int64_t parse_key(const std::string& text, const std::string& where);

// One "probe: note: ..." line on stderr: what a reader skipped or assumed.
void note(const std::string& message);

class DatasetBuilder {
 public:
  // `name` starts every message ("gtzan: ..."); `root` is the directory the user gave.
  DatasetBuilder(std::string name, std::string root, TaskType type, std::vector<std::string> class_names);
  // `origin` says where the item came from ("file:line"), for messages about it.
  void add(ProbeItem item, std::string origin);
  size_t size() const { return items_.size(); }
  const std::string& name() const { return name_; }
  const std::vector<std::string>& class_names() const { return classes_; }
  // Checks and returns the dataset; throws mert::Error for an empty dataset, a duplicate or
  // unsafe id, an unknown split, a label outside the class set (or targets of the wrong size,
  // non-0/1 multi-label targets, non-finite regression targets), missing audio files (naming the
  // first few and the count), or an empty split.
  ProbeDataset finish();

 private:
  std::string name_, root_;
  TaskType type_;
  std::vector<std::string> classes_;
  std::vector<ProbeItem> items_;
  std::vector<std::string> origins_;
};

}  // namespace mert::probe::detail
