#pragma once
// FeatureStore: the features module's front door, used by the HTTP handlers
// and the CLI alike. Owns the registry, a cache of each project's current
// Repository, and the online store (opened lazily: RocksDB allows one
// process). Thread-safe.
//
//   Apply/Plan         → FeatureRegistry (feature_registry.h)
//   CreateTrainingSet  → BuildTrainingSet + artifact + run dataset input
//   Materialize        → materializer.h: source rows → latest per entity →
//                        expectations → online store; intervals recorded
//   GetOnlineFeatures  → online store (+ on-demand), statuses, TTL
//   Push               → expectations → online and/or offline (pushed rows)

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "data/frame.h"
#include "features/definitions.h"
#include "features/feature_registry.h"
#include "features/online_readiness.h"
#include "features/online_store.h"
#include "features/repository.h"
#include "features/training_set.h"

namespace kiln::storage {
class Database;
class ArtifactStore;
}  // namespace kiln::storage
namespace kiln::tracking {
class TrackingStore;
}

namespace kiln::features {

struct FeatureStoreOptions {
  std::string data_dir;
  std::string online_uri;  // "" → RocksDB in data_dir/online; "redis://…"
  bool online_cache = true;  // in-process cache (RocksDB only: single writer)
  int threads = 0;
  // How often Current() asks the registry whether a newer version was
  // applied (by another process, or through registry() directly); Apply
  // through this FeatureStore takes effect at once. 0: on every call.
  int64_t repository_refresh_millis = 1000;
};

// --- Training sets ---
struct TrainingSetJob {
  std::string project;
  TrainingSetRequest request;
  std::string name;    // dataset name; default: the service name
  std::string run_id;  // optional: record as a dataset input of this run
};
struct TrainingSetInfo {
  std::string digest;        // SHA-256 of the CSV bytes: the data version
  std::string artifact_path; // in the artifact store
  std::string artifact_uri;  // run artifact URI when run_id was given
  int64_t rows = 0;
  int64_t repository_version = 0;
  int64_t service_version = 0;  // 0 when built from a feature list
  std::vector<std::string> columns;
  std::vector<double> null_fractions;  // per feature
};

// --- Materialization ---
struct MaterializeRequest {
  std::string project;
  std::vector<std::string> views;  // all online views when empty
  std::optional<int64_t> start_micros;
  std::optional<int64_t> end_micros;  // default: now
  bool incremental = false;  // start = last end per view (or the beginning)
  bool quiet = true;
};
struct MaterializeViewResult {
  std::string view;
  int64_t start_micros = 0;  // requested start; unbounded: the earliest event read
  int64_t end_micros = 0;
  int64_t rows_read = 0;          // source rows read (including the window lead-in)
  int64_t rows_without_key = 0;   // of those, rows with a null join key or event time
  int64_t entities = 0;           // distinct entities = entities_written + rows_quarantined
  int64_t entities_written = 0;
  int64_t rows_quarantined = 0;   // entity records refused by expectations
  double seconds = 0;
};

// --- Online reads ---
// NOT_FOUND: no record for the entity (or a null join key). OUTSIDE_MAX_AGE:
// the view has a TTL and now − event time > TTL; the value is null (the
// event time is still reported). NULL_VALUE: the stored or computed value is
// null. PRESENT: a value. docs/features/online.md.
enum class FeatureStatus { kPresent, kNullValue, kNotFound, kOutsideMaxAge };
std::string_view FeatureStatusName(FeatureStatus status);  // PRESENT, NULL_VALUE, …

struct OnlineRequest {
  std::string project;
  std::string service;                // a feature service, or
  std::vector<std::string> features;  // refs
  // One row per entity: join-key values and request fields, by name.
  std::vector<std::map<std::string, data::Value>> rows;
  // false: feature_names and feature_types of the response are left empty,
  // for in-process callers that already know them (saves copying the names
  // on every request).
  bool with_metadata = true;
  // TTLs are judged as of this time (µs) instead of the clock's now: for
  // replays of past traffic and backtests. Unset in live serving.
  std::optional<int64_t> as_of_micros;
};
struct OnlineResponse {
  std::vector<std::string> feature_names;  // "view.feature", request order
  std::vector<data::Type> feature_types;
  // values[row][feature], statuses[row][feature], event time (µs, 0 if none)
  std::vector<std::vector<data::Value>> values;
  std::vector<std::vector<FeatureStatus>> statuses;
  std::vector<std::vector<int64_t>> event_micros;
  int64_t service_version = 0;
};

// --- Push ---
enum class PushTarget { kOnline, kOffline, kOnlineAndOffline };
Result<PushTarget> ParsePushTarget(std::string_view name);  // online, offline, online_and_offline
struct PushRequest {
  std::string project;
  std::string source;  // a push source
  data::Frame rows;    // the source's columns
  PushTarget to = PushTarget::kOnline;
};
struct PushResult {
  int64_t rows_received = 0;
  int64_t rows_written_online = 0;   // entity records written
  int64_t rows_written_offline = 0;
  int64_t rows_quarantined = 0;
  std::vector<std::string> quarantine_reasons;  // one per quarantined row
};

struct QuarantinedRow {
  int64_t id = 0;
  std::string project;
  std::string object;  // view or source
  std::string origin;  // "materialize" | "push"
  std::string reason;
  std::string row_json;
  int64_t created_millis = 0;
};

class FeatureStore {
 public:
  // All references must outlive the store.
  FeatureStore(storage::Database& database, storage::ArtifactStore& artifacts,
               tracking::TrackingStore& tracking, Clock& clock, FeatureStoreOptions options);
  ~FeatureStore();

