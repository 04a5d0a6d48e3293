#include "features/push.h"

#include <algorithm>
#include <cmath>

#include "data/timestamp.h"
#include "features/expectations.h"
#include "features/materializer.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

std::string TypeText(data::Type type) { return std::string(data::TypeName(type)); }

std::string RowPrefix(size_t row) { return "row " + std::to_string(row) + ": "; }

// The columns a push must carry, in order, with their types.
data::Schema PushSchema(const SourceDef& source) {
  data::Schema schema;
  for (const auto& [name, type] : source.columns) {
    if (name == source.timestamp_field || name == source.created_timestamp_field) continue;
    schema.push_back({name, type});
  }
  schema.push_back({source.timestamp_field, data::Type::kTimestamp});
  if (!source.created_timestamp_field.empty()) {
    schema.push_back({source.created_timestamp_field, data::Type::kTimestamp});
  }
  return schema;
}

std::string ColumnList(const data::Schema& schema) {
  std::string out;
  for (const data::Field& field : schema) out += (out.empty() ? "" : ", ") + field.name;
  return out;
}

// `column` as `type`, or an error naming the first row that cannot convert.
Result<data::Column> Convert(const data::Column& column, const std::string& name, data::Type type,
                             const data::TimeZone& zone) {
  if (column.type() == type) return column;
  data::Column out(type);
  out.Reserve(column.size());
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.IsNull(row)) {
      out.AppendNull();
      continue;
    }
    if (column.type() == data::Type::kInt64 && type == data::Type::kFloat64) {
      out.AppendFloat(static_cast<double>(column.ints()[row]));
    } else if (column.type() == data::Type::kFloat64 && type == data::Type::kInt64) {
      const double value = column.floats()[row];
      if (!std::isfinite(value) || value != std::trunc(value) || std::fabs(value) >= 9.2e18) {
        return InvalidArgument(RowPrefix(row) + "column '" + name + "' must be int64, got " +
                               column.Get(row).ToString());
      }
      out.AppendInt(static_cast<int64_t>(value));
    } else if (column.type() == data::Type::kString && type == data::Type::kTimestamp) {
      Result<int64_t> micros = data::ParseTimestamp(column.strings()[row], zone);
      if (!micros.ok()) {
        return InvalidArgument(RowPrefix(row) + "column '" + name + "': " + micros.status().message());
      }
      out.AppendInt(*micros);
    } else {
      return InvalidArgument(RowPrefix(row) + "column '" + name + "' must be " + TypeText(type) + ", got " +
                             TypeText(column.type()));
    }
  }
  return out;
}

}  // namespace

Result<data::Frame> ConformPushRows(const SourceDef& source, const data::Frame& rows, int64_t now_micros) {
  const data::Schema schema = PushSchema(source);
  for (const std::string& name : rows.names()) {
    const bool known = std::any_of(schema.begin(), schema.end(),
                                   [&](const data::Field& field) { return field.name == name; });
    if (!known) {
      return InvalidArgument("unknown column '" + name + "' for push source '" + source.name +
                             "' (columns: " + ColumnList(schema) + ")");
    }
  }
  KILN_ASSIGN_OR_RETURN(auto zone, data::TimeZone::Load(source.timezone));
  data::Frame out;
  for (const data::Field& field : schema) {
    const data::Column* column = rows.Find(field.name);
    if (column == nullptr) {
      if (field.name == source.created_timestamp_field) {
        data::Column created(data::Type::kTimestamp);
        created.Reserve(rows.num_rows());
        for (size_t row = 0; row < rows.num_rows(); ++row) created.AppendInt(now_micros);
        KILN_RETURN_IF_ERROR(out.AddColumn(field.name, std::move(created)));
        continue;
      }
      return InvalidArgument("rows lack column '" + field.name + "' of push source '" + source.name +
                             "' (columns: " + ColumnList(schema) + ")");
    }
    KILN_ASSIGN_OR_RETURN(data::Column converted, Convert(*column, field.name, field.type, *zone));
    if (field.name == source.timestamp_field) {
      for (size_t row = 0; row < converted.size(); ++row) {
        if (converted.IsNull(row)) {
          return InvalidArgument(RowPrefix(row) + "column '" + field.name + "' (the event timestamp) is null");
        }
      }
    }
    KILN_RETURN_IF_ERROR(out.AddColumn(field.name, std::move(converted)));
  }
  return out;
}

Pusher::Pusher(storage::Database& database, Clock& clock) : database_(database), clock_(clock) {}

