#pragma once
// TrackingStore: projects (MLflow "experiments"), runs, params, metrics, tags
// and dataset inputs in the SQL metadata store, with MLflow's semantics and
// error messages (see docs/api/tracking.md and docs/formats/metadata-store.md).
//
// Ownership: borrows the Database, Clock and IdGenerator, which must outlive it.
// Thread safety: thread-safe. It keeps no mutable state of its own; every
// write runs in one database transaction, so concurrent callers (and other
// processes sharing a PostgreSQL store) see each write whole or not at all.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"
#include "tracking/search_plan.h"

namespace kiln::tracking {

// Lifecycle stages, as stored and as MLflow reports them.
inline constexpr std::string_view kActiveStage = "active";
inline constexpr std::string_view kDeletedStage = "deleted";

// The experiment every MLflow client falls back to; created by the migration.
inline constexpr std::string_view kDefaultExperimentId = "0";

// Reserved tags the store maintains.
inline constexpr std::string_view kRunNameTag = "mlflow.runName";
inline constexpr std::string_view kUserTag = "mlflow.user";

// MLflow's limits (mlflow/utils/validation.py and mlflow/server/handlers.py).
inline constexpr size_t kMaxEntityKeyLength = 250;
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxTagValueLength = 8000;
inline constexpr size_t kMaxExperimentNameLength = 500;
inline constexpr size_t kMaxExperimentTagKeyLength = 250;
inline constexpr size_t kMaxExperimentTagValueLength = 5000;
inline constexpr size_t kMaxMetricsPerBatch = 1000;
inline constexpr size_t kMaxParamsPerBatch = 100;
inline constexpr size_t kMaxTagsPerBatch = 100;
inline constexpr size_t kMaxEntitiesPerBatch = 1000;
inline constexpr size_t kMaxDatasetsPerBatch = 1000;
inline constexpr size_t kMaxBatchRequestBytes = 1'000'000;
inline constexpr size_t kMaxRunsPerBulkInterval = 100;
inline constexpr int64_t kMaxResultsPerRunBulkInterval = 2500;
inline constexpr int64_t kMaxResultsGetMetricHistory = 25000;

// A key/value tag. MLflow has separate experiment, run and input tag types
// with the same shape.
struct Tag {
  std::string key;
  std::string value;
};
using ExperimentTag = Tag;
using RunTag = Tag;
using InputTag = Tag;

struct Param {
  std::string key;
  std::string value;
};

// One logged point. `value` may be NaN or +-Infinity.
struct Metric {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;  // milliseconds since the Unix epoch
  int64_t step = 0;
};

struct MetricWithRunId {
  Metric metric;
  std::string run_id;
};

struct Experiment {
  std::string experiment_id;  // decimal integer, "0" for Default
  std::string name;
  std::string artifact_location;
  std::string lifecycle_stage;  // "active" | "deleted"
  int64_t creation_time = 0;
  int64_t last_update_time = 0;
  std::vector<ExperimentTag> tags;  // sorted by key
};

enum class RunStatus { kRunning, kScheduled, kFinished, kFailed, kKilled };
// "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED".
std::string_view RunStatusName(RunStatus status);
// Accepts the names above and MLflow's enum numbers 1..5.
// Errors: kInvalidArgument naming the accepted values.
Result<RunStatus> ParseRunStatus(std::string_view text);

struct RunInfo {
  std::string run_id;
  std::string experiment_id;
  std::string run_name;
  std::string user_id;
  RunStatus status = RunStatus::kRunning;
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string artifact_uri;
  std::string lifecycle_stage;
};

struct RunData {
  std::vector<Metric> metrics;  // the latest point of each key, sorted by key
  std::vector<Param> params;    // sorted by key
  std::vector<RunTag> tags;     // sorted by key
};

struct Dataset {
  std::string name;
  std::string digest;
  std::string source_type;
  std::string source;
  std::optional<std::string> schema;
  std::optional<std::string> profile;
};

struct DatasetInput {
  std::vector<InputTag> tags;  // e.g. mlflow.data.context = "training"
  Dataset dataset;
};

struct RunInputs {
  std::vector<DatasetInput> dataset_inputs;
};

struct Run {
  RunInfo info;
  RunData data;
  RunInputs inputs;
};

struct CreateRunRequest {
  std::string experiment_id = std::string(kDefaultExperimentId);
  std::string user_id;
  std::optional<int64_t> start_time;  // defaults to now
  std::vector<RunTag> tags;
  std::string run_name;  // empty: taken from the mlflow.runName tag, else generated
};

struct UpdateRunRequest {
  std::optional<RunStatus> status;
  std::optional<int64_t> end_time;
  std::optional<std::string> run_name;  // also rewrites the mlflow.runName tag
};

struct SearchExperimentsRequest {
  std::string filter;
  ViewType view = ViewType::kActiveOnly;
  int64_t max_results = kExperimentSearchDefaultMaxResults;
  std::vector<std::string> order_by;
  std::string page_token;
};

struct SearchRunsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  ViewType view = ViewType::kActiveOnly;
  int64_t max_results = kRunSearchDefaultMaxResults;
  std::vector<std::string> order_by;
  std::string page_token;
};

