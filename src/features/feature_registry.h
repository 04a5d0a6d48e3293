#pragma once
// FeatureRegistry: the applied versions of each project's feature
// repository and of its feature services, in the metadata store
// (tables in src/features/migrations/0001_features.sql; stored form in
// docs/formats/feature-repository.md). Plan compares validated definitions
// with the latest applied version; Apply stores them as the next version in
// one transaction. Holds no state outside the database: thread-safe.
// References passed to the constructor must outlive the registry.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "data/value.h"
#include "features/definitions.h"
#include "features/repository.h"
#include "storage/database.h"

namespace kiln::features {

enum class ObjectKind { kSource, kEntity, kFeatureView, kFeature, kOnDemandView, kFeatureService };
// "source", "entity", "feature view", "feature", "on-demand view", "feature service".
std::string_view ObjectKindName(ObjectKind kind);

enum class ChangeType { kAdded, kChanged, kRemoved };
std::string_view ChangeTypeName(ChangeType change);  // "added", "changed", "removed"

// One object that differs between the applied and the new definitions.
// Features are named "view.feature". `breaking` marks changes that can
// break a consumer: a removed or retyped feature, a feature computed
// differently, a view that must be materialized again, a service that lost
// or retyped a feature.
struct DefinitionChange {
  ObjectKind kind = ObjectKind::kFeatureView;
  std::string name;
  ChangeType change = ChangeType::kAdded;
  bool breaking = false;
  // "feature 'delay_mean_1d' changed type float64 → int64"; several
  // reasons are joined by "; ".
  std::string reason;
};

struct ApplyPlan {
  std::string project;
  int64_t base_version = 0;               // the applied version compared with; 0 when none
  std::string digest;                     // of the new definitions (canonical JSON)
  std::vector<DefinitionChange> changes;  // sources, entities, views, features, on-demand views, services
  bool empty() const { return changes.empty(); }
  bool breaking() const;
};

// "no changes", or one line per change:
// "~ feature origin_delays.delay_mean_1d (breaking): feature 'delay_mean_1d' changed type float64 → int64".
std::string FormatPlan(const ApplyPlan& plan);

struct ServiceFeature {
  std::string name;  // "view.feature"
  data::Type type = data::Type::kFloat64;
  bool operator==(const ServiceFeature&) const = default;
};

struct ServiceVersion {
  std::string project;
  std::string service;
  int64_t version = 0;
  std::vector<ServiceFeature> features;
  int64_t repository_version = 0;  // the repository version that created it
  int64_t created_at_millis = 0;
};

struct ApplyOptions {
  std::string applied_by;
  // Refuse (kFailedPrecondition) unless the latest applied version is this
  // one (0: none yet) — so what was planned is what gets applied.
  std::optional<int64_t> expected_version;
};

struct ApplyResult {
  ApplyPlan plan;        // what changed (empty: "no changes", nothing stored)
  int64_t version = 0;   // the latest version after applying
  bool applied = false;  // false when the definitions were identical
  std::vector<ServiceVersion> new_service_versions;
};

struct RepositoryVersion {
  std::string project;
  int64_t version = 0;
  std::string digest;
  int64_t created_at_millis = 0;
  std::string applied_by;
};

struct ProjectSummary {
  std::string project;
  int64_t latest_version = 0;
  std::string digest;
  int64_t updated_at_millis = 0;
};

class FeatureRegistry {
 public:
  // REQUIRES: the features migrations have been applied to `database`.
  FeatureRegistry(storage::Database& database, Clock& clock) : database_(database), clock_(clock) {}

  // What Apply would change.
  Result<ApplyPlan> Plan(const Repository& repository);
  // Stores repository.def() (its self-contained form) as version N+1 and a
  // new version of every feature service whose resolved feature list
  // changed, all in one transaction. Identical definitions store nothing.
  Result<ApplyResult> Apply(const Repository& repository, const ApplyOptions& options);

  // The definitions of a version (latest when nullopt). Errors (kNotFound):
  // "no feature repository applied for project 'x' (run kiln features
  // apply)", "project 'x' has no version 7 (latest is 3)".
  Result<RepositoryDef> Get(const std::string& project, std::optional<int64_t> version = std::nullopt);
  Result<RepositoryVersion> GetVersionInfo(const std::string& project,
                                           std::optional<int64_t> version = std::nullopt);
  // Get, validated again from the stored columns (no source is read).
  Result<std::shared_ptr<const Repository>> GetRepository(const std::string& project,
                                                          std::optional<int64_t> version = std::nullopt);
  Result<std::vector<ProjectSummary>> ListProjects();
  // Newest first.
  Result<std::vector<RepositoryVersion>> ListVersions(const std::string& project);

  // A feature service version (latest when nullopt), with its features.
  Result<ServiceVersion> GetService(const std::string& project, const std::string& service,
                                    std::optional<int64_t> version = std::nullopt);
  // Newest first.
  Result<std::vector<ServiceVersion>> ListServiceVersions(const std::string& project,
                                                          const std::string& service);

 private:
  storage::Database& database_;
  Clock& clock_;
};

}  // namespace kiln::features