Result<PushResult> Pusher::Run(const Repository& repository, const PushRequest& request, OnlineStore* online,
                               int threads) {
  const SourceDef* source = repository.FindSource(request.source);
  if (source == nullptr) {
    return NotFound("project '" + repository.project() + "' has no source '" + request.source + "'");
  }
  if (source->kind != SourceKind::kPush) {
    return InvalidArgument("source '" + source->name + "' is a " + std::string(SourceKindName(source->kind)) +
                           " source; only push sources accept pushed rows");
  }
  const bool to_online = request.to != PushTarget::kOffline;
  const bool to_offline = request.to != PushTarget::kOnline;
  const int64_t now_millis = clock_.NowMillis();
  KILN_ASSIGN_OR_RETURN(data::Frame rows, ConformPushRows(*source, request.rows, now_millis * 1000));
  const size_t num_rows = rows.num_rows();

  // Every feature view fed by the source checks its row features.
  std::vector<const ResolvedView*> views;
  for (const ResolvedView& view : repository.views()) {
    if (view.def->source != source->name) continue;
    if (to_online && view.def->online) {
      for (const ResolvedFeature& feature : view.features) {
        if (feature.def->aggregation) {
          return FailedPrecondition(
              "cannot push to the online store: feature view '" + view.def->name + "' (fed by push source '" +
              source->name + "') has aggregation feature '" + feature.name +
              "', which needs the events of its whole window; push to the offline store and run "
              "kiln features materialize instead");
        }
      }
    }
    views.push_back(&view);
  }
  std::vector<std::string> reasons(num_rows);
  for (const ResolvedView* view : views) {
    std::vector<data::Column> columns;
    std::vector<const ResolvedFeature*> features;
    for (const ResolvedFeature& feature : view->features) {
      if (feature.def->aggregation || !feature.expression || feature.def->expect.empty()) continue;
      KILN_ASSIGN_OR_RETURN(data::Column values, EvaluateRowFeature(feature, rows));
      columns.push_back(std::move(values));
      features.push_back(&feature);
    }
    std::vector<CheckedFeature> checked;
    for (size_t i = 0; i < features.size(); ++i) {
      checked.push_back({features[i]->def, &columns[i], features[i]->FullName()});
    }
    ExpectationReport report = CheckExpectations(checked, num_rows);
    for (size_t row = 0; row < num_rows; ++row) {
      if (report.reasons[row].empty()) continue;
      if (!reasons[row].empty()) reasons[row] += "; ";
      reasons[row] += report.reasons[row];
    }
  }

  PushResult result;
  result.rows_received = static_cast<int64_t>(num_rows);
  std::vector<int64_t> accepted;
  std::vector<QuarantineEntry> quarantined;
  accepted.reserve(num_rows);
  for (size_t row = 0; row < num_rows; ++row) {
    if (reasons[row].empty()) {
      accepted.push_back(static_cast<int64_t>(row));
    } else {
      result.quarantine_reasons.push_back(reasons[row]);
      quarantined.push_back({std::move(reasons[row]), RowToJson(rows, row)});
    }
  }
  result.rows_quarantined = static_cast<int64_t>(quarantined.size());
  data::Frame accepted_rows = accepted.size() == num_rows ? rows : rows.Take(accepted);

  if (to_online && accepted_rows.num_rows() > 0) {
    if (online == nullptr) return Internal("push to the online store without an online store");
    const data::Column* times = accepted_rows.Find(source->timestamp_field);
    const int64_t as_of = *std::max_element(times->ints().begin(), times->ints().end());
    const int64_t written_micros = now_millis * 1000;
    for (const ResolvedView* view : views) {
      if (!view->def->online) continue;
      data::Frame view_rows = accepted_rows;
      KILN_ASSIGN_OR_RETURN(ViewRecords records,
                            ComputeViewRecords(*view, view_rows, as_of, /*with_aggregations=*/false, threads));
      std::vector<OnlineRecord> online_records(records.frame.num_rows());
      for (size_t row = 0; row < online_records.size(); ++row) {
        online_records[row].event_micros = records.event_micros[row];
        online_records[row].written_micros = written_micros;
        for (size_t f = 0; f < view->features.size(); ++f) {
          online_records[row].values.push_back(records.frame.column(records.first_feature_column + f).Get(row));
        }
      }
      KILN_RETURN_IF_ERROR(online->Write(OnlineViewKey(repository.project(), *view), records.entity_keys, online_records));
      result.rows_written_online += static_cast<int64_t>(online_records.size());
    }
  }

  KILN_RETURN_IF_ERROR(database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(InsertQuarantine(connection, repository.project(), source->name, "push",
                                          quarantined, now_millis));
    if (!to_offline || accepted_rows.num_rows() == 0) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(storage::Rows max_id,
                          connection.Query("SELECT COALESCE(MAX(id), 0) FROM feature_pushed_rows"));
    int64_t next_id = max_id.empty() ? 1 : max_id[0].Int(0) + 1;
    const data::Column& times = *accepted_rows.Find(source->timestamp_field);
    const data::Column* created = source->created_timestamp_field.empty()
                                      ? nullptr
                                      : accepted_rows.Find(source->created_timestamp_field);
    for (size_t row = 0; row < accepted_rows.num_rows(); ++row) {
      storage::SqlValue created_value = storage::SqlNull();
      if (created != nullptr && !created->IsNull(row)) created_value = created->ints()[row];
      KILN_ASSIGN_OR_RETURN(
          int64_t changed,
          connection.Execute("INSERT INTO feature_pushed_rows (id, project, source, event_micros, "
                             "created_micros, row_json, pushed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             {next_id++, repository.project(), source->name, times.ints()[row], created_value,
                              RowToJson(accepted_rows, row), now_millis}));
      (void)changed;
    }
    return Status::Ok();
  }));
  if (to_offline) result.rows_written_offline = static_cast<int64_t>(accepted_rows.num_rows());
  return result;
}

}  // namespace kiln::features