struct MetricHistoryRequest {
  std::string run_id;
  std::string metric_key;
  std::optional<int64_t> max_results;  // absent: every point, unpaged (as MLflow)
  std::string page_token;
};

struct BulkIntervalRequest {
  std::vector<std::string> run_ids;  // 1..kMaxRunsPerBulkInterval
  std::string metric_key;
  std::optional<int64_t> start_step;  // both or neither
  std::optional<int64_t> end_step;
  int64_t max_results = kMaxResultsPerRunBulkInterval;  // 1..2500 sampled steps
};

struct ExperimentPage {
  std::vector<Experiment> experiments;
  std::string next_page_token;  // empty on the last page
};

struct RunPage {
  std::vector<Run> runs;
  std::string next_page_token;
};

struct MetricPage {
  std::vector<Metric> metrics;
  std::string next_page_token;
};

class TrackingStore {
 public:
  TrackingStore(storage::Database& database, Clock& clock, IdGenerator& ids);
  TrackingStore(const TrackingStore&) = delete;
  TrackingStore& operator=(const TrackingStore&) = delete;

  // --- Experiments (Kiln "projects") ---

  // Returns the new experiment's id (MAX(id)+1). An empty artifact_location
  // becomes "mlflow-artifacts:/<id>". Names are unique among active and
  // deleted experiments. Errors: kInvalidArgument (name, tags, location),
  // kAlreadyExists "Experiment(name=...) already exists."
  Result<std::string> CreateExperiment(std::string_view name, std::string_view artifact_location,
                                       const std::vector<ExperimentTag>& tags);
  // Active or deleted. Errors: kNotFound "No Experiment with id=... exists".
  Result<Experiment> GetExperiment(std::string_view experiment_id);
  // Active or deleted. Errors: kNotFound "Could not find experiment with name '...'".
  Result<Experiment> GetExperimentByName(std::string_view name);
  Result<ExperimentPage> SearchExperiments(const SearchExperimentsRequest& request);
  // REQUIRES the experiment be active (kFailedPrecondition otherwise).
  Status RenameExperiment(std::string_view experiment_id, std::string_view new_name);
  // Marks the experiment and all its runs deleted; the name stays reserved.
  // Errors: kNotFound when absent or already deleted; kInvalidArgument for "0".
  Status DeleteExperiment(std::string_view experiment_id);
  // Marks a deleted experiment and all its runs active again.
  Status RestoreExperiment(std::string_view experiment_id);
  Status SetExperimentTag(std::string_view experiment_id, const ExperimentTag& tag);
  Status DeleteExperimentTag(std::string_view experiment_id, std::string_view key);

  // --- Runs ---

