#include "baseline_store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

namespace kiln_bench {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw SqliteError("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

BaselineStore::BaselineStore(const std::string& path, bool full_sync, const std::string& migrations_dir)
    : db_(path) {
  // The server's PRAGMAs (src/storage/sqlite_database.cc; keep in step).
  db_.Exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON;"
           " PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384;");
  db_.Exec(full_sync ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
  std::vector<std::filesystem::path> migrations;
  for (const auto& entry : std::filesystem::directory_iterator(migrations_dir)) {
    if (entry.path().extension() == ".sql") migrations.push_back(entry.path());
  }
  if (migrations.empty()) throw SqliteError("no *.sql migrations in " + migrations_dir);
  std::sort(migrations.begin(), migrations.end());
  for (const auto& migration : migrations) db_.Exec(ReadFile(migration));

  sqlite3* db = db_.get();
  auto prepare = [db](std::string_view sql) { return std::make_unique<Statement>(db, sql); };
  select_experiment_ = prepare("SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?");
  insert_run_ = prepare(
      "INSERT INTO runs (run_uuid, experiment_id, run_name, user_id, status, start_time, end_time, "
      "lifecycle_stage, artifact_uri, deleted_time) VALUES (?, ?, ?, '', 'RUNNING', ?, NULL, 'active', ?, NULL)");
  upsert_tag_ = prepare(
      "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?) "
      "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value");
  select_run_ = prepare(
      "SELECT r.experiment_id, r.run_name, r.lifecycle_stage, e.lifecycle_stage "
      "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id WHERE r.run_uuid = ?");
  insert_param_ = prepare(
      "INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?) ON CONFLICT (run_uuid, key) DO NOTHING");
  insert_metric_ = prepare(
      "INSERT INTO metrics (run_uuid, key, step, timestamp_ms, value, is_nan) VALUES (?, ?, ?, ?, ?, 0) "
      "ON CONFLICT (run_uuid, key, step, timestamp_ms, value, is_nan) DO NOTHING");
  upsert_latest_ = prepare(
      "INSERT INTO latest_metrics (run_uuid, key, step, timestamp_ms, value, is_nan) VALUES (?, ?, ?, ?, ?, 0) "
      "ON CONFLICT (run_uuid, key) DO UPDATE SET step = excluded.step, timestamp_ms = excluded.timestamp_ms, "
      "value = excluded.value, is_nan = excluded.is_nan "
      "WHERE (excluded.step, excluded.timestamp_ms, excluded.value) > "
      "(latest_metrics.step, latest_metrics.timestamp_ms, latest_metrics.value)");
  // The filtered search as one would write it by hand: join the filtered
  // keys, LEFT JOIN the ordering key (runs without it sort last).
  search_filtered_ = prepare(
      "SELECT r.run_uuid FROM runs r "
      "JOIN latest_metrics f ON f.run_uuid = r.run_uuid AND f.key = 'm3' "
      "JOIN params p ON p.run_uuid = r.run_uuid AND p.key = 'p1' "
      "LEFT JOIN latest_metrics o ON o.run_uuid = r.run_uuid AND o.key = 'm5' "
      "WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active' AND f.is_nan = 0 AND f.value > ? AND p.value = ? "
      "ORDER BY o.value IS NULL, o.value DESC, r.start_time DESC, r.run_uuid LIMIT ?");
  search_all_ = prepare(
      "SELECT run_uuid FROM runs WHERE experiment_id = ? AND lifecycle_stage = 'active' "
      "ORDER BY start_time DESC, run_uuid LIMIT ?");
  run_info_ = prepare(
      "SELECT run_uuid, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, "
      "lifecycle_stage FROM runs WHERE run_uuid = ?");
  run_params_ = prepare("SELECT key, value FROM params WHERE run_uuid = ?");
  run_metrics_ = prepare("SELECT key, value, timestamp_ms, step FROM latest_metrics WHERE run_uuid = ?");
  run_tags_ = prepare("SELECT key, value FROM tags WHERE run_uuid = ?");
  history_ = prepare(
      "SELECT key, value, is_nan, timestamp_ms, step FROM metrics WHERE run_uuid = ? AND key = ? "
      "ORDER BY timestamp_ms, step, value, is_nan");
}

void BaselineStore::CreateExperiment(int64_t experiment_id, const std::string& name) {
  Statement insert(db_.get(),
                   "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                   "last_update_time) VALUES (?, ?, ?, 'active', 0, 0)");
  insert.Bind(1, experiment_id).Bind(2, name).Bind(3, "mlflow-artifacts:/" + std::to_string(experiment_id)).Run();
}

void BaselineStore::CreateRun(const std::string& run_id, int64_t experiment_id, int64_t start_time,
                              const std::string& run_name) {
  select_experiment_->Bind(1, experiment_id);
  if (!select_experiment_->Step()) throw SqliteError("no experiment " + std::to_string(experiment_id));
  std::string artifact_uri = select_experiment_->Text(1) + "/" + run_id + "/artifacts";
  while (select_experiment_->Step()) {
  }
  insert_run_->Bind(1, run_id).Bind(2, experiment_id).Bind(3, run_name).Bind(4, start_time).Bind(5, artifact_uri).Run();
  upsert_tag_->Bind(1, run_id).Bind(2, "mlflow.runName").Bind(3, run_name).Run();
  upsert_tag_->Bind(1, run_id).Bind(2, "mlflow.user").Bind(3, "k6").Run();
}

void BaselineStore::LogBatch(const std::string& run_id, const std::vector<std::pair<std::string, std::string>>& params,
                             const std::vector<Point>& points) {
  select_run_->Bind(1, run_id);
  if (!select_run_->Step()) throw SqliteError("no run " + run_id);
  while (select_run_->Step()) {
  }
  for (const auto& [key, value] : params) insert_param_->Bind(1, run_id).Bind(2, key).Bind(3, value).Run();
  std::map<std::string, const Point*> latest;
  for (const Point& point : points) {
    insert_metric_->Bind(1, run_id).Bind(2, point.key).Bind(3, point.step).Bind(4, point.timestamp).Bind(5, point.value);
    insert_metric_->Run();
    auto [it, inserted] = latest.try_emplace(point.key, &point);
    if (!inserted && std::tie(point.step, point.timestamp, point.value) >
                         std::tie(it->second->step, it->second->timestamp, it->second->value)) {
      it->second = &point;
    }
  }
  for (const auto& [key, point] : latest) {
    upsert_latest_->Bind(1, run_id).Bind(2, key).Bind(3, point->step).Bind(4, point->timestamp).Bind(5, point->value);
    upsert_latest_->Run();
  }
}

std::vector<std::string> BaselineStore::SearchFiltered(int64_t experiment_id, double threshold,
                                                       const std::string& param_value, int64_t limit) {
  std::vector<std::string> ids;
  search_filtered_->Bind(1, experiment_id).Bind(2, threshold).Bind(3, param_value).Bind(4, limit);
  while (search_filtered_->Step()) ids.push_back(search_filtered_->Text(0));
  return ids;
}

std::vector<std::string> BaselineStore::SearchAll(int64_t experiment_id, int64_t limit) {
  std::vector<std::string> ids;
  search_all_->Bind(1, experiment_id).Bind(2, limit);
  while (search_all_->Step()) ids.push_back(search_all_->Text(0));
  return ids;
}

std::vector<RunRecord> BaselineStore::LoadRuns(const std::vector<std::string>& run_ids) {
  std::vector<RunRecord> runs;
  runs.reserve(run_ids.size());
  for (const std::string& id : run_ids) {
    RunRecord run;
    run_info_->Bind(1, id);
    while (run_info_->Step()) {
      run.run_id = run_info_->Text(0);
      run.experiment_id = run_info_->Int(1);
      run.run_name = run_info_->Text(2);
      run.user_id = run_info_->Text(3);
      run.status = run_info_->Text(4);
      run.start_time = run_info_->Int(5);
      run.end_time = run_info_->Int(6);
      run.artifact_uri = run_info_->Text(7);
      run.lifecycle_stage = run_info_->Text(8);
    }
    run_params_->Bind(1, id);
    while (run_params_->Step()) run.params.emplace_back(run_params_->Text(0), run_params_->Text(1));
    run_metrics_->Bind(1, id);
    while (run_metrics_->Step()) {
      run.metrics.push_back({run_metrics_->Text(0), run_metrics_->Double(1), run_metrics_->Int(2), run_metrics_->Int(3)});
    }
    run_tags_->Bind(1, id);
    while (run_tags_->Step()) run.tags.emplace_back(run_tags_->Text(0), run_tags_->Text(1));
    runs.push_back(std::move(run));
  }
  return runs;
}

std::vector<Point> BaselineStore::History(const std::string& run_id, const std::string& key) {
  std::vector<Point> points;
  history_->Bind(1, run_id).Bind(2, key);
  while (history_->Step()) {
    points.push_back({history_->Text(0), history_->Double(1), history_->Int(3), history_->Int(4)});
  }
  return points;
}

}  // namespace kiln_bench
