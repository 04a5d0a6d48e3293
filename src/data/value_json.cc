#include "data/value_json.h"

#include <cmath>
#include <limits>

#include "data/timestamp.h"

namespace kiln::data {
namespace {

std::string Describe(const Json& json) {
  std::string text = json.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

Status Expected(const std::string& where, std::string_view what, const Json& got) {
  return InvalidArgument(where + ": expected " + std::string(what) + ", got " + Describe(got));
}

}  // namespace

Result<Value> ValueFromJson(const Json& json, Type type, const std::string& where) {
  if (json.is_null()) return Value::Null(type);
  switch (type) {
    case Type::kBool:
      if (!json.is_boolean()) return Expected(where, "true or false", json);
      return Value::Bool(json.get<bool>());
    case Type::kInt64:
      if (json.is_number_integer()) {
        if (json.is_number_unsigned() &&
            json.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Expected(where, "an int64", json);
        }
        return Value::Int(json.get<int64_t>());
      }
      if (json.is_number_float()) {
        double value = json.get<double>();
        if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 9.2e18) {
          return Value::Int(static_cast<int64_t>(value));
        }
      }
      return Expected(where, "an int64", json);
    case Type::kFloat64:
      if (json.is_number()) return Value::Float(json.get<double>());
      if (json.is_string()) {
        const std::string& text = json.get_ref<const std::string&>();
        if (text == "NaN") return Value::Float(std::numeric_limits<double>::quiet_NaN());
        if (text == "Infinity") return Value::Float(std::numeric_limits<double>::infinity());
        if (text == "-Infinity") return Value::Float(-std::numeric_limits<double>::infinity());
      }
      return Expected(where, "a number", json);
    case Type::kString:
      if (!json.is_string()) return Expected(where, "a string", json);
      return Value::String(json.get<std::string>());
    case Type::kTimestamp: {
      if (json.is_number()) {
        double seconds = json.get<double>();
        if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e12) {
          return Expected(where, "a timestamp", json);
        }
        return Value::Timestamp(static_cast<int64_t>(std::llround(seconds * 1e6)));
      }
      if (!json.is_string()) return Expected(where, "an ISO 8601 timestamp or epoch seconds", json);
      auto micros = ParseTimestamp(json.get_ref<const std::string&>(), TimeZone::Utc());
      if (!micros.ok()) return InvalidArgument(where + ": " + micros.status().message());
      return Value::Timestamp(*micros);
    }
  }
  return Internal("unknown type");
}

Json ValueToJson(const Value& value) {
  if (value.null) return nullptr;
  switch (value.type) {
    case Type::kBool: return value.i != 0;
    case Type::kInt64: return value.i;
    case Type::kFloat64: return JsonDouble(value.f);
    case Type::kString: return value.s;
    case Type::kTimestamp: return FormatTimestamp(value.i);
  }
  return nullptr;
}

}  // namespace kiln::data