  // Sets the mlflow.runName tag (generating "adjective-noun-NNN" when no name
  // is given) and mlflow.user (from user_id, unless given as a tag).
  // Errors: kNotFound (experiment), kFailedPrecondition (deleted experiment),
  // kInvalidArgument (tags, run_name disagreeing with the mlflow.runName tag).
  Result<Run> CreateRun(const CreateRunRequest& request);
  // Errors: kNotFound "Run with id=... not found".
  Result<Run> GetRun(std::string_view run_id);
  // The runs with these ids, in this order; unknown ids are skipped. Loads a
  // whole page with a handful of queries.
  Result<std::vector<Run>> GetRuns(const std::vector<std::string>& run_ids);
  Result<RunInfo> UpdateRun(std::string_view run_id, const UpdateRunRequest& request);
  // Sets lifecycle_stage "deleted" and deleted_time.
  Status DeleteRun(std::string_view run_id);
  // Errors: kFailedPrecondition when the run's experiment is deleted.
  Status RestoreRun(std::string_view run_id);
  Result<RunPage> SearchRuns(const SearchRunsRequest& request);

  // The writes below REQUIRE an active run (kFailedPrecondition otherwise).

  // Appends to the history (an identical point is stored once) and moves
  // latest_metrics when (step, timestamp, value) is greater, NaN counting as 0.
  Status LogMetric(std::string_view run_id, const Metric& metric);
  // Params are immutable: the same value again is OK, another value is
  // kInvalidArgument "Changing param values is not allowed. ...".
  Status LogParam(std::string_view run_id, const Param& param);
  // Upserts; mlflow.runName also renames the run.
  Status SetTag(std::string_view run_id, const RunTag& tag);
  // Errors: kNotFound "No tag with name: ... in run with id ...".
  Status DeleteTag(std::string_view run_id, std::string_view key);
  // Validates everything first, then writes all of it in one transaction:
  // either every metric, param and tag is stored or none is.
  Status LogBatch(std::string_view run_id, const std::vector<Metric>& metrics,
                  const std::vector<Param>& params, const std::vector<RunTag>& tags);
  // Stores each dataset once per experiment (by name and digest) and links it
  // to the run once, with its input tags. Repeating a call changes nothing.
  Status LogInputs(std::string_view run_id, const std::vector<DatasetInput>& datasets);

  // --- Metric history ---

  // Points ordered by (timestamp, step, value). Errors: kNotFound (run),
  // kInvalidArgument (max_results < 1, bad page token).
  Result<MetricPage> GetMetricHistory(const MetricHistoryRequest& request);
  // MLflow's bulk interval read (the charts' down-sampling): the steps logged
  // by any of the runs in [start_step, end_step] (default [0, last step])
  // are sampled to at most max_results evenly spaced steps, the first and
  // last among them; each run's own first and last step in range are added.
  // Returns every point at those steps, run by run in request order.
  // Errors: kInvalidArgument (limits, step range), kNotFound (a run).
  Result<std::vector<MetricWithRunId>> GetMetricHistoryBulkInterval(const BulkIntervalRequest& request);

 private:
  // What the write paths need to know about a run before touching it.
  struct RunState {
    std::string run_id;
    int64_t experiment_id = 0;
    std::string run_name;
    std::string lifecycle_stage;
    std::string experiment_lifecycle_stage;
  };

  // The run's experiment, name and stage. Errors: kNotFound.
  static Result<RunState> LoadRunState(storage::Connection& connection, std::string_view run_id);
  // LoadRunState + kFailedPrecondition unless the run is active.
  static Result<RunState> LoadActiveRun(storage::Connection& connection, std::string_view run_id);
  static Result<std::vector<Run>> LoadRuns(storage::Connection& connection,
                                           const std::vector<std::string>& run_ids);
  static Result<std::vector<Experiment>> LoadExperiments(storage::Connection& connection,
                                                         const std::vector<int64_t>& experiment_ids);
  // Experiment row by id, any stage. Errors: kNotFound.
  static Result<Experiment> LoadExperiment(storage::Connection& connection, int64_t experiment_id,
                                           std::string_view shown_id);

  // Shared by the single-entity writes and LogBatch; inputs already validated.
  static Status WriteMetrics(storage::Connection& connection, std::string_view run_id,
                             const std::vector<Metric>& metrics);
  static Status WriteParams(storage::Connection& connection, std::string_view run_id,
                            const std::vector<Param>& params);
  static Status WriteTags(storage::Connection& connection, std::string_view run_id,
                          const std::vector<RunTag>& tags);

  storage::Database& database_;
  Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace kiln::tracking
