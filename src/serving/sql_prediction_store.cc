// The SQL prediction store: tables `predictions` and `prediction_log_drops`
// (src/serving/migrations/0001_serving.sql, docs/formats/prediction-log.md)
// of the metadata database, SQLite or PostgreSQL. A batch is inserted in one
// transaction with multi-row INSERTs; commits are durable when Write
// returns, so Flush has nothing to do. Thread-safe (the Database is).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "serving/prediction_log.h"
#include "storage/database.h"

namespace kiln::serving {

namespace {

constexpr const char* kColumns =
    "id, timestamp_micros, model, version, alias, experiment, arm, unit_id, entity_json, request_json, "
    "features_json, features_as_of_micros, prediction";
constexpr int kColumnCount = 13;
constexpr size_t kIdsPerQuery = 500;

std::string JsonText(const Json& value) {
  return (value.is_object() ? value : Json::object()).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// "INSERT INTO predictions (...) VALUES (?, ...), (?, ...)" for `rows` rows.
std::string InsertStatement(size_t rows) {
  std::string row = "(";
  for (int c = 0; c < kColumnCount; ++c) row += c == 0 ? "?" : ", ?";
  row += ")";
  std::string sql = std::string("INSERT INTO predictions (") + kColumns + ") VALUES ";
  for (size_t r = 0; r < rows; ++r) sql += (r == 0 ? "" : ", ") + row;
  return sql;
}

void BindRecord(const PredictionRecord& record, std::vector<storage::SqlValue>* params) {
  std::string features;
  AppendFeaturesJson(record, &features);
  params->insert(params->end(),
                 {record.id, record.timestamp_micros, record.model, record.version, record.alias, record.experiment,
                  record.arm, record.unit_id, JsonText(record.entity), JsonText(record.request), std::move(features),
                  record.features_as_of_micros, record.prediction});  // NaN: NULL on SQLite, NaN on PostgreSQL
}

Result<Json> ParseObjectColumn(const std::string& text, const std::string& id, const char* column) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return Internal("table predictions, row '" + id + "': column " + column + " is not a JSON object");
  }
  return json;
}

// A row selected with kColumns.
Result<PredictionRecord> RecordFromRow(const storage::Row& row) {
  PredictionRecord record;
  record.id = row.String(0);
  record.timestamp_micros = row.Int(1);
  record.model = row.String(2);
  record.version = row.Int(3);
  record.alias = row.String(4);
  record.experiment = row.String(5);
  record.arm = row.String(6);
  record.unit_id = row.String(7);
  KILN_ASSIGN_OR_RETURN(record.entity, ParseObjectColumn(row.String(8), record.id, "entity_json"));
  KILN_ASSIGN_OR_RETURN(record.request, ParseObjectColumn(row.String(9), record.id, "request_json"));
  Status features = ParseFeaturesJson(row.String(10), &record);
  if (!features.ok()) {
    return Internal("table predictions, row '" + record.id + "': column features_json: " + features.message());
  }
  record.features_as_of_micros = row.Int(11);
  record.prediction = row.IsNull(12) ? std::numeric_limits<double>::quiet_NaN() : row.Double(12);
  return record;
}

class SqlPredictionStore : public PredictionStore {
 public:
  explicit SqlPredictionStore(storage::Database& database) : database_(database) {}

  Status Write(std::span<const PredictionRecord> records) override {
    if (records.empty()) return Status::Ok();
    Status status = database_.InTransaction([&](storage::Connection& connection) -> Status {
      // Chunks of 100, 10 and 1 rows: few statement shapes for the statement caches.
      for (size_t next = 0; next < records.size();) {
        size_t left = records.size() - next;
        size_t rows = left >= 100 ? 100 : left >= 10 ? 10 : 1;
        std::vector<storage::SqlValue> params;
        params.reserve(rows * kColumnCount);
        for (size_t r = 0; r < rows; ++r) BindRecord(records[next + r], &params);
        KILN_ASSIGN_OR_RETURN(int64_t inserted, connection.Execute(InsertStatement(rows), params));
        (void)inserted;
        next += rows;
      }
      return Status::Ok();
    });
    if (status.ok()) return status;
    return Status(status.code(), "writing " + std::to_string(records.size()) + " predictions to " + Describe() +
                                     ": " + status.message());
  }

  Status WriteDrop(const DropMarker& drop) override {
    Status status = database_.InTransaction([&](storage::Connection& connection) -> Status {
      return connection
          .Execute("INSERT INTO prediction_log_drops (dropped, first_micros, last_micros) VALUES (?, ?, ?)",
                   {drop.count, drop.first_micros, drop.last_micros})
          .status();
    });
    if (status.ok()) return status;
    return Status(status.code(), "writing a drop marker to " + Describe() + ": " + status.message());
  }

