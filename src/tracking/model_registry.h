#pragma once
// The model registry: registered models, their numbered versions, tags,
// aliases and (deprecated) stages, compatible with MLflow's
// model_registry.proto. Aliases ("champion", "challenger") are how serving and
// experiments name a version; stages remain only for old MLflow clients.
//
// The registry also keeps the guardrail records of issue 4: every alias move
// (who, when, from, to, why), promotion records with their checks
// (promotion_records.h) and the run behind each version, from which
// iteration statistics are computed (iteration_stats.h).
//
// ModelRegistry borrows the database, the tracking store (to check runs and
// resolve runs:/ sources) and the clock; it holds no other state, so one
// instance is safe to use from any number of threads. Every write runs in one
// database transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"
#include "tracking/iteration_stats.h"
#include "tracking/model_registry_rules.h"
#include "tracking/promotion_records.h"

namespace kiln::tracking {

class TrackingStore;

struct RegistryTag {
  std::string key;
  std::string value;
};

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::optional<std::string> description;
  std::optional<std::string> user_id;
  std::string current_stage = std::string(kStageNone);  // deprecated; aliases replace stages
  std::string source;                                    // as the client sent it
  std::optional<std::string> run_id;
  std::optional<std::string> run_link;
  std::string status = "READY";  // versions are ready as soon as they are registered
  std::optional<std::string> status_message;
  // Where the version's files are: `source` with runs:/ and models:/
  // resolved to an artifact location. What get-download-uri returns.
  std::string storage_location;
  std::vector<RegistryTag> tags;      // by key
  std::vector<std::string> aliases;   // pointing at this version, sorted
};

struct RegisteredModelAlias {
  std::string alias;
  int64_t version = 0;
};

struct RegisteredModel {
  std::string name;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::optional<std::string> description;
  // The newest version in each stage that has one, by version ascending.
  std::vector<ModelVersion> latest_versions;
  std::vector<RegistryTag> tags;                // by key
  std::vector<RegisteredModelAlias> aliases;    // by alias
};

struct NewModelVersion {
  std::string name;
  std::string source;  // runs:/<run_id>/<path>, models:/..., or an artifact URI
  std::string run_id;  // optional; checked to exist when given
  std::vector<RegistryTag> tags;
  std::string run_link;  // optional
  std::optional<std::string> description;
  std::string user_id;  // optional: who registered it
};

// One move of an alias (registered_model_alias_history). A rename of the
// model carries each alias over with from_version == to_version.
struct AliasMove {
  int64_t id = 0;  // increases in commit order
  std::string name;
  std::string alias;
  std::optional<int64_t> from_version;  // nullopt: the alias was new
  std::optional<int64_t> to_version;    // nullopt: the alias was deleted
  std::string actor;                    // "" when unknown
  int64_t timestamp = 0;                // ms, from the registry's clock
  std::string reason;                   // "" when none given
};

struct RegisteredModelPage {
  std::vector<RegisteredModel> models;
  std::string next_page_token;  // empty on the last page
};

struct ModelVersionPage {
  std::vector<ModelVersion> versions;
  std::string next_page_token;  // empty on the last page
};

class ModelRegistry {
 public:
  ModelRegistry(storage::Database& database, TrackingStore& tracking, Clock& clock);

  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // --- Registered models ---
  // kAlreadyExists "Registered Model (name=x) already exists."
  Result<RegisteredModel> CreateRegisteredModel(const std::string& name, const std::vector<RegistryTag>& tags,
                                                const std::optional<std::string>& description);
  // kNotFound "Registered Model with name=x not found"
  Result<RegisteredModel> GetRegisteredModel(const std::string& name);
  // Renames the model and everything that hangs off it (versions, tags,
  // aliases, alias history, promotions). Each alias gets a history row
  // (from = to = its version, reason "renamed from '<old name>'").
  // kAlreadyExists when `new_name` is taken.
  Result<RegisteredModel> RenameRegisteredModel(const std::string& name, const std::string& new_name,
                                                const std::string& actor = "");
  // Sets the description (nullopt clears it, as MLflow does).
  Result<RegisteredModel> UpdateRegisteredModel(const std::string& name,
                                                const std::optional<std::string>& description);
  // Deletes the model with its versions, tags, aliases, alias history,
  // promotion records and lineage.
  Status DeleteRegisteredModel(const std::string& name);
  // `filter`, `order_by` and `page_token` follow MLflow's search grammar
  // (tracking/search_plan.h); max_results 0 takes MLflow's default.
  Result<RegisteredModelPage> SearchRegisteredModels(std::string_view filter, int64_t max_results,
                                                     const std::vector<std::string>& order_by,
                                                     std::string_view page_token);
  // Newest version per stage, restricted to `stages` when non-empty
  // (case-insensitive stage names). Deprecated with stages.
  Result<std::vector<ModelVersion>> GetLatestVersions(const std::string& name,
                                                      const std::vector<std::string>& stages);
  Status SetRegisteredModelTag(const std::string& name, const std::string& key, const std::string& value);
  // Deleting an absent tag is not an error (MLflow).
  Status DeleteRegisteredModelTag(const std::string& name, const std::string& key);

