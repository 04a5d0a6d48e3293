#include "data/value.h"

#include <array>
#include <cstring>

#include "data/number_format.h"
#include "data/timestamp.h"

namespace kiln::data {

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kBool: return "bool";
    case Type::kInt64: return "int64";
    case Type::kFloat64: return "float64";
    case Type::kString: return "string";
    case Type::kTimestamp: return "timestamp";
  }
  return "unknown";
}

Result<Type> ParseType(std::string_view name) {
  struct Alias {
    std::string_view name;
    Type type;
  };
  static constexpr std::array<Alias, 14> kAliases = {{
      {"bool", Type::kBool},          {"boolean", Type::kBool},
      {"int64", Type::kInt64},        {"int", Type::kInt64},
      {"integer", Type::kInt64},      {"long", Type::kInt64},
      {"float64", Type::kFloat64},    {"float", Type::kFloat64},
      {"double", Type::kFloat64},     {"string", Type::kString},
      {"str", Type::kString},         {"text", Type::kString},
      {"timestamp", Type::kTimestamp}, {"datetime", Type::kTimestamp},
  }};
  for (const Alias& alias : kAliases) {
    if (alias.name == name) return alias.type;
  }
  return InvalidArgument("unknown type '" + std::string(name) +
                         "' (expected one of bool, int64, float64, string, timestamp)");
}

bool IsNumeric(Type type) { return type == Type::kInt64 || type == Type::kFloat64; }

bool Value::BitwiseEquals(const Value& other) const {
  if (type != other.type || null != other.null) return false;
  if (null) return true;
  switch (type) {
    case Type::kBool:
    case Type::kInt64:
    case Type::kTimestamp:
      return i == other.i;
    case Type::kFloat64:
      return std::memcmp(&f, &other.f, sizeof(double)) == 0;
    case Type::kString:
      return s == other.s;
  }
  return false;
}

std::string Value::ToString() const {
  if (null) return "null";
  switch (type) {
    case Type::kBool: return i != 0 ? "true" : "false";
    case Type::kInt64: return std::to_string(i);
    case Type::kFloat64: return FormatDouble(f);
    case Type::kString: return s;
    case Type::kTimestamp: return FormatTimestamp(i);
  }
  return "null";
}

}  // namespace kiln::data
