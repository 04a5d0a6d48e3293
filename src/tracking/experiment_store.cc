// TrackingStore: experiments (Kiln "projects") and their tags.
#include <string>

#include "tracking/search_plan.h"
#include "tracking/tracking_store.h"
#include "tracking/tracking_validation.h"

namespace kiln::tracking {
namespace {

// An experiment id allocated as MAX+1 can collide with a concurrent creator
// on PostgreSQL; the loser retries with the next id.
constexpr int kCreateAttempts = 8;

Status NameTaken(std::string_view name) {
  return AlreadyExists("Experiment(name=" + std::string(name) + ") already exists.");
}

// The experiment's lifecycle stage. Errors: kNotFound.
Result<std::string> ExperimentStage(storage::Connection& connection, int64_t id, std::string_view shown_id) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", {id}));
  if (rows.empty()) return ExperimentNotFound(shown_id);
  return rows[0].String(0);
}

Status RequireActiveExperiment(storage::Connection& connection, int64_t id, std::string_view shown_id) {
  KILN_ASSIGN_OR_RETURN(std::string stage, ExperimentStage(connection, id, shown_id));
  if (stage != kActiveStage) {
    return FailedPrecondition("The experiment " + std::string(shown_id) +
                              " must be in the 'active' state. Current state is " + stage + ".");
  }
  return Status::Ok();
}

Status UpsertExperimentTag(storage::Connection& connection, int64_t id, const ExperimentTag& tag) {
  auto written = connection.Execute(
      "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
      "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
      {id, tag.key, tag.value});
  return written.ok() ? Status::Ok() : written.status();
}

}  // namespace

Result<std::string> TrackingStore::CreateExperiment(std::string_view name, std::string_view artifact_location,
                                                    const std::vector<ExperimentTag>& tags) {
  KILN_RETURN_IF_ERROR(ValidateExperimentName(name));
  KILN_RETURN_IF_ERROR(ValidateArtifactLocation(artifact_location));
  for (const ExperimentTag& tag : tags) KILN_RETURN_IF_ERROR(ValidateExperimentTag(tag));

  Status last;
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    int64_t id = 0;
    bool name_taken = false;
    last = database_.InTransaction([&](storage::Connection& connection) -> Status {
      KILN_ASSIGN_OR_RETURN(storage::Rows same_name,
                            connection.Query("SELECT experiment_id FROM experiments WHERE name = ?",
                                             {std::string(name)}));
      if (!same_name.empty()) {
        name_taken = true;
        return NameTaken(name);
      }
      KILN_ASSIGN_OR_RETURN(storage::Rows next,
                            connection.Query("SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments"));
      id = next[0].Int(0);
      std::string location = artifact_location.empty() ? "mlflow-artifacts:/" + std::to_string(id)
                                                       : std::string(artifact_location);
      int64_t now = clock_.NowMillis();
      auto inserted = connection.Execute(
          "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
          "last_update_time) VALUES (?, ?, ?, 'active', ?, ?)",
          {id, std::string(name), location, now, now});
      if (!inserted.ok()) return inserted.status();
      for (const ExperimentTag& tag : tags) KILN_RETURN_IF_ERROR(UpsertExperimentTag(connection, id, tag));
      return Status::Ok();
    });
    if (last.ok()) return std::to_string(id);
    if (name_taken || last.code() != StatusCode::kAlreadyExists) return last;
  }
  return Unavailable("could not allocate an experiment id after " + std::to_string(kCreateAttempts) +
                     " attempts (heavy concurrent creation): " + last.message());
}

Result<Experiment> TrackingStore::GetExperiment(std::string_view experiment_id) {
  KILN_ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  return LoadExperiment(*connection, id, experiment_id);
}

Result<Experiment> TrackingStore::GetExperimentByName(std::string_view name) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query("SELECT experiment_id FROM experiments WHERE name = ?",
                                                              {std::string(name)}));
  if (rows.empty()) return NotFound("Could not find experiment with name '" + std::string(name) + "'");
  int64_t id = rows[0].Int(0);
  return LoadExperiment(*connection, id, std::to_string(id));
}

