#include "cli/json_view.h"

#include <cstdlib>
#include <iostream>
#include <limits>

namespace kiln::cli {

std::string Str(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int64_t Int(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number()) return it->get<int64_t>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

double Number(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::numeric_limits<double>::quiet_NaN();
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    return std::strtod(s.c_str(), nullptr);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

const Json& Array(const Json& object, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return kEmpty;
  return *it;
}

void PrintJson(const Json& value) { std::cout << value.dump(2) << "\n"; }

}  // namespace kiln::cli
