// TrackingStore: runs, their params and tags, dataset inputs, and run search.
#include <algorithm>
#include <map>
#include <set>

#include "tracking/run_names.h"
#include "tracking/search_plan.h"
#include "tracking/tracking_sql.h"
#include "tracking/tracking_store.h"
#include "tracking/tracking_validation.h"

namespace kiln::tracking {
namespace {

// "<location>/<run_id>/artifacts", without doubling a trailing slash.
std::string RunArtifactUri(std::string_view experiment_location, std::string_view run_id) {
  std::string uri(experiment_location);
  while (!uri.empty() && uri.back() == '/' && uri != "/") uri.pop_back();
  return uri + "/" + std::string(run_id) + "/artifacts";
}

// Last value wins for a key given twice; output sorted by key (a fixed row
// lock order for concurrent writers).
std::vector<RunTag> LastValuePerKey(const std::vector<RunTag>& tags) {
  std::map<std::string, std::string> by_key;
  for (const RunTag& tag : tags) by_key[tag.key] = tag.value;
  std::vector<RunTag> out;
  out.reserve(by_key.size());
  for (auto& [key, value] : by_key) out.push_back({key, value});
  return out;
}

Status ParamChanged(std::string_view run_id, const Param& param, std::string_view old_value) {
  return InvalidArgument("Changing param values is not allowed. Param with key='" + param.key +
                         "' was already logged with value='" + std::string(old_value) + "' for run ID='" +
                         std::string(run_id) + "'. Attempted logging new value '" + param.value + "'.");
}

Status Done(const Result<int64_t>& result) { return result.ok() ? Status::Ok() : result.status(); }

}  // namespace

Status TrackingStore::WriteParams(storage::Connection& connection, std::string_view run_id,
                                  const std::vector<Param>& params) {
  for (const Param& param : params) {
    KILN_ASSIGN_OR_RETURN(int64_t inserted,
                          connection.Execute("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?) "
                                             "ON CONFLICT (run_uuid, key) DO NOTHING",
                                             {std::string(run_id), param.key, param.value}));
    if (inserted == 1) continue;
    KILN_ASSIGN_OR_RETURN(storage::Rows existing,
                          connection.Query("SELECT value FROM params WHERE run_uuid = ? AND key = ?",
                                           {std::string(run_id), param.key}));
    if (existing.empty()) return Internal("param '" + param.key + "' was neither inserted nor found");
    std::string old_value = existing[0].String(0);
    if (old_value != param.value) return ParamChanged(run_id, param, old_value);
  }
  return Status::Ok();
}

Status TrackingStore::WriteTags(storage::Connection& connection, std::string_view run_id,
                                const std::vector<RunTag>& tags) {
  for (const RunTag& tag : LastValuePerKey(tags)) {
    KILN_RETURN_IF_ERROR(Done(connection.Execute(
        "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
        {std::string(run_id), tag.key, tag.value})));
    if (tag.key == kRunNameTag) {
      KILN_RETURN_IF_ERROR(Done(connection.Execute("UPDATE runs SET run_name = ? WHERE run_uuid = ?",
                                                   {tag.value, std::string(run_id)})));
    }
  }
  return Status::Ok();
}

Result<Run> TrackingStore::CreateRun(const CreateRunRequest& request) {
  std::string experiment_id = request.experiment_id.empty() ? std::string(kDefaultExperimentId)
                                                            : request.experiment_id;
  KILN_ASSIGN_OR_RETURN(int64_t numeric_experiment_id, ParseExperimentId(experiment_id));
  for (size_t i = 0; i < request.tags.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateRunTag("tags[" + std::to_string(i) + "]", request.tags[i]));
  }
  std::vector<RunTag> tags = LastValuePerKey(request.tags);
  auto find_tag = [&tags](std::string_view key) -> RunTag* {
    for (RunTag& tag : tags) {
      if (tag.key == key) return &tag;
    }
    return nullptr;
  };
  const RunTag* name_tag = find_tag(kRunNameTag);
  if (!request.run_name.empty() && name_tag != nullptr && name_tag->value != request.run_name) {
    return InvalidArgument("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
                           "values (run_name='" +
                           request.run_name + "', mlflow.runName='" + name_tag->value + "').");
  }
  KILN_RETURN_IF_ERROR(ValidateLength("run_name", request.run_name, kMaxTagValueLength));
  std::string run_name = !request.run_name.empty()           ? request.run_name
                         : name_tag != nullptr && !name_tag->value.empty() ? name_tag->value
                                                                           : GenerateRunName(ids_);
  if (RunTag* tag = find_tag(kRunNameTag)) {
    tag->value = run_name;
  } else {
    tags.push_back({std::string(kRunNameTag), run_name});
  }
  if (!request.user_id.empty() && find_tag(kUserTag) == nullptr) {
    tags.push_back({std::string(kUserTag), request.user_id});
  }
  std::sort(tags.begin(), tags.end(), [](const RunTag& a, const RunTag& b) { return a.key < b.key; });

