#include "common/json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace kiln {

namespace {

bool IsIdentifierCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The bare literals NaN, Infinity and -Infinity outside strings, as Python's
// json module writes them, turned into the protobuf-JSON strings "NaN",
// "Infinity" and "-Infinity". nullopt when the text has none.
std::optional<std::string> QuoteNonFiniteLiterals(std::string_view text) {
  static constexpr std::string_view kLiterals[] = {"-Infinity", "Infinity", "NaN"};
  std::string out;
  bool changed = false;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    if (i == 0 || !IsIdentifierCharacter(text[i - 1])) {
      for (std::string_view literal : kLiterals) {
        size_t end = i + literal.size();
        if (text.substr(i, literal.size()) == literal && (end == text.size() || !IsIdentifierCharacter(text[end]))) {
          out += '"';
          out += literal;
          out += '"';
          i = end - 1;
          replaced = changed = true;
          break;
        }
      }
    }
    if (!replaced) out += c;
  }
  if (!changed) return std::nullopt;
  return out;
}

Status MalformedJson(std::string_view text) {
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

// Parses JSON text, also accepting the non-finite literals Python writes.
Result<Json> ParseLenient(std::string_view text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  if (std::optional<std::string> quoted = QuoteNonFiniteLiterals(text)) {
    parsed = Json::parse(*quoted, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
  }
  return MalformedJson(text);
}

}  // namespace

Result<Json> ParseJsonObject(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Json::object();
  KILN_ASSIGN_OR_RETURN(Json parsed, ParseLenient(text));
  if (parsed.is_string()) {
    // Older MLflow clients send the request JSON encoded a second time, as a
    // JSON string; MLflow's server decodes it again, and so do we.
    KILN_ASSIGN_OR_RETURN(parsed, ParseLenient(parsed.get_ref<const std::string&>()));
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
  if (value->is_number_unsigned()) {
    // Beyond int64 it would wrap around to a negative number.
    if (value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidParameter(name, *value, "a 64-bit integer");
    }
    return std::optional<int64_t>(static_cast<int64_t>(value->get<uint64_t>()));
  }
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
