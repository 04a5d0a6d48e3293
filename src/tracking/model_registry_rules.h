#pragma once
// The model registry's input rules, as MLflow states them: stage names, model
// names, version numbers, alias names, tag keys and values, model version
// sources, and the models:/ URI grammar. Pure functions; thread-safe.
//
// Error messages follow MLflow's wording so MLflow clients and users see what
// they would see against an MLflow server.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::tracking {

// Deprecated lifecycle stages (MLflow's); aliases replace them.
inline constexpr std::string_view kStageNone = "None";
inline constexpr std::string_view kStageStaging = "Staging";
inline constexpr std::string_view kStageProduction = "Production";
inline constexpr std::string_view kStageArchived = "Archived";

// MLflow's limits.
inline constexpr size_t kMaxRegistryTagKeyLength = 250;
inline constexpr size_t kMaxRegistryTagValueLength = 5000;
inline constexpr size_t kMaxAliasLength = 255;

// None, Staging, Production, Archived.
const std::vector<std::string>& AllStages();

// The canonical spelling of a stage, matched case-insensitively
// ("production" -> "Production"). Errors: kInvalidArgument
// "Invalid Model Version stage: foo. Value must be one of None, Staging, Production, Archived."
Result<std::string> CanonicalStage(std::string_view stage);

// A registered model name must be non-empty. `parameter` names the request
// field in the message ("name" or "new_name").
Status ValidateModelName(std::string_view name, std::string_view parameter = "name");

// Parses a version number as MLflow's API carries it (a decimal string).
// Errors: kInvalidArgument "Parameter 'version' must be an integer, got 'abc'."
Result<int64_t> ParseModelVersionNumber(std::string_view version);

// Alias names: ASCII letters, digits, '_' and '-', at most 255 characters,
// not "latest" (any case) and not "v<digits>" / "V<digits>" (reserved for
// version references). Errors: kInvalidArgument with MLflow's messages.
Status ValidateAliasName(std::string_view alias);

// Tag keys follow the run tag key rules (tracking_validation.h ValidateKey:
// letters, digits, '_', '-', '.', ' ', ':', '/', no path that resolves to
// another name, at most 250 characters); values at most 5000 characters.
Status ValidateRegistryTag(std::string_view key, std::string_view value);

// A model version source must not smuggle relative path references
// ("..", also percent-encoded) into the artifact store. Errors:
// kInvalidArgument "Invalid model version source: '...'. ...".
Status ValidateSourceHasNoRelativePaths(std::string_view source);

// True when `uri` names a local file (no scheme, or file:).
bool IsLocalSource(std::string_view uri);

// A parsed models:/ URI.
struct ModelUri {
  enum class Kind { kVersion, kAlias, kLatest, kStage };
  Kind kind = Kind::kVersion;
  std::string name;
  int64_t version = 0;  // kVersion
  std::string alias;    // kAlias
  std::string stage;    // kStage, canonical spelling
};

// Parses models:/<name>/<version>, models:/<name>@<alias>,
// models:/<name>/latest and models:/<name>/<stage>. Names may contain '/'
// (the last '/' separates the version) and '@' (the last '@' separates an
// alias). Errors: kInvalidArgument "invalid model URI '...': <which part is
// wrong>. Expected models:/<name>/<version>, ...".
Result<ModelUri> ParseModelUri(std::string_view uri);

}  // namespace kiln::tracking
