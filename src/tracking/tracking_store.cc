// TrackingStore: construction and the loaders the experiment, run and metric
// operations share (experiment_store.cc, run_store.cc, metric_store.cc).
#include "tracking/tracking_store.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "tracking/tracking_sql.h"
#include "tracking/tracking_validation.h"

namespace kiln::tracking {
namespace {

constexpr std::string_view kStatusNames[] = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};

template <typename T>
void SortByKey(std::vector<T>& items) {
  std::sort(items.begin(), items.end(), [](const T& a, const T& b) { return a.key < b.key; });
}

std::vector<storage::SqlValue> TextKeys(const std::vector<std::string>& keys) {
  return std::vector<storage::SqlValue>(keys.begin(), keys.end());
}

}  // namespace

std::string_view RunStatusName(RunStatus status) { return kStatusNames[static_cast<int>(status)]; }

Result<RunStatus> ParseRunStatus(std::string_view text) {
  for (int i = 0; i < 5; ++i) {
    if (text == kStatusNames[i] || text == std::to_string(i + 1)) return static_cast<RunStatus>(i);
  }
  return InvalidArgument("Invalid value \"" + std::string(text) +
                         "\" for parameter 'status' supplied: expected one of RUNNING, SCHEDULED, FINISHED, "
                         "FAILED, KILLED");
}

TrackingStore::TrackingStore(storage::Database& database, Clock& clock, IdGenerator& ids)
    : database_(database), clock_(clock), ids_(ids) {}

Result<TrackingStore::RunState> TrackingStore::LoadRunState(storage::Connection& connection,
                                                             std::string_view run_id) {
  KILN_ASSIGN_OR_RETURN(
      storage::Rows rows,
      connection.Query("SELECT r.experiment_id, r.run_name, r.lifecycle_stage, e.lifecycle_stage "
                       "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
                       "WHERE r.run_uuid = ?",
                       {std::string(run_id)}));
  if (rows.empty()) return RunNotFound(run_id);
  RunState state;
  state.run_id = std::string(run_id);
  state.experiment_id = rows[0].Int(0);
  state.run_name = rows[0].String(1);
  state.lifecycle_stage = rows[0].String(2);
  state.experiment_lifecycle_stage = rows[0].String(3);
  return state;
}

Result<TrackingStore::RunState> TrackingStore::LoadActiveRun(storage::Connection& connection,
                                                              std::string_view run_id) {
  KILN_ASSIGN_OR_RETURN(RunState state, LoadRunState(connection, run_id));
  if (state.experiment_lifecycle_stage != kActiveStage) {
    return FailedPrecondition("The experiment " + std::to_string(state.experiment_id) +
                              " must be in the 'active' state. Current state is " +
                              state.experiment_lifecycle_stage + ".");
  }
  if (state.lifecycle_stage != kActiveStage) {
    return FailedPrecondition("The run " + state.run_id + " must be in the 'active' state. Current state is " +
                              state.lifecycle_stage + ".");
  }
  return state;
}

