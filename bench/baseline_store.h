#pragma once
// The storage ceiling: the rows `kiln server` writes and reads for each
// benchmarked request, written and read directly through SQLite's C API in
// this process, in Kiln's own schema (src/tracking/migrations/*.sql) with
// the server's PRAGMAs. No HTTP, no JSON, no validation. Single-threaded;
// errors throw SqliteError.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sqlite_db.h"

namespace kiln_bench {

struct Point {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;
  int64_t step = 0;
};

struct RunRecord {
  std::string run_id, run_name, user_id, status, lifecycle_stage, artifact_uri;
  int64_t experiment_id = 0, start_time = 0, end_time = 0;
  std::vector<std::pair<std::string, std::string>> params, tags;
  std::vector<Point> metrics;
};

class BaselineStore {
 public:
  // Creates the database at `path` (which must not exist) with every
  // migration in `migrations_dir`, in name order.
  BaselineStore(const std::string& path, bool full_sync, const std::string& migrations_dir);

  void Begin() { db_.Exec("BEGIN IMMEDIATE"); }
  // Gathers planner statistics (the server does not; reported separately).
  void Analyze() { db_.Exec("ANALYZE"); }
  void Commit() { db_.Exec("COMMIT"); }

  // Each writes what the matching request writes; REQUIRES: inside Begin/Commit.
  void CreateExperiment(int64_t experiment_id, const std::string& name);
  // runs/create: checks the experiment, inserts the run and its tags
  // (mlflow.runName, mlflow.user).
  void CreateRun(const std::string& run_id, int64_t experiment_id, int64_t start_time, const std::string& run_name);
  // runs/log-batch and runs/log-metric: checks the run, inserts the params and
  // points, and moves latest_metrics forward once per key.
  void LogBatch(const std::string& run_id, const std::vector<std::pair<std::string, std::string>>& params,
                const std::vector<Point>& points);

  // runs/search with "metrics.m3 > threshold AND params.p1 = value" and
  // order_by metrics.m5 DESC (then start_time DESC, run_uuid): the first
  // `limit` run ids.
  std::vector<std::string> SearchFiltered(int64_t experiment_id, double threshold, const std::string& param_value,
                                          int64_t limit);
  // runs/search with no filter and no order_by.
  std::vector<std::string> SearchAll(int64_t experiment_id, int64_t limit);
  // What a search answer carries per run: info, params, latest metrics, tags.
  std::vector<RunRecord> LoadRuns(const std::vector<std::string>& run_ids);
  // metrics/get-history: every point of one metric, in the server's order.
  std::vector<Point> History(const std::string& run_id, const std::string& key);

 private:
  Database db_;
  std::unique_ptr<Statement> select_experiment_, insert_run_, upsert_tag_, select_run_, insert_param_, insert_metric_,
      upsert_latest_, search_filtered_, search_all_, run_info_, run_params_, run_metrics_, run_tags_, history_;
};

}  // namespace kiln_bench