  FeatureRegistry& registry();
  // registry().Apply, then the cached repository of the project is dropped
  // so the next call sees the new version.
  Result<ApplyResult> Apply(const Repository& repository, const ApplyOptions& options);
  // The latest applied repository of `project` (cached; rebuilt when a newer
  // version is applied). Error: "no feature repository applied for project
  // 'x' (run kiln features apply)". An empty project is accepted when exactly
  // one project exists.
  Result<std::shared_ptr<const Repository>> Current(const std::string& project);

  // Builds the training set, stores its CSV at feature-sets/<project>/<digest>.csv,
  // records it in feature_training_sets and, with a run, copies it to the
  // run's artifacts (training_set/<name>.csv) and logs it as the run's
  // dataset input (docs/formats/quarantine.md).
  Result<TrainingSetInfo> CreateTrainingSet(const TrainingSetJob& job);
  // One result per view, in order (docs/features/online.md). Errors: unknown
  // view, offline-only view, start not before end, source read errors.
  Result<std::vector<MaterializeViewResult>> Materialize(const MaterializeRequest& request);
  // The lookup hot path: a plan per request shape is cached
  // (online_reader.h). Errors name the row and the field.
  Result<OnlineResponse> GetOnlineFeatures(const OnlineRequest& request);
  Result<PushResult> Push(const PushRequest& request);  // push.h
  // Newest first; an empty project lists every project; limit <= 0 means 100.
  Result<std::vector<QuarantinedRow>> ListQuarantine(const std::string& project, int64_t limit);

  // Whether a model trained on version `service_version` of `service` can be
  // served from this store's online store now (online_readiness.h): the
  // service's current version and features, and for each feature view it
  // needs, a materialization into online() and no definition change since.
  // Reads the latest applied repository (not the cache). Errors: kNotFound
  // (project, service, version), kInvalidArgument (service_version < 1).
  Result<OnlineReadiness> CheckOnlineReadiness(const std::string& project, const std::string& service,
                                               int64_t service_version);

  // The online store's materialization point for `service`: the minimum,
  // over the feature views the service reads from the online store
  // (directly or as inputs of its on-demand features), of the latest end of
  // a materialization into online() (Materializer::LastEnd). Online values
  // were computed as of this point minus 1 µs. nullopt when one of those
  // views was never materialized into this store. Reads the cached
  // repository and runs one query: cheap enough to call every second.
  // Errors: unknown project or service.
  Result<std::optional<int64_t>> MaterializedUntil(const std::string& project, const std::string& service);

  // BuildTrainingSet over `repository` — Current(project) or a repository
  // derived from it — reading sources as CreateTrainingSet does (pushed rows
  // from this store's database); stores and records nothing. request.threads
  // = 0 takes the store's thread count.
  Result<TrainingSet> BuildTrainingFrame(const Repository& repository, TrainingSetRequest request);

  // The online store, opened on first use.
  Result<OnlineStore*> online();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::features
