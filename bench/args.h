#pragma once
// Command-line options of the form `SUBCOMMAND --name value ... --flag`, for
// the two benchmark tools. Unknown or malformed options are reported by
// Check(); a tool prints the message and exits 2.

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace kiln_bench {

class Args {
 public:
  Args(int argc, char** argv) {
    if (argc > 1) command_ = argv[1];
    for (int i = 2; i < argc; ++i) {
      std::string name = argv[i];
      if (name.rfind("--", 0) != 0) {
        error_ = "unexpected argument '" + name + "'";
        return;
      }
      name = name.substr(2);
      if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        values_[name] = argv[++i];
      } else {
        values_[name] = "";  // a flag
      }
    }
  }

  const std::string& command() const { return command_; }

  std::string String(const std::string& name, const std::string& fallback) {
    used_.insert(name);
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  int64_t Int(const std::string& name, int64_t fallback) {
    std::string text = String(name, "");
    if (text.empty()) return fallback;
    try {
      return std::stoll(text);
    } catch (...) {
      error_ = "--" + name + " needs an integer, got '" + text + "'";
      return fallback;
    }
  }
  double Double(const std::string& name, double fallback) {
    std::string text = String(name, "");
    if (text.empty()) return fallback;
    try {
      return std::stod(text);
    } catch (...) {
      error_ = "--" + name + " needs a number, got '" + text + "'";
      return fallback;
    }
  }
  bool Flag(const std::string& name) {
    used_.insert(name);
    return values_.count(name) > 0;
  }

  // REQUIRES: every option has been read. "" when all were understood.
  std::string Check() const {
    if (!error_.empty()) return error_;
    for (const auto& [name, value] : values_) {
      if (!used_.count(name)) return "unknown option --" + name + " for '" + command_ + "'";
    }
    return "";
  }

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
  std::string error_;
};

}  // namespace kiln_bench
