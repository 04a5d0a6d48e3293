#include "common/json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace kiln {

Result<Json> ParseJsonObject(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Json::object();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // Re-parse with exceptions only on the error path to obtain the position.
    try {
      Json ignored = Json::parse(text);
      (void)ignored;
    } catch (const Json::parse_error& error) {
      return InvalidArgument("malformed JSON at byte " + std::to_string(error.byte) + ": " +
                             std::string(error.what()).substr(std::string(error.what()).find(':') + 2));
    } catch (...) {
    }
    return InvalidArgument("malformed JSON");
  }
  if (!parsed.is_object()) return InvalidArgument("malformed JSON: expected a JSON object");
  return parsed;
}

Json JsonDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

Status MissingParameter(std::string_view name) {
  return InvalidArgument("Missing value for required parameter '" + std::string(name) +
                         "'. See the API docs for more information about request parameters.");
}

Status InvalidParameter(std::string_view name, const Json& value, std::string_view expected) {
  std::string shown = value.dump();
  if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
  return InvalidArgument("Invalid value " + shown + " for parameter '" + std::string(name) +
                         "' supplied: expected " + std::string(expected));
}

bool JsonFields::Has(std::string_view name) const { return Get(name) != nullptr; }

const Json* JsonFields::Get(std::string_view name) const {
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> JsonFields::OptionalString(std::string_view name) const {
  const Json* value = Get(name);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return InvalidParameter(name, *value, "a string");
  return std::optional<std::string>(value->get<std::string>());
}

Result<std::string> JsonFields::RequiredString(std::string_view name) const {
  KILN_ASSIGN_OR_RETURN(auto value, OptionalString(name));
  if (!value) return MissingParameter(name);
  return *value;
}

Result<std::optional<int64_t>> JsonFields::OptionalInt64(std::string_view name) const {
  const Json* value = Get(name);
  if (value == nullptr) return std::optional<int64_t>();
  if (value->is_number_integer()) return std::optional<int64_t>(value->get<int64_t>());
  if (value->is_number_float()) {
    double d = value->get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  if (value->is_string()) {
    const std::string& s = value->get_ref<const std::string&>();
    if (!s.empty()) {
      errno = 0;
      char* end = nullptr;
      long long parsed = std::strtoll(s.c_str(), &end, 10);
      if (errno == 0 && end == s.c_str() + s.size()) return std::optional<int64_t>(parsed);
    }
  }
  return InvalidParameter(name, *value, "an integer");
}

Result<int64_t> JsonFields::RequiredInt64(std::string_view name) const {
  KILN_ASSIGN_OR_RETURN(auto value, OptionalInt64(name));
  if (!value) return MissingParameter(name);
  return *value;
}

Result<std::optional<double>> JsonFields::OptionalDouble(std::string_view name) const {
  const Json* value = Get(name);
  if (value == nullptr) return std::optional<double>();
  if (value->is_number()) return std::optional<double>(value->get<double>());
  if (value->is_string()) {
    const std::string& s = value->get_ref<const std::string&>();
    if (s == "NaN") return std::optional<double>(std::numeric_limits<double>::quiet_NaN());
    if (s == "Infinity") return std::optional<double>(std::numeric_limits<double>::infinity());
    if (s == "-Infinity") return std::optional<double>(-std::numeric_limits<double>::infinity());
    if (!s.empty()) {
      char* end = nullptr;
      double parsed = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size()) return std::optional<double>(parsed);
    }
  }
  return InvalidParameter(name, *value, "a number");
}

Result<double> JsonFields::RequiredDouble(std::string_view name) const {
  KILN_ASSIGN_OR_RETURN(auto value, OptionalDouble(name));
  if (!value) return MissingParameter(name);
  return *value;
}

Result<std::optional<bool>> JsonFields::OptionalBool(std::string_view name) const {
  const Json* value = Get(name);
  if (value == nullptr) return std::optional<bool>();
  if (value->is_boolean()) return std::optional<bool>(value->get<bool>());
  if (value->is_string()) {
    const std::string& s = value->get_ref<const std::string&>();
    if (s == "true") return std::optional<bool>(true);
    if (s == "false") return std::optional<bool>(false);
  }
  return InvalidParameter(name, *value, "a boolean");
}

Result<std::vector<Json>> JsonFields::OptionalArray(std::string_view name) const {
  const Json* value = Get(name);
  if (value == nullptr) return std::vector<Json>();
  if (!value->is_array()) return InvalidParameter(name, *value, "an array");
  return value->get<std::vector<Json>>();
}

Result<std::vector<std::string>> JsonFields::OptionalStringArray(std::string_view name) const {
  KILN_ASSIGN_OR_RETURN(auto items, OptionalArray(name));
  std::vector<std::string> out;
  out.reserve(items.size());
  for (const Json& item : items) {
    if (!item.is_string()) return InvalidParameter(name, item, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace kiln