Result<ExperimentPage> TrackingStore::SearchExperiments(const SearchExperimentsRequest& request) {
  KILN_ASSIGN_OR_RETURN(SearchQuery query, PlanExperimentSearch(request.filter, request.view, request.max_results,
                                                                request.order_by, request.page_token));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(query.sql, query.params));
  ExperimentPage page;
  std::vector<int64_t> ids;
  for (const storage::Row& row : rows) {
    if (static_cast<int64_t>(ids.size()) == query.page_size) break;
    ids.push_back(row.Int(0));
  }
  if (static_cast<int64_t>(rows.size()) > query.page_size) {
    page.next_page_token = EncodePageToken(query.offset + query.page_size);
  }
  KILN_ASSIGN_OR_RETURN(page.experiments, LoadExperiments(*connection, ids));
  return page;
}

Status TrackingStore::RenameExperiment(std::string_view experiment_id, std::string_view new_name) {
  KILN_ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  KILN_RETURN_IF_ERROR(ValidateExperimentName(new_name));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(std::string stage, ExperimentStage(connection, id, experiment_id));
    if (stage != kActiveStage) return FailedPrecondition("Cannot rename a non-active experiment.");
    KILN_ASSIGN_OR_RETURN(
        storage::Rows same_name,
        connection.Query("SELECT experiment_id FROM experiments WHERE name = ? AND experiment_id <> ?",
                         {std::string(new_name), id}));
    if (!same_name.empty()) return NameTaken(new_name);
    auto updated = connection.Execute("UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                                      {std::string(new_name), clock_.NowMillis(), id});
    return updated.ok() ? Status::Ok() : updated.status();
  });
}

Status TrackingStore::DeleteExperiment(std::string_view experiment_id) {
  KILN_ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  if (id == 0) {
    return InvalidArgument("Cannot delete the default experiment '0'. This is an internally reserved experiment.");
  }
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(std::string stage, ExperimentStage(connection, id, experiment_id));
    if (stage != kActiveStage) return ExperimentNotFound(experiment_id);
    int64_t now = clock_.NowMillis();
    auto updated = connection.Execute(
        "UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = ? WHERE experiment_id = ?",
        {now, id});
    if (!updated.ok()) return updated.status();
    auto runs = connection.Execute(
        "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? "
        "WHERE experiment_id = ? AND lifecycle_stage = 'active'",
        {now, id});
    return runs.ok() ? Status::Ok() : runs.status();
  });
}

Status TrackingStore::RestoreExperiment(std::string_view experiment_id) {
  KILN_ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(std::string stage, ExperimentStage(connection, id, experiment_id));
    if (stage != kDeletedStage) return ExperimentNotFound(experiment_id);
    auto updated = connection.Execute(
        "UPDATE experiments SET lifecycle_stage = 'active', last_update_time = ? WHERE experiment_id = ?",
        {clock_.NowMillis(), id});
    if (!updated.ok()) return updated.status();
    auto runs = connection.Execute(
        "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ?", {id});
    return runs.ok() ? Status::Ok() : runs.status();
  });
}

Status TrackingStore::SetExperimentTag(std::string_view experiment_id, const ExperimentTag& tag) {
  KILN_ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  KILN_RETURN_IF_ERROR(ValidateExperimentTag(tag));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireActiveExperiment(connection, id, experiment_id));
    return UpsertExperimentTag(connection, id, tag);
  });
}

Status TrackingStore::DeleteExperimentTag(std::string_view experiment_id, std::string_view key) {
  KILN_ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireActiveExperiment(connection, id, experiment_id));
    KILN_ASSIGN_OR_RETURN(int64_t deleted,
                          connection.Execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                                             {id, std::string(key)}));
    if (deleted == 0) {
      return NotFound("No tag with name: " + std::string(key) + " in experiment with id " +
                      std::string(experiment_id));
    }
    return Status::Ok();
  });
}

}  // namespace kiln::tracking
