// TrackingStore: metric logging (single and batch, with latest_metrics kept
// by MLflow's rule) and metric history reads.
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "common/json.h"
#include "tracking/search_plan.h"
#include "tracking/tracking_sql.h"
#include "tracking/tracking_store.h"
#include "tracking/tracking_validation.h"

namespace kiln::tracking {
namespace {

// Rows per multi-row INSERT; a batch is split into power-of-two statements
// (64, 32, ..., 1 rows) so a connection prepares at most seven shapes.
constexpr size_t kMaxRowsPerInsert = 64;

// A metric as stored, ordered the way MLflow picks the latest point:
// (step, timestamp, value) with NaN counting as 0.
struct StoredMetric {
  std::string key;
  int64_t step = 0;
  int64_t timestamp = 0;
  double value = 0;
  int64_t is_nan = 0;

  auto Recency() const { return std::tie(step, timestamp, value); }
  auto Identity() const { return std::tie(key, step, timestamp, value, is_nan); }
};

StoredMetric Store(const Metric& metric) {
  StoredMetricValue stored = EncodeMetricValue(metric.value);
  return {metric.key, metric.step, metric.timestamp, stored.value, stored.is_nan};
}

// Runs `head + "(?, ..., ?), (...)" + tail` over `rows` (each `columns` values).
Status InsertRows(storage::Connection& connection, std::string_view head, std::string_view tail, size_t columns,
                  const std::vector<std::vector<storage::SqlValue>>& rows) {
  std::string row_placeholders = "(" + Placeholders(columns) + ")";
  size_t next = 0;
  while (next < rows.size()) {
    size_t count = kMaxRowsPerInsert;
    while (count > rows.size() - next) count /= 2;
    std::string sql(head);
    std::vector<storage::SqlValue> params;
    params.reserve(count * columns);
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) sql += ", ";
      sql += row_placeholders;
      const auto& row = rows[next + i];
      params.insert(params.end(), row.begin(), row.end());
    }
    sql.append(tail);
    auto written = connection.Execute(sql, params);
    if (!written.ok()) return written.status();
    next += count;
  }
  return Status::Ok();
}

Metric LoadMetric(const storage::Row& row, size_t first) {
  // Columns from `first`: key, value, is_nan, timestamp_ms, step.
  return {row.String(first), DecodeMetricValue(row.Double(first + 1), row.Int(first + 2)), row.Int(first + 3),
          row.Int(first + 4)};
}

}  // namespace

Status TrackingStore::WriteMetrics(storage::Connection& connection, std::string_view run_id,
                                   const std::vector<Metric>& metrics) {
  std::vector<StoredMetric> points;
  points.reserve(metrics.size());
  for (const Metric& metric : metrics) points.push_back(Store(metric));
  // An identical point is stored once (it is the table's key).
  std::sort(points.begin(), points.end(),
            [](const StoredMetric& a, const StoredMetric& b) { return a.Identity() < b.Identity(); });
  points.erase(std::unique(points.begin(), points.end(),
                           [](const StoredMetric& a, const StoredMetric& b) { return a.Identity() == b.Identity(); }),
               points.end());

  std::vector<std::vector<storage::SqlValue>> history;
  history.reserve(points.size());
  // The greatest point per key; keys sorted, a fixed lock order for writers.
  std::map<std::string, const StoredMetric*> latest;
  for (const StoredMetric& point : points) {
    history.push_back({std::string(run_id), point.key, point.step, point.timestamp, point.value, point.is_nan});
    auto [it, inserted] = latest.try_emplace(point.key, &point);
    if (!inserted && point.Recency() > it->second->Recency()) it->second = &point;
  }
  KILN_RETURN_IF_ERROR(InsertRows(connection,
                                  "INSERT INTO metrics (run_uuid, key, step, timestamp_ms, value, is_nan) VALUES ",
                                  " ON CONFLICT (run_uuid, key, step, timestamp_ms, value, is_nan) DO NOTHING", 6,
                                  history));

  std::vector<std::vector<storage::SqlValue>> newest;
  newest.reserve(latest.size());
  for (const auto& [key, point] : latest) {
    newest.push_back({std::string(run_id), key, point->step, point->timestamp, point->value, point->is_nan});
  }
  return InsertRows(connection,
                    "INSERT INTO latest_metrics (run_uuid, key, step, timestamp_ms, value, is_nan) VALUES ",
                    " ON CONFLICT (run_uuid, key) DO UPDATE SET step = excluded.step, "
                    "timestamp_ms = excluded.timestamp_ms, value = excluded.value, is_nan = excluded.is_nan "
                    "WHERE (excluded.step, excluded.timestamp_ms, excluded.value) > "
                    "(latest_metrics.step, latest_metrics.timestamp_ms, latest_metrics.value)",
                    6, newest);
}

