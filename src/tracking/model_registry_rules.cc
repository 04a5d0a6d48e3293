#include "tracking/model_registry_rules.h"

#include <cctype>
#include <charconv>

#include "common/json.h"
#include "tracking/tracking_validation.h"

namespace kiln::tracking {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsAsciiWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One round of form-style percent decoding ('+' is a space), as Python's
// urllib.parse.unquote_plus does.
std::string UnquotePlus(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Splits "scheme:rest" when `uri` starts with a URI scheme.
bool SplitScheme(std::string_view uri, std::string_view* scheme, std::string_view* rest) {
  if (uri.empty() || !std::isalpha(static_cast<unsigned char>(uri[0]))) return false;
  for (size_t i = 1; i < uri.size(); ++i) {
    char c = uri[i];
    if (c == ':') {
      *scheme = uri.substr(0, i);
      *rest = uri.substr(i + 1);
      return true;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

// The path component of a URI (or the whole text when it has no scheme),
// without authority, query or fragment.
std::string_view UriPath(std::string_view uri, std::string_view* authority) {
  std::string_view scheme, rest = uri;
  if (!SplitScheme(uri, &scheme, &rest)) rest = uri;
  *authority = {};
  if (rest.substr(0, 2) == "//") {
    size_t end = rest.find_first_of("/?#", 2);
    if (end == std::string_view::npos) end = rest.size();
    *authority = rest.substr(2, end - 2);
    rest = rest.substr(end);
  }
  size_t end = rest.find_first_of("?#");
  return end == std::string_view::npos ? rest : rest.substr(0, end);
}

Status BadModelUri(std::string_view uri, std::string_view detail) {
  return InvalidArgument("invalid model URI '" + std::string(uri) + "': " + std::string(detail) +
                         "; expected models:/<name>/<version>, models:/<name>@<alias>, "
                         "models:/<name>/latest or models:/<name>/<stage>");
}

}  // namespace

const std::vector<std::string>& AllStages() {
  static const std::vector<std::string> kStages = {std::string(kStageNone), std::string(kStageStaging),
                                                   std::string(kStageProduction), std::string(kStageArchived)};
  return kStages;
}

Result<std::string> CanonicalStage(std::string_view stage) {
  std::string key = Lower(stage);
  for (const std::string& canonical : AllStages()) {
    if (Lower(canonical) == key) return canonical;
  }
  return InvalidArgument("Invalid Model Version stage: " + std::string(stage) +
                         ". Value must be one of None, Staging, Production, Archived.");
}

Status ValidateModelName(std::string_view name, std::string_view parameter) {
  if (name.empty()) return MissingParameter(parameter);
  return Status::Ok();
}

Result<int64_t> ParseModelVersionNumber(std::string_view version) {
  std::string_view digits = version;
  // Python's int() accepts surrounding whitespace and a sign.
  while (!digits.empty() && std::isspace(static_cast<unsigned char>(digits.front()))) digits.remove_prefix(1);
  while (!digits.empty() && std::isspace(static_cast<unsigned char>(digits.back()))) digits.remove_suffix(1);
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return InvalidArgument("Parameter 'version' must be an integer, got '" + std::string(version) + "'.");
  }
  return value;
}

Status ValidateAliasName(std::string_view alias) {
  if (alias.empty()) return InvalidArgument("Registered model alias name cannot be empty.");
  for (char c : alias) {
    if (!IsAsciiWordChar(c) && c != '-') {
      return InvalidArgument("Invalid alias name: '" + std::string(alias) +
                             "'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
    }
  }
  if (CharacterCount(alias) > kMaxAliasLength) {
    return InvalidArgument("'Registered model alias name' exceeds the maximum length of " +
                           std::to_string(kMaxAliasLength) + " characters");
  }
  if (Lower(alias) == "latest") {
    return InvalidArgument("'latest' alias name (case insensitive) is reserved.");
  }
  if ((alias[0] == 'v' || alias[0] == 'V') && AllDigits(alias.substr(1))) {
    return InvalidArgument("Version alias name '" + std::string(alias) + "' is reserved.");
  }
  return Status::Ok();
}

Status ValidateRegistryTag(std::string_view key, std::string_view value) {
  KILN_RETURN_IF_ERROR(ValidateKey("key", key));
  return ValidateLength("value", value, kMaxRegistryTagValueLength);
}

Status ValidateSourceHasNoRelativePaths(std::string_view source) {
  Status invalid = InvalidArgument(
      "Invalid model version source: '" + std::string(source) +
      "'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts "
      "uri, an absolute path must be provided without relative path references present. Please provide an "
      "absolute path.");
  std::string decoded(source);
  for (int round = 0; round < 16; ++round) {
    std::string next = UnquotePlus(decoded);
    if (next == decoded) break;
    decoded = std::move(next);
  }
  std::string_view authority;
  std::string_view path = UriPath(decoded, &authority);
  if (path.find('\0') != std::string_view::npos) return invalid;
  if (!path.empty() && path.front() != '/') return invalid;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(start, slash - start);
    if (segment == "." || segment == "..") return invalid;
    start = slash + 1;
  }
  return Status::Ok();
}

bool IsLocalSource(std::string_view uri) {
  std::string_view scheme, rest;
  if (!SplitScheme(uri, &scheme, &rest)) return true;
  if (Lower(scheme) != "file") return false;
  std::string_view authority;
  UriPath(uri, &authority);
  return authority.empty() || authority == "localhost";
}

Result<ModelUri> ParseModelUri(std::string_view uri) {
  std::string_view scheme, rest;
  if (!SplitScheme(uri, &scheme, &rest) || Lower(scheme) != "models") {
    return BadModelUri(uri, "it does not start with 'models:/'");
  }
  if (rest.empty() || rest.front() != '/') return BadModelUri(uri, "'models:' must be followed by '/'");
  rest.remove_prefix(1);
  if (!rest.empty() && rest.front() == '/') {
    return BadModelUri(uri, "a host part (models://host/...) is not supported");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return BadModelUri(uri, "query strings and fragments are not supported");
  }

  ModelUri parsed;
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos && rest.find('/', at) == std::string_view::npos) {
    parsed.kind = ModelUri::Kind::kAlias;
    parsed.name = std::string(rest.substr(0, at));
    parsed.alias = std::string(rest.substr(at + 1));
    if (parsed.name.empty()) return BadModelUri(uri, "the model name before '@' is empty");
    if (parsed.alias.empty()) return BadModelUri(uri, "the alias after '@' is empty");
    Status alias_ok = ValidateAliasName(parsed.alias);
    if (!alias_ok.ok()) return BadModelUri(uri, "bad alias: " + alias_ok.message());
    return parsed;
  }

  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos) {
    if (rest.empty()) return BadModelUri(uri, "the model name is empty");
    return BadModelUri(uri, "no version, stage, 'latest' or @alias follows the model name '" +
                                std::string(rest) + "'");
  }
  parsed.name = std::string(rest.substr(0, slash));
  std::string_view reference = rest.substr(slash + 1);
  if (parsed.name.empty()) return BadModelUri(uri, "the model name is empty");
  if (reference.empty()) return BadModelUri(uri, "the version after '" + parsed.name + "/' is empty");
  if (AllDigits(reference)) {
    auto [end, error] = std::from_chars(reference.data(), reference.data() + reference.size(), parsed.version);
    if (error != std::errc()) {
      return BadModelUri(uri, "the version '" + std::string(reference) + "' is out of range");
    }
    parsed.kind = ModelUri::Kind::kVersion;
    return parsed;
  }
  if (Lower(reference) == "latest") {
    parsed.kind = ModelUri::Kind::kLatest;
    return parsed;
  }
  auto stage = CanonicalStage(reference);
  if (!stage.ok()) {
    return BadModelUri(uri, "'" + std::string(reference) +
                                "' is not a version number, 'latest' or a stage (None, Staging, Production, "
                                "Archived)");
  }
  parsed.kind = ModelUri::Kind::kStage;
  parsed.stage = *stage;
  return parsed;
}

}  // namespace kiln::tracking
