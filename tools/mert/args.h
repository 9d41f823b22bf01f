#pragma once
// Minimal command-line parsing shared by the subcommands: declared options with help text,
// `--name value` / `--name=value` / short aliases, flags, positionals, and `--help`.
#include <map>
#include <string>
#include <vector>

namespace mert::cli {

// "a,b,c" -> {"a", "b", "c"}; empty items are dropped. Throws mert::Error naming `what` when
// nothing is left.
std::vector<std::string> split_commas(const std::string& s, const std::string& what);

class Args {
 public:
  Args(std::string command, std::string usage, std::string description);
  // Declares an option taking a value. `short_name` may be empty.
  void option(const std::string& name, const std::string& short_name, const std::string& help,
              const std::string& default_value = "");
  void flag(const std::string& name, const std::string& help);
  // Parses argv after the subcommand. Returns false if --help was printed.
  // Throws mert::Error on unknown options or missing values.
  bool parse(int argc, char** argv);

  std::string get(const std::string& name) const;
  bool has(const std::string& name) const;  // given on the command line (or has a default)
  bool given(const std::string& name) const;  // given on the command line
  bool declares(const std::string& name) const { return opts_.count(name) > 0; }
  bool flag_set(const std::string& name) const;
  int get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  std::string help() const;

 private:
  struct Opt {
    std::string short_name, help, value;
    bool is_flag = false, set = false, has_default = false;
  };
  std::string command_, usage_, description_;
  std::map<std::string, Opt> opts_;
  std::vector<std::string> order_;
  std::vector<std::string> positionals_;
};

}  // namespace mert::cli