Status TrackingStore::LogMetric(std::string_view run_id, const Metric& metric) {
  KILN_RETURN_IF_ERROR(ValidateMetric("", metric));
  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadActiveRun(connection, run_id).status());
    return WriteMetrics(connection, run_id, {metric});
  });
}

Status TrackingStore::LogBatch(std::string_view run_id, const std::vector<Metric>& metrics,
                               const std::vector<Param>& params, const std::vector<RunTag>& tags) {
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("metrics", kMaxMetricsPerBatch, metrics.size()));
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("params", kMaxParamsPerBatch, params.size()));
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("tags", kMaxTagsPerBatch, tags.size()));
  KILN_RETURN_IF_ERROR(ValidateBatchLimit("metrics, params, and tags", kMaxEntitiesPerBatch,
                                          metrics.size() + params.size() + tags.size()));
  for (size_t i = 0; i < metrics.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateMetric("metrics[" + std::to_string(i) + "]", metrics[i]));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateParam("params[" + std::to_string(i) + "]", params[i]));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateRunTag("tags[" + std::to_string(i) + "]", tags[i]));
  }
  // A key given twice with the same value is logged once; with two values it
  // is an error, whatever the run already holds.
  std::vector<Param> unique_params;
  std::map<std::string, std::string> param_values;
  std::vector<std::string> conflicting;
  for (const Param& param : params) {
    auto [it, inserted] = param_values.try_emplace(param.key, param.value);
    if (inserted) {
      unique_params.push_back(param);
    } else if (it->second != param.value &&
               std::find(conflicting.begin(), conflicting.end(), param.key) == conflicting.end()) {
      conflicting.push_back(param.key);
    }
  }
  if (!conflicting.empty()) {
    std::string keys;
    for (const std::string& key : conflicting) keys += (keys.empty() ? "'" : ", '") + key + "'";
    return InvalidArgument("Duplicate parameter keys have been submitted: [" + keys +
                           "]. Please ensure the request contains only one param value per param key.");
  }

  // Keys in a fixed order, so concurrent batches lock rows in the same order.
  std::sort(unique_params.begin(), unique_params.end(),
            [](const Param& a, const Param& b) { return a.key < b.key; });

  return database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(LoadActiveRun(connection, run_id).status());
    KILN_RETURN_IF_ERROR(WriteParams(connection, run_id, unique_params));
    if (!metrics.empty()) KILN_RETURN_IF_ERROR(WriteMetrics(connection, run_id, metrics));
    return WriteTags(connection, run_id, tags);
  });
}

Result<MetricPage> TrackingStore::GetMetricHistory(const MetricHistoryRequest& request) {
  if (request.max_results && *request.max_results < 1) {
    return InvalidArgument("Invalid value " + std::to_string(*request.max_results) +
                           " for parameter 'max_results' supplied. It must be a positive integer.");
  }
  int64_t offset = 0;
  if (!request.page_token.empty()) {
    KILN_ASSIGN_OR_RETURN(offset, DecodePageToken(request.page_token));
  }
  int64_t limit = request.max_results ? *request.max_results + 1 : std::numeric_limits<int64_t>::max();

  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_RETURN_IF_ERROR(LoadRunState(*connection, request.run_id).status());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection->Query("SELECT key, value, is_nan, timestamp_ms, step FROM metrics "
                                          "WHERE run_uuid = ? AND key = ? "
                                          "ORDER BY timestamp_ms, step, value, is_nan LIMIT ? OFFSET ?",
                                          {request.run_id, request.metric_key, limit, offset}));
  MetricPage page;
  page.metrics.reserve(rows.size());
  for (const storage::Row& row : rows) {
    if (request.max_results && static_cast<int64_t>(page.metrics.size()) == *request.max_results) {
      page.next_page_token = EncodePageToken(offset + *request.max_results);
      break;
    }
    page.metrics.push_back(LoadMetric(row, 0));
  }
  return page;
}

