#pragma once
// Text annotation files the metrics read (.beats, .lab): lines with their numbers, blank lines
// and '#' comments skipped (as mir_eval.io reads them), and times parsed as finite numbers.
#include <cstddef>
#include <string>
#include <vector>

namespace mert::metrics::detail {

struct AnnotationLine {
  size_t number = 0;                // 1-based
  std::vector<std::string> fields;  // split at runs of white space, at most `max_fields`
};
// The non-blank lines of `path` that do not start with '#' (after leading white space; CRLF
// accepted). With max_fields > 0 the last field keeps the rest of the line (inner white space
// included, trailing removed), as mir_eval's load_delimited splits. Throws mert::Error naming the
// file when it is missing or unreadable.
std::vector<AnnotationLine> read_annotation_lines(const std::string& path, size_t max_fields = 0);

// A time in seconds: the whole field must be a finite number. Throws mert::Error naming `where`.
double parse_time(const std::string& field, const std::string& where);

}  // namespace mert::metrics::detail