  Run run;
  RunInfo& info = run.info;
  info.run_id = ids_.NewId();
  info.experiment_id = std::to_string(numeric_experiment_id);
  info.run_name = run_name;
  info.user_id = request.user_id;
  info.status = RunStatus::kRunning;
  info.start_time = request.start_time.value_or(clock_.NowMillis());
  info.lifecycle_stage = std::string(kActiveStage);
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(
        storage::Rows rows,
        connection.Query("SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?",
                         {numeric_experiment_id}));
    if (rows.empty()) return ExperimentNotFound(experiment_id);
    std::string stage = rows[0].String(0);
    if (stage != kActiveStage) {
      return FailedPrecondition("The experiment " + experiment_id +
                                " must be in the 'active' state. Current state is " + stage + ".");
    }
    info.artifact_uri = RunArtifactUri(rows[0].String(1), info.run_id);
    KILN_RETURN_IF_ERROR(Done(connection.Execute(
        "INSERT INTO runs (run_uuid, experiment_id, run_name, user_id, status, start_time, end_time, "
        "lifecycle_stage, artifact_uri, deleted_time) VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, 'active', ?, NULL)",
        {info.run_id, numeric_experiment_id, info.run_name, info.user_id, info.start_time, info.artifact_uri})));
    return WriteTags(connection, info.run_id, tags);
  }));
  run.data.tags = std::move(tags);
  return run;
}

Result<RunInfo> TrackingStore::UpdateRun(std::string_view run_id, const UpdateRunRequest& request) {
  if (request.run_name) KILN_RETURN_IF_ERROR(ValidateLength("run_name", *request.run_name, kMaxTagValueLength));
  RunInfo info;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadActiveRun(connection, run_id).status());
    if (request.status) {
      KILN_RETURN_IF_ERROR(Done(connection.Execute("UPDATE runs SET status = ? WHERE run_uuid = ?",
                                                   {std::string(RunStatusName(*request.status)),
                                                    std::string(run_id)})));
    }
    if (request.end_time) {
      KILN_RETURN_IF_ERROR(Done(connection.Execute("UPDATE runs SET end_time = ? WHERE run_uuid = ?",
                                                   {*request.end_time, std::string(run_id)})));
    }
    if (request.run_name && !request.run_name->empty()) {
      KILN_RETURN_IF_ERROR(WriteTags(connection, run_id, {{std::string(kRunNameTag), *request.run_name}}));
    }
    KILN_ASSIGN_OR_RETURN(std::vector<Run> runs, LoadRuns(connection, {std::string(run_id)}));
    if (runs.empty()) return RunNotFound(run_id);
    info = std::move(runs.front().info);
    return Status::Ok();
  }));
  return info;
}

Status TrackingStore::DeleteRun(std::string_view run_id) {
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadRunState(connection, run_id).status());
    return Done(connection.Execute("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?",
                                   {clock_.NowMillis(), std::string(run_id)}));
  });
}

Status TrackingStore::RestoreRun(std::string_view run_id) {
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(RunState state, LoadRunState(connection, run_id));
    if (state.experiment_lifecycle_stage != kActiveStage) {
      return FailedPrecondition("Cannot restore run " + state.run_id + ": its experiment " +
                                std::to_string(state.experiment_id) +
                                " is deleted. Restore the experiment first.");
    }
    return Done(connection.Execute(
        "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?", {std::string(run_id)}));
  });
}

Status TrackingStore::LogParam(std::string_view run_id, const Param& param) {
  KILN_RETURN_IF_ERROR(ValidateParam("", param));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadActiveRun(connection, run_id).status());
    return WriteParams(connection, run_id, {param});
  });
}