Result<std::vector<Run>> TrackingStore::LoadRuns(storage::Connection& connection,
                                                 const std::vector<std::string>& run_ids) {
  std::vector<storage::SqlValue> keys = TextKeys(run_ids);
  const storage::SqlValue pad = std::string();
  std::unordered_map<std::string, Run> found;
  found.reserve(run_ids.size());

  KILN_RETURN_IF_ERROR(QueryInChunks(
      connection,
      "SELECT run_uuid, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, "
      "lifecycle_stage FROM runs WHERE run_uuid IN ",
      "", {}, keys, pad, [&](const storage::Row& row) {
        Run run;
        RunInfo& info = run.info;
        info.run_id = row.String(0);
        info.experiment_id = std::to_string(row.Int(1));
        info.run_name = row.String(2);
        info.user_id = row.String(3);
        Result<RunStatus> status = ParseRunStatus(row.String(4));
        info.status = status.ok() ? *status : RunStatus::kRunning;
        info.start_time = row.Int(5);
        if (!row.IsNull(6)) info.end_time = row.Int(6);
        info.artifact_uri = row.String(7);
        info.lifecycle_stage = row.String(8);
        found.emplace(info.run_id, std::move(run));
      }));
  if (found.empty()) return std::vector<Run>();

  auto run_of = [&](const storage::Row& row) -> Run* {
    auto it = found.find(row.String(0));
    return it == found.end() ? nullptr : &it->second;
  };
  KILN_RETURN_IF_ERROR(QueryInChunks(connection, "SELECT run_uuid, key, value FROM params WHERE run_uuid IN ", "",
                                     {}, keys, pad, [&](const storage::Row& row) {
                                       if (Run* run = run_of(row)) {
                                         run->data.params.push_back({row.String(1), row.String(2)});
                                       }
                                     }));
  KILN_RETURN_IF_ERROR(QueryInChunks(connection, "SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ", "",
                                     {}, keys, pad, [&](const storage::Row& row) {
                                       if (Run* run = run_of(row)) {
                                         run->data.tags.push_back({row.String(1), row.String(2)});
                                       }
                                     }));
  KILN_RETURN_IF_ERROR(QueryInChunks(
      connection,
      "SELECT run_uuid, key, value, is_nan, timestamp_ms, step FROM latest_metrics WHERE run_uuid IN ", "", {},
      keys, pad, [&](const storage::Row& row) {
        if (Run* run = run_of(row)) {
          run->data.metrics.push_back(
              {row.String(1), DecodeMetricValue(row.Double(2), row.Int(3)), row.Int(4), row.Int(5)});
        }
      }));

  // Dataset inputs with their tags; one row per (input, tag), the tag NULL
  // when the input has none. The edge types are checked here rather than in
  // SQL so both backends look inputs up by destination_id's index.
  std::map<std::pair<std::string, std::string>, DatasetInput> inputs;  // (run, input uuid)
  KILN_RETURN_IF_ERROR(QueryInChunks(
      connection,
      "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, "
      "t.key, t.value, i.source_type, i.destination_type FROM inputs i "
      "JOIN datasets d ON d.dataset_uuid = i.source_id LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid "
      "WHERE i.destination_id IN ",
      "", {}, keys, pad, [&](const storage::Row& row) {
        if (row.String(10) != "DATASET" || row.String(11) != "RUN") return;
        auto [it, inserted] = inputs.try_emplace({row.String(0), row.String(1)});
        DatasetInput& input = it->second;
        if (inserted) {
          Dataset& d = input.dataset;
          d.name = row.String(2);
          d.digest = row.String(3);
          d.source_type = row.String(4);
          d.source = row.String(5);
          if (!row.IsNull(6)) d.schema = row.String(6);
          if (!row.IsNull(7)) d.profile = row.String(7);
        }
        if (!row.IsNull(8)) input.tags.push_back({row.String(8), row.String(9)});
      }));
  for (auto& [key, input] : inputs) {
    auto it = found.find(key.first);
    if (it == found.end()) continue;
    SortByKey(input.tags);
    it->second.inputs.dataset_inputs.push_back(std::move(input));
  }

  std::vector<Run> out;
  out.reserve(run_ids.size());
  for (const std::string& id : run_ids) {
    auto it = found.find(id);
    if (it == found.end()) continue;
    Run& run = it->second;
    SortByKey(run.data.params);
    SortByKey(run.data.tags);
    SortByKey(run.data.metrics);
    std::sort(run.inputs.dataset_inputs.begin(), run.inputs.dataset_inputs.end(),
              [](const DatasetInput& a, const DatasetInput& b) {
                return std::tie(a.dataset.name, a.dataset.digest) < std::tie(b.dataset.name, b.dataset.digest);
              });
    out.push_back(std::move(run));
    found.erase(it);  // an id asked for twice is returned once
  }
  return out;
}

Result<Run> TrackingStore::GetRun(std::string_view run_id) {
  KILN_ASSIGN_OR_RETURN(std::vector<Run> runs, GetRuns({std::string(run_id)}));
  if (runs.empty()) return RunNotFound(run_id);
  return std::move(runs.front());
}

Result<std::vector<Run>> TrackingStore::GetRuns(const std::vector<std::string>& run_ids) {
  if (run_ids.empty()) return std::vector<Run>();
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  return LoadRuns(*connection, run_ids);
}

Result<std::vector<Experiment>> TrackingStore::LoadExperiments(storage::Connection& connection,
                                                               const std::vector<int64_t>& experiment_ids) {
  std::vector<storage::SqlValue> keys(experiment_ids.begin(), experiment_ids.end());
  const storage::SqlValue pad = int64_t{-1};
  std::unordered_map<int64_t, Experiment> found;
  KILN_RETURN_IF_ERROR(QueryInChunks(
      connection,
      "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time "
      "FROM experiments WHERE experiment_id IN ",
      "", {}, keys, pad, [&](const storage::Row& row) {
        Experiment e;
        e.experiment_id = std::to_string(row.Int(0));
        e.name = row.String(1);
        e.artifact_location = row.String(2);
        e.lifecycle_stage = row.String(3);
        e.creation_time = row.Int(4);
        e.last_update_time = row.Int(5);
        found.emplace(row.Int(0), std::move(e));
      }));
  if (found.empty()) return std::vector<Experiment>();
  KILN_RETURN_IF_ERROR(QueryInChunks(
      connection, "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ", "", {}, keys,
      pad, [&](const storage::Row& row) {
        auto it = found.find(row.Int(0));
        if (it != found.end()) it->second.tags.push_back({row.String(1), row.String(2)});
      }));
  std::vector<Experiment> out;
  out.reserve(experiment_ids.size());
  for (int64_t id : experiment_ids) {
    auto it = found.find(id);
    if (it == found.end()) continue;
    SortByKey(it->second.tags);
    out.push_back(std::move(it->second));
    found.erase(it);
  }
  return out;
}

Result<Experiment> TrackingStore::LoadExperiment(storage::Connection& connection, int64_t experiment_id,
                                                 std::string_view shown_id) {
  KILN_ASSIGN_OR_RETURN(std::vector<Experiment> experiments, LoadExperiments(connection, {experiment_id}));
  if (experiments.empty()) return ExperimentNotFound(shown_id);
  return std::move(experiments.front());
}

}  // namespace kiln::tracking