  Status Flush() override { return Status::Ok(); }

  Result<PredictionReadResult> Read(const PredictionQuery& query) override;

  std::string Describe() const override {
    return std::string("table predictions (") +
           (database_.dialect() == storage::Dialect::kPostgres ? "postgresql" : "sqlite") + ")";
  }

 private:
  storage::Database& database_;
};

Result<PredictionReadResult> SqlPredictionStore::Read(const PredictionQuery& query) {
  std::string where = " WHERE 1 = 1";
  std::vector<storage::SqlValue> params;
  if (!query.model.empty()) where += " AND model = ?", params.push_back(query.model);
  if (query.version) where += " AND version = ?", params.push_back(*query.version);
  if (query.start_micros) where += " AND timestamp_micros >= ?", params.push_back(*query.start_micros);
  if (query.end_micros) where += " AND timestamp_micros < ?", params.push_back(*query.end_micros);
  const std::string order = " ORDER BY timestamp_micros, id";

  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  PredictionReadResult result;
  std::shared_ptr<const std::vector<std::string>> last_names;
  auto add = [&](const storage::Row& row) -> Status {
    KILN_ASSIGN_OR_RETURN(PredictionRecord record, RecordFromRow(row));
    if (last_names != nullptr && record.feature_names != nullptr && *last_names == *record.feature_names) {
      record.feature_names = last_names;  // share one list per model version
    } else {
      last_names = record.feature_names;
    }
    result.records.push_back(std::move(record));
    return Status::Ok();
  };

  if (query.sample <= 0) {
    KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                          connection->Query(std::string("SELECT ") + kColumns + " FROM predictions" + where + order,
                                            params));
    result.matched = static_cast<int64_t>(rows.size());
    for (const storage::Row& row : rows) KILN_RETURN_IF_ERROR(add(row));
  } else {
    // Sample the ids in (timestamp, id) order, then fetch the chosen rows.
    KILN_ASSIGN_OR_RETURN(storage::Rows ids, connection->Query("SELECT id FROM predictions" + where + order, params));
    result.matched = static_cast<int64_t>(ids.size());
    ReservoirSampler sampler(query.sample, query.seed);
    std::vector<std::string> chosen;
    for (const storage::Row& row : ids) {
      int64_t slot = sampler.Offer();
      if (slot < 0) continue;
      if (slot == static_cast<int64_t>(chosen.size())) {
        chosen.push_back(row.String(0));
      } else {
        chosen[static_cast<size_t>(slot)] = row.String(0);
      }
    }
    for (size_t begin = 0; begin < chosen.size(); begin += kIdsPerQuery) {
      size_t end = std::min(chosen.size(), begin + kIdsPerQuery);
      std::string sql = std::string("SELECT ") + kColumns + " FROM predictions WHERE id IN (";
      std::vector<storage::SqlValue> id_params;
      for (size_t i = begin; i < end; ++i) {
        sql += i == begin ? "?" : ", ?";
        id_params.push_back(chosen[i]);
      }
      KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql + ")", id_params));
      for (const storage::Row& row : rows) KILN_RETURN_IF_ERROR(add(row));
    }
    std::sort(result.records.begin(), result.records.end(), [](const PredictionRecord& a, const PredictionRecord& b) {
      return a.timestamp_micros != b.timestamp_micros ? a.timestamp_micros < b.timestamp_micros : a.id < b.id;
    });
  }

  std::string drop_where = " WHERE 1 = 1";
  std::vector<storage::SqlValue> drop_params;
  if (query.start_micros) drop_where += " AND last_micros >= ?", drop_params.push_back(*query.start_micros);
  if (query.end_micros) drop_where += " AND first_micros < ?", drop_params.push_back(*query.end_micros);
  KILN_ASSIGN_OR_RETURN(storage::Rows drops,
                        connection->Query("SELECT dropped, first_micros, last_micros FROM prediction_log_drops" +
                                              drop_where + " ORDER BY first_micros, last_micros",
                                          drop_params));
  for (const storage::Row& row : drops) result.drops.push_back({row.Int(0), row.Int(1), row.Int(2)});
  return result;
}

}  // namespace

Result<std::unique_ptr<PredictionStore>> OpenSqlPredictionStore(storage::Database& database) {
  {
    KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database.Acquire());
    auto probe = connection->Query("SELECT id FROM predictions WHERE 1 = 0");
    if (!probe.ok()) {
      return FailedPrecondition("the metadata store at " + database.Describe() +
                                " has no usable predictions table (are the serving migrations applied?): " +
                                probe.status().message());
    }
  }
  return std::unique_ptr<PredictionStore>(std::make_unique<SqlPredictionStore>(database));
}

}  // namespace kiln::serving