  // --- Model versions ---
  // Numbers the version one past the highest ever issued for the model (a
  // deleted version's number is never reused). Validates the run when a
  // run id is given or the source is runs:/<run_id>/...
  Result<ModelVersion> CreateModelVersion(const NewModelVersion& request);
  // kNotFound "Model Version (name=x, version=3) not found"
  Result<ModelVersion> GetModelVersion(const std::string& name, int64_t version);
  Result<ModelVersion> UpdateModelVersion(const std::string& name, int64_t version,
                                          const std::optional<std::string>& description);
  // Deprecated: moves a version to a stage; with `archive_existing_versions`
  // (Staging and Production only) other versions in that stage become Archived.
  Result<ModelVersion> TransitionModelVersionStage(const std::string& name, int64_t version,
                                                   const std::string& stage, bool archive_existing_versions);
  // Deletes the version, its tags and the aliases that point at it (each
  // recorded in the alias history with reason "version deleted"). Its
  // promotion records and lineage stay.
  Status DeleteModelVersion(const std::string& name, int64_t version, const std::string& actor = "");
  Result<ModelVersionPage> SearchModelVersions(std::string_view filter, int64_t max_results,
                                               const std::vector<std::string>& order_by,
                                               std::string_view page_token);
  // The version's storage location.
  Result<std::string> GetModelVersionDownloadUri(const std::string& name, int64_t version);
  Status SetModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                            const std::string& value);
  Status DeleteModelVersionTag(const std::string& name, int64_t version, const std::string& key);

  // --- Aliases ---
  // Points `alias` at `version`, moving it if it pointed elsewhere, and
  // appends the move to the alias history in the same transaction (a move
  // to the version it already points at changes and records nothing).
  // `actor` and `reason` ("" = unknown) are stored with the move.
  Status SetRegisteredModelAlias(const std::string& name, const std::string& alias, int64_t version,
                                 const std::string& actor = "", const std::string& reason = "");
  // Deleting an absent alias is not an error (MLflow); an absent model is.
  // A deletion is recorded in the alias history (to_version null).
  Status DeleteRegisteredModelAlias(const std::string& name, const std::string& alias,
                                    const std::string& actor = "", const std::string& reason = "");
  // kNotFound "Registered model alias champion not found."
  Result<ModelVersion> GetModelVersionByAlias(const std::string& name, const std::string& alias);

  // The moves of `alias` (every alias when empty), newest first (alias_history.cc); at most
  // `limit` of them (0: all). Errors: kNotFound for an unknown model,
  // kInvalidArgument for a bad alias name or a negative limit.
  Result<std::vector<AliasMove>> AliasHistory(const std::string& name, const std::string& alias, int64_t limit);

  // --- Promotions (promotion_records.cc) ---
  // Records a promotion of `request.candidate_version` to `request.alias`
  // with its checks, in one transaction: the record and its checks; the
  // candidate's tags kiln.check.<name> = "passed" | "failed: <detail>"
  // (kiln.check.* tags of earlier promotions that this one lacks are
  // removed) and kiln.promotion.last = "accepted" | "refused"; and, when
  // every check passed (accepted), the alias move (reason "promotion").
  // Errors: kNotFound (model, version); kInvalidArgument (alias, check
  // names); kFailedPrecondition when expected_previous_version is set and
  // the alias has moved since (nothing is recorded then).
  Result<PromotionRecord> RecordPromotion(const NewPromotion& request);
  // Promotions of the model (of one candidate version when given), newest
  // first, at most `limit` (0: all). kNotFound for an unknown model.
  Result<std::vector<PromotionRecord>> ListPromotions(const std::string& name, std::optional<int64_t> version,
                                                      int64_t limit);

  // --- Iteration statistics (iteration_stats.cc) ---
  // Registrations and promotions per ISO week and lead times from run
  // start, for one project or all (docs/formats/model-registry.md,
  // "Iteration statistics"). Errors: kInvalidArgument (window, alias,
  // project id), kNotFound (project).
  Result<IterationStats> ComputeIterationStats(const IterationStatsRequest& request);

  // Resolves models:/<name>/<version>, models:/<name>@<alias>,
  // models:/<name>/latest (highest version) and models:/<name>/<stage>
  // (newest version in that stage) to the version it names.
  Result<ModelVersion> Resolve(std::string_view model_uri);

 private:
  // Where a new version's files are, and the run it came from.
  struct ResolvedSource {
    std::string storage_location;
    std::optional<std::string> run_id;
  };
  Result<ResolvedSource> ResolveSource(const NewModelVersion& request);
  Result<std::string> RunArtifactUri(const std::string& run_id);
  // Points `alias` at `to_version` (nullopt: deletes it) and appends the
  // move to the history, unless it already is so. REQUIRES: inside a write
  // transaction; the model (and to_version) exist.
  static Status MoveAlias(storage::Connection& connection, const std::string& name, const std::string& alias,
                          std::optional<int64_t> to_version, const std::string& actor, const std::string& reason,
                          int64_t now);
  // Appends one row to registered_model_alias_history.
  static Status AppendAliasMove(storage::Connection& connection, const AliasMove& move);

  storage::Database& database_;
  TrackingStore& tracking_;
  Clock& clock_;
};

}  // namespace kiln::tracking
