#include "args.h"

#include <iostream>
#include <sstream>

#include "mert/error.h"

namespace mert::cli {

Args::Args(std::string command, std::string usage, std::string description)
    : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {}

void Args::option(const std::string& name, const std::string& short_name, const std::string& help,
                  const std::string& default_value) {
  Opt o;
  o.short_name = short_name;
  o.help = help;
  o.value = default_value;
  o.has_default = !default_value.empty();
  opts_[name] = o;
  order_.push_back(name);
}

void Args::flag(const std::string& name, const std::string& help) {
  Opt o;
  o.help = help;
  o.is_flag = true;
  opts_[name] = o;
  order_.push_back(name);
}

bool Args::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << help();
      return false;
    }
    if (a == "--") {
      for (++i; i < argc; ++i) positionals_.push_back(argv[i]);
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name, value;
      bool has_value = false;
      if (a.rfind("--", 0) == 0) {
        name = a.substr(2);
        auto eq = name.find('=');
        if (eq != std::string::npos) {
          value = name.substr(eq + 1);
          name = name.substr(0, eq);
          has_value = true;
        }
      } else {
        for (const auto& [n, o] : opts_)
          if (o.short_name == a.substr(1)) name = n;
        if (name.empty()) throw Error("unknown option '" + a + "' (see --help)");
      }
      auto it = opts_.find(name);
      if (it == opts_.end()) throw Error("unknown option '--" + name + "' (see --help)");
      Opt& o = it->second;
      if (o.is_flag) {
        if (has_value) throw Error("--" + name + " takes no value");
        o.set = true;
        continue;
      }
      if (!has_value) {
        if (i + 1 >= argc) throw Error("--" + name + " needs a value");
        value = argv[++i];
      }
      o.value = value;
      o.set = true;
      continue;
    }
    positionals_.push_back(a);
  }
  return true;
}

std::string Args::get(const std::string& name) const { return opts_.at(name).value; }
bool Args::has(const std::string& name) const {
  const auto& o = opts_.at(name);
  return o.set || o.has_default;
}
bool Args::given(const std::string& name) const { return opts_.at(name).set; }
bool Args::flag_set(const std::string& name) const { return opts_.at(name).set; }

int Args::get_int(const std::string& name) const {
  const std::string v = get(name);
  size_t pos = 0;
  long long r = 0;
  try {
    r = std::stoll(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty()) throw Error("--" + name + " expects an integer, got '" + v + "'");
  return static_cast<int>(r);
}

double Args::get_double(const std::string& name) const {
  const std::string v = get(name);
  size_t pos = 0;
  double r = 0;
  try {
    r = std::stod(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty()) throw Error("--" + name + " expects a number, got '" + v + "'");
  return r;
}

std::string Args::help() const {
  std::ostringstream os;
  os << "usage: mert " << command_ << " " << usage_ << "\n\n" << description_ << "\n\noptions:\n";
  for (const auto& name : order_) {
    const Opt& o = opts_.at(name);
    std::string left = "  " + (o.short_name.empty() ? std::string("    ") : "-" + o.short_name + ", ") + "--" + name +
                       (o.is_flag ? "" : " <value>");
    os << left;
    if (left.size() < 30) os << std::string(30 - left.size(), ' ');
    else os << "\n" << std::string(30, ' ');
    os << o.help;
    if (o.has_default) os << " (default: " << o.value << ")";
    if (o.is_flag) os << " (default: off)";
    os << "\n";
  }
  os << "  -h, --help                  show this help\n";
  return os.str();
}

std::vector<std::string> split_commas(const std::string& s, const std::string& what) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) throw Error(what + ": empty list '" + s + "'");
  return out;
}

}  // namespace mert::cli
