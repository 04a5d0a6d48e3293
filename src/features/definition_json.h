#pragma once
// RepositoryDef ⇄ canonical JSON: the stored form of a feature repository
// version, the body of the definitions API, and the input of its digest.
// Canonical means the same definitions always give the same bytes: object
// keys sorted, sources/entities/views/services sorted by name (features
// and feature lists keep their order, which is meaningful), defaults
// written out, empty optional fields left out, no locations, no root.
// Stateless; thread-safe. Format: docs/formats/feature-repository.md.

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"
#include "features/definitions.h"

namespace kiln::features {

inline constexpr int kRepositoryFormatVersion = 1;

Json RepositoryToJson(const RepositoryDef& def);
// Single objects, exactly as they appear inside RepositoryToJson.
Json SourceToJson(const SourceDef& source);
Json EntityToJson(const EntityDef& entity);
Json FeatureViewToJson(const FeatureViewDef& view);
Json FeatureToJson(const FeatureDef& feature);
Json OnDemandViewToJson(const OnDemandViewDef& view);
Json FeatureServiceToJson(const FeatureServiceDef& service);
// Compact text of RepositoryToJson (the stored and digested bytes).
std::string CanonicalRepositoryJson(const RepositoryDef& def);
// SHA-256 (lower-case hex) of CanonicalRepositoryJson.
std::string RepositoryDigest(const RepositoryDef& def);

// Reads the JSON form. Unknown keys and wrong value kinds are errors that
// name the path: "definition JSON: feature_views[1].features[0]: unknown key
// 'ttl_hours'"; a format_version other than 1 is refused.
Result<RepositoryDef> RepositoryFromJson(const Json& json);
Result<RepositoryDef> ParseRepositoryJson(std::string_view text);

}  // namespace kiln::features
