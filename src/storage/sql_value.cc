#include "storage/sql_value.h"

#include <cstdio>
#include <cstdlib>

namespace kiln::storage {

int64_t Row::Int(size_t i) const {
  const SqlValue& v = values_[i];
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  if (auto p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::strtoll(p->c_str(), nullptr, 10);
  return 0;
}

double Row::Double(size_t i) const {
  const SqlValue& v = values_[i];
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::strtod(p->c_str(), nullptr);
  return 0.0;
}

std::string Row::String(size_t i) const {
  const SqlValue& v = values_[i];
  if (auto p = std::get_if<std::string>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto p = std::get_if<double>(&v)) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", *p);
    return buffer;
  }
  return "";
}

}  // namespace kiln::storage