Status TrackingStore::SetTag(std::string_view run_id, const RunTag& tag) {
  KILN_RETURN_IF_ERROR(ValidateRunTag("", tag));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadActiveRun(connection, run_id).status());
    return WriteTags(connection, run_id, {tag});
  });
}

Status TrackingStore::DeleteTag(std::string_view run_id, std::string_view key) {
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadActiveRun(connection, run_id).status());
    KILN_ASSIGN_OR_RETURN(int64_t deleted, connection.Execute("DELETE FROM tags WHERE run_uuid = ? AND key = ?",
                                                              {std::string(run_id), std::string(key)}));
    if (deleted == 0) {
      return NotFound("No tag with name: " + std::string(key) + " in run with id " + std::string(run_id));
    }
    return Status::Ok();
  });
}

Status TrackingStore::LogInputs(std::string_view run_id, const std::vector<DatasetInput>& datasets) {
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("datasets", kMaxDatasetsPerBatch, datasets.size()));
  std::vector<const DatasetInput*> unique;  // first occurrence of each (name, digest)
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < datasets.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateDatasetInput("datasets[" + std::to_string(i) + "]", datasets[i]));
    if (seen.insert({datasets[i].dataset.name, datasets[i].dataset.digest}).second) {
      unique.push_back(&datasets[i]);
    }
  }
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(RunState run, LoadActiveRun(connection, run_id));
    for (const DatasetInput* input : unique) {
      const Dataset& d = input->dataset;
      storage::SqlValue schema = d.schema ? storage::SqlValue(*d.schema) : storage::SqlNull();
      storage::SqlValue profile = d.profile ? storage::SqlValue(*d.profile) : storage::SqlNull();
      KILN_RETURN_IF_ERROR(Done(connection.Execute(
          "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (experiment_id, name, digest) DO NOTHING",
          {ids_.NewId(), run.experiment_id, d.name, d.digest, d.source_type, d.source, schema, profile})));
      KILN_ASSIGN_OR_RETURN(
          storage::Rows rows,
          connection.Query("SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                           {run.experiment_id, d.name, d.digest}));
      if (rows.empty()) return Internal("dataset '" + d.name + "' was neither inserted nor found");
      std::string input_uuid = ids_.NewId();
      KILN_ASSIGN_OR_RETURN(
          int64_t linked,
          connection.Execute("INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, "
                             "destination_id) VALUES (?, 'DATASET', ?, 'RUN', ?) "
                             "ON CONFLICT (source_type, source_id, destination_type, destination_id) DO NOTHING",
                             {input_uuid, rows[0].String(0), std::string(run_id)}));
      if (linked == 0) continue;  // already an input of this run: keep its tags, as MLflow does
      for (const InputTag& tag : input->tags) {
        KILN_RETURN_IF_ERROR(Done(connection.Execute(
            "INSERT INTO input_tags (input_uuid, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (input_uuid, key) DO UPDATE SET value = excluded.value",
            {input_uuid, tag.key, tag.value})));
      }
    }
    return Status::Ok();
  });
}

Result<RunPage> TrackingStore::SearchRuns(const SearchRunsRequest& request) {
  std::vector<int64_t> experiment_ids;
  for (const std::string& id : request.experiment_ids) {
    // An id that is not an integer names no experiment, so matches no run.
    Result<int64_t> parsed = ParseExperimentId(id);
    if (parsed.ok()) experiment_ids.push_back(*parsed);
  }
  RunPage page;
  if (experiment_ids.empty()) return page;  // as MLflow: no experiments, no runs
  KILN_ASSIGN_OR_RETURN(SearchQuery query, PlanRunSearch(experiment_ids, request.filter, request.view,
                                                         request.max_results, request.order_by, request.page_token));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(query.sql, query.params));
  std::vector<std::string> run_ids;
  run_ids.reserve(rows.size());
  for (const storage::Row& row : rows) {
    if (static_cast<int64_t>(run_ids.size()) == query.page_size) break;
    run_ids.push_back(row.String(0));
  }
  if (static_cast<int64_t>(rows.size()) > query.page_size) {
    page.next_page_token = EncodePageToken(query.offset + query.page_size);
  }
  KILN_ASSIGN_OR_RETURN(page.runs, LoadRuns(*connection, run_ids));
  return page;
}

}  // namespace kiln::tracking
