#include "metrics/annotation_file.h"

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "mert/error.h"

namespace mert::metrics::detail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

}  // namespace

std::vector<AnnotationLine> read_annotation_lines(const std::string& path, size_t max_fields) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path);
  std::vector<AnnotationLine> out;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    size_t end = line.size();
    while (end > 0 && is_space(line[end - 1])) --end;
    size_t pos = 0;
    while (pos < end && is_space(line[pos])) ++pos;
    if (pos == end || line[pos] == '#') continue;
    AnnotationLine a;
    a.number = number;
    while (pos < end) {
      if (max_fields > 0 && a.fields.size() + 1 == max_fields) {
        a.fields.push_back(line.substr(pos, end - pos));
        break;
      }
      size_t stop = pos;
      while (stop < end && !is_space(line[stop])) ++stop;
      a.fields.push_back(line.substr(pos, stop - pos));
      pos = stop;
      while (pos < end && is_space(line[pos])) ++pos;
    }
    out.push_back(std::move(a));
  }
  if (in.bad()) throw Error("cannot read " + path);
  return out;
}

double parse_time(const std::string& field, const std::string& where) {
  const char* s = field.c_str();
  char* stop = nullptr;
  const double v = std::strtod(s, &stop);
  if (field.empty() || stop != s + field.size() || !std::isfinite(v))
    throw Error(where + ": '" + field + "' is not a time in seconds (a finite number)");
  return v;
}

}  // namespace mert::metrics::detail