Result<std::vector<MetricWithRunId>> TrackingStore::GetMetricHistoryBulkInterval(const BulkIntervalRequest& request) {
  if (request.run_ids.empty()) return MissingParameter("run_ids");
  if (request.run_ids.size() > kMaxRunsPerBulkInterval) {
    return InvalidArgument("GetMetricHistoryBulkInterval request must specify at most " +
                           std::to_string(kMaxRunsPerBulkInterval) + " run_ids. Received " +
                           std::to_string(request.run_ids.size()) + " run_ids.");
  }
  if (request.metric_key.empty()) return MissingParameter("metric_key");
  if (request.max_results < 1 || request.max_results > kMaxResultsPerRunBulkInterval) {
    return InvalidArgument("max_results must be between 1 and " + std::to_string(kMaxResultsPerRunBulkInterval) +
                           ".");
  }
  if (request.start_step.has_value() != request.end_step.has_value()) {
    return InvalidArgument("If either start step or end step are specified, both must be specified.");
  }
  if (request.start_step && *request.start_step > *request.end_step) {
    return InvalidArgument("end_step must be greater than start_step. Found start_step=" +
                           std::to_string(*request.start_step) + " and end_step=" +
                           std::to_string(*request.end_step) + ".");
  }
  std::vector<std::string> run_ids;  // request order, each once
  for (const std::string& id : request.run_ids) {
    if (std::find(run_ids.begin(), run_ids.end(), id) == run_ids.end()) run_ids.push_back(id);
  }
  std::vector<storage::SqlValue> run_keys(run_ids.begin(), run_ids.end());
  const storage::SqlValue pad = std::string();

  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  std::set<std::string> existing;
  KILN_RETURN_IF_ERROR(QueryInChunks(*connection, "SELECT run_uuid FROM runs WHERE run_uuid IN ", "", {}, run_keys,
                                     pad, [&](const storage::Row& row) { existing.insert(row.String(0)); }));
  for (const std::string& id : run_ids) {
    if (!existing.count(id)) return RunNotFound(id);
  }

  // Every step any run logged, and each run's first and last step.
  std::set<int64_t> step_set;
  std::set<int64_t> run_bounds;
  KILN_RETURN_IF_ERROR(QueryInChunks(
      *connection, "SELECT MIN(step), MAX(step) FROM metrics WHERE key = ? AND run_uuid IN ", " GROUP BY run_uuid",
      {request.metric_key}, run_keys, pad, [&](const storage::Row& row) {
        run_bounds.insert(row.Int(0));
        run_bounds.insert(row.Int(1));
      }));
  if (run_bounds.empty()) return std::vector<MetricWithRunId>();
  KILN_RETURN_IF_ERROR(QueryInChunks(*connection, "SELECT DISTINCT step FROM metrics WHERE key = ? AND run_uuid IN ",
                                     "", {request.metric_key}, run_keys, pad,
                                     [&](const storage::Row& row) { step_set.insert(row.Int(0)); }));
  std::vector<int64_t> all_steps(step_set.begin(), step_set.end());

  int64_t start_step = request.start_step.value_or(0);
  int64_t end_step = request.end_step.value_or(all_steps.back());
  size_t start_index = std::lower_bound(all_steps.begin(), all_steps.end(), start_step) - all_steps.begin();
  size_t end_index = std::upper_bound(all_steps.begin(), all_steps.end(), end_step) - all_steps.begin();
  std::set<int64_t> sampled;
  size_t in_range = end_index > start_index ? end_index - start_index : 0;
  size_t max_results = static_cast<size_t>(request.max_results);
  if (in_range <= max_results) {
    sampled.insert(all_steps.begin() + start_index, all_steps.begin() + end_index);
  } else if (max_results == 1) {
    sampled.insert(all_steps[end_index - 1]);
  } else {
    // max_results evenly spaced steps, the first and last in range among them.
    for (size_t i = 0; i < max_results; ++i) {
      sampled.insert(all_steps[start_index + i * (in_range - 1) / (max_results - 1)]);
    }
  }
  for (int64_t step : run_bounds) {
    if (step >= start_step && step <= end_step) sampled.insert(step);
  }
  if (sampled.empty()) return std::vector<MetricWithRunId>();

  std::vector<storage::SqlValue> params = {request.metric_key};
  params.insert(params.end(), run_keys.begin(), run_keys.end());
  params.insert(params.end(), sampled.begin(), sampled.end());
  KILN_ASSIGN_OR_RETURN(
      storage::Rows rows,
      connection->Query("SELECT run_uuid, key, value, is_nan, timestamp_ms, step FROM metrics WHERE key = ? AND "
                        "run_uuid IN (" + Placeholders(run_keys.size()) + ") AND step IN (" +
                            Placeholders(sampled.size()) + ") ORDER BY run_uuid, step, timestamp_ms, value, is_nan",
                        params));
  std::unordered_map<std::string, std::vector<MetricWithRunId>> per_run;
  for (const storage::Row& row : rows) {
    std::vector<MetricWithRunId>& points = per_run[row.String(0)];
    if (static_cast<int64_t>(points.size()) < kMaxResultsGetMetricHistory) {
      points.push_back({LoadMetric(row, 1), row.String(0)});
    }
  }
  std::vector<MetricWithRunId> out;
  out.reserve(rows.size());
  for (const std::string& id : run_ids) {
    auto it = per_run.find(id);
    if (it == per_run.end()) continue;
    out.insert(out.end(), std::make_move_iterator(it->second.begin()), std::make_move_iterator(it->second.end()));
  }
  return out;
}

}  // namespace kiln::tracking
