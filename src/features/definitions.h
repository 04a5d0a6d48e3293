#pragma once
// The feature repository's object model, as read from YAML (definition_loader.h)
// and stored by the registry (feature_registry.h). Plain structs; the
// validator (repository.h) resolves names and types. Every object keeps the
// file and line it came from for error messages.
// Format: docs/formats/feature-repository.md (format_version 1).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/value.h"

namespace kiln::features {

struct Location {
  std::string file;  // relative to the repository folder
  int line = 0;      // 1-based; 0 when unknown (e.g. definitions from JSON)
  std::string ToString() const;  // "views.yaml:12" (or "" when unknown)
};

enum class SourceKind { kCsv, kJsonLines, kSqlite, kPostgres, kPush };

struct SourceDef {
  std::string name;
  SourceKind kind = SourceKind::kCsv;
  std::string path;       // csv, jsonl, sqlite: relative to the repository folder or absolute
  std::string uri;        // postgres: postgresql://…
  std::string table;      // sqlite, postgres: a table, or
  std::string query;      //   a SELECT
  std::string timestamp_field;
  std::string created_timestamp_field;  // optional
  std::string timezone = "UTC";         // for naive timestamps
  // Declared column types (required for push sources, optional otherwise).
  std::map<std::string, data::Type> columns;
  std::string batch_source;  // push: the source whose offline rows it extends (optional)
  std::string description;
  Location location;
};

struct EntityDef {
  std::string name;
  std::vector<std::string> join_keys;
  std::string description;
  Location location;
};

// Checks at materialization and push; a failing row goes to quarantine.
struct Expectation {
  std::optional<data::Type> type;
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> allowed;       // allowed values (compared as text)
  std::optional<double> max_null_fraction;  // of a batch, 0..1
  bool empty() const;
};

struct AggregationDef {
  std::string function;  // count, sum, mean, min, max, stddev, last
  std::string column;    // a source column or an expression; empty: count events
  int64_t window_seconds = 0;
};

struct FeatureDef {
  std::string name;
  std::string expression;                 // either this …
  std::optional<AggregationDef> aggregation;  // … or this
  std::optional<data::Type> declared_type;    // checked against the inferred type
  Expectation expect;
  std::string description;
  Location location;
};

struct FeatureViewDef {
  std::string name;
  std::vector<std::string> entities;
  std::string source;
  int64_t ttl_seconds = 0;  // 0: no limit
  bool online = true;
  std::vector<FeatureDef> features;
  std::map<std::string, std::string> tags;
  std::string description;
  Location location;
};

// Features computed at request time from request data and other features
// ("view.feature" in expressions), offline and online by the same engine.
struct OnDemandViewDef {
  std::string name;
  std::map<std::string, data::Type> request;  // request fields and types
  std::vector<FeatureDef> features;           // expressions only
  std::string description;
  Location location;
};

// "view.feature", or "view.*" for every feature of a view.
struct FeatureRef {
  std::string view;
  std::string feature;
  std::string ToString() const { return view + "." + feature; }
};
// "view.feature", "view:feature" or "view.*" (split at the first '.' or
// ':'). Error: "'x' is not a feature reference (use view.feature,
// view:feature or view.*)".
Result<FeatureRef> ParseFeatureRef(std::string_view text);

struct FeatureServiceDef {
  std::string name;
  std::vector<FeatureRef> features;
  std::string description;
  Location location;
};

struct RepositoryDef {
  int format_version = 1;
  std::string project;
  std::vector<SourceDef> sources;
  std::vector<EntityDef> entities;
  std::vector<FeatureViewDef> feature_views;
  std::vector<OnDemandViewDef> on_demand_views;
  std::vector<FeatureServiceDef> feature_services;
  std::string root;  // the folder it was loaded from (not stored)
};

std::string_view SourceKindName(SourceKind kind);  // csv, jsonl, sqlite, postgres, push
// The names above (and "postgresql"). Error: "unknown source kind 'x'
// (expected csv, jsonl, sqlite, postgres or push)".
Result<SourceKind> ParseSourceKind(std::string_view name);

}  // namespace kiln::features
