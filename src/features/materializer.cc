#include "features/materializer.h"

#include <algorithm>
#include <chrono>

#include "common/progress.h"
#include "data/timestamp.h"
#include "features/aggregation.h"
#include "features/entity_key_index.h"
#include "features/expectations.h"
#include "features/point_in_time_join.h"
#include "features/source_reader.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

constexpr std::string_view kAsOfColumn = "__kiln_as_of";

// A column name not yet used in `frame`, starting from `wanted`.
std::string UnusedName(const data::Frame& frame, std::string wanted) {
  while (frame.IndexOf(wanted) >= 0) wanted = "_" + wanted;
  return wanted;
}

// The values the aggregation of `feature` reads: "" to count events, an
// existing column of `rows`, or its expression evaluated into a new column.
Result<std::string> AggregationInput(const ResolvedView& view, const ResolvedFeature& feature,
                                     data::Frame& rows) {
  const AggregationDef& aggregation = *feature.def->aggregation;
  if (aggregation.column.empty() || rows.IndexOf(aggregation.column) >= 0) {
    return aggregation.column;
  }
  std::optional<Expression> compiled;
  if (feature.expression) {
    compiled = *feature.expression;
  } else {
    auto result = Expression::Compile(aggregation.column, view.source_schema);
    if (!result.ok()) {
      return InvalidArgument("feature view '" + view.def->name + "': feature '" + feature.name +
                             "': " + result.status().message());
    }
    compiled = std::move(result).value();
  }
  KILN_ASSIGN_OR_RETURN(data::Column values, compiled->EvaluateBatch(rows));
  std::string name = UnusedName(rows, "__kiln_input_" + feature.name);
  KILN_RETURN_IF_ERROR(rows.AddColumn(name, std::move(values)));
  return name;
}

data::Column WidenToFloat(const data::Column& ints) {
  data::Column out(data::Type::kFloat64);
  out.Reserve(ints.size());
  for (size_t row = 0; row < ints.size(); ++row) {
    if (ints.IsNull(row)) {
      out.AppendNull();
    } else {
      out.AppendFloat(static_cast<double>(ints.ints()[row]));
    }
  }
  return out;
}

}  // namespace

Result<data::Column> EvaluateRowFeature(const ResolvedFeature& feature, const data::Frame& rows) {
  if (!feature.expression) {
    return Internal("feature '" + feature.FullName() + "' has no compiled expression");
  }
  KILN_ASSIGN_OR_RETURN(data::Column values, feature.expression->EvaluateBatch(rows));
  if (values.type() == data::Type::kInt64 && feature.type == data::Type::kFloat64) {
    values = WidenToFloat(values);  // declared float64 over an int64 result
  }
  if (values.type() != feature.type) {
    return Internal("feature '" + feature.FullName() + "' computed as " + std::string(data::TypeName(values.type())) +
                    ", declared " + std::string(data::TypeName(feature.type)));
  }
  return values;
}

ViewKey OnlineViewKey(const std::string& project, const ResolvedView& view) {
  return ViewKey{project + "/" + view.def->name, view.fingerprint};
}

std::vector<data::Type> ViewFeatureTypes(const ResolvedView& view) {
  std::vector<data::Type> types;
  types.reserve(view.features.size());
  for (const ResolvedFeature& feature : view.features) types.push_back(feature.type);
  return types;
}

Result<ViewRecords> ComputeViewRecords(const ResolvedView& view, data::Frame& rows,
                                       int64_t as_of_micros, bool with_aggregations, int threads) {
  const std::string& view_name = view.def->name;
  const SourceDef& source = *view.source;
  KILN_ASSIGN_OR_RETURN(const data::Column* times, rows.Get(source.timestamp_field));

  // Distinct entities, in order of first appearance.
  KILN_ASSIGN_OR_RETURN(EntityKeyIndex index,
                        EntityKeyIndex::Build(rows, view.join_keys, "source '" + source.name + "'"));
  ViewRecords records;
  std::vector<int64_t> first_rows;
  first_rows.reserve(index.num_keys());
  std::vector<uint8_t> seen(index.num_keys(), 0);
  for (size_t row = 0; row < rows.num_rows(); ++row) {
    const int32_t key = index.row_keys()[row];
    if (key == kNoKey || times->IsNull(row)) {
      ++records.rows_without_key;
      continue;
    }
    if (!seen[static_cast<size_t>(key)]) {
      seen[static_cast<size_t>(key)] = 1;
      first_rows.push_back(static_cast<int64_t>(row));
    }
  }

  // Take the few entity rows first, then select: no copy of the full key columns.
  KILN_ASSIGN_OR_RETURN(data::Frame entities, rows.Take(first_rows).Select(view.join_keys));
  data::Column as_of(data::Type::kTimestamp);
  as_of.Reserve(entities.num_rows());
  for (size_t i = 0; i < first_rows.size(); ++i) as_of.AppendInt(as_of_micros);
  const std::string as_of_name = UnusedName(entities, std::string(kAsOfColumn));
  KILN_RETURN_IF_ERROR(entities.AddColumn(as_of_name, std::move(as_of)));

  PointInTimeOptions match_options;
  match_options.join_keys = view.join_keys;
  match_options.entity_timestamp = as_of_name;
  match_options.event_timestamp = source.timestamp_field;
  match_options.created_timestamp = source.created_timestamp_field;
  match_options.ttl_seconds = 0;
  match_options.threads = threads;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> latest, PointInTimeMatch(entities, rows, match_options));

  // Entities whose every row lies after as_of have no record.
  std::vector<int64_t> kept_entities;
  std::vector<int64_t> latest_rows;
  kept_entities.reserve(latest.size());
  latest_rows.reserve(latest.size());
  for (size_t i = 0; i < latest.size(); ++i) {
    if (latest[i] == data::kNoRow) continue;
    kept_entities.push_back(static_cast<int64_t>(i));
    latest_rows.push_back(latest[i]);
  }
  if (kept_entities.size() != entities.num_rows()) entities = entities.Take(kept_entities);

  data::Frame latest_frame = rows.Take(latest_rows);
  KILN_ASSIGN_OR_RETURN(records.frame, latest_frame.Select(view.join_keys));
  data::Column event_times = times->Take(latest_rows);
  records.event_micros = event_times.ints();
  KILN_RETURN_IF_ERROR(records.frame.AddColumn(UnusedName(records.frame, source.timestamp_field),
                                               std::move(event_times)));
  records.first_feature_column = records.frame.num_columns();

  // Aggregations, all in one pass.
  std::vector<WindowAggregation> aggregations;
  for (const ResolvedFeature& feature : view.features) {
    if (!feature.def->aggregation) continue;
    if (!with_aggregations) {
      return FailedPrecondition("feature view '" + view_name + "' has aggregation feature '" +
                                feature.name +
                                "', which cannot be computed from pushed rows alone; push to "
                                "the offline store and materialize instead");
    }
    KILN_ASSIGN_OR_RETURN(AggregationFunction function,
                          ParseAggregationFunction(feature.def->aggregation->function));
    KILN_ASSIGN_OR_RETURN(std::string input, AggregationInput(view, feature, rows));
    aggregations.push_back(WindowAggregation{"__kiln_agg_" + std::to_string(aggregations.size()),
                                             function, input,
                                             feature.def->aggregation->window_seconds});
  }
  data::Frame aggregated;
  if (!aggregations.empty()) {
    AggregateOptions aggregate_options;
    aggregate_options.join_keys = view.join_keys;
    aggregate_options.entity_timestamp = as_of_name;
    aggregate_options.event_timestamp = source.timestamp_field;
    aggregate_options.threads = threads;
    KILN_ASSIGN_OR_RETURN(aggregated, AggregateAsOf(entities, rows, aggregations, aggregate_options));
  }

  // Feature columns in the view's order.
  size_t next_aggregation = 0;
  for (const ResolvedFeature& feature : view.features) {
    data::Column values;
    if (feature.def->aggregation) {
      values = aggregated.column(next_aggregation++);
      if (values.type() == data::Type::kInt64 && feature.type == data::Type::kFloat64) {
        values = WidenToFloat(values);  // declared float64 over an int64 result
      }
    } else {
      KILN_ASSIGN_OR_RETURN(values, EvaluateRowFeature(feature, latest_frame));
    }
    KILN_RETURN_IF_ERROR(records.frame.AddColumn(UnusedName(records.frame, feature.name), std::move(values)));
  }

  // Encoded keys.
  records.entity_keys.reserve(records.frame.num_rows());
  std::vector<data::Value> key_values(view.join_keys.size());
  for (size_t row = 0; row < records.frame.num_rows(); ++row) {
    for (size_t k = 0; k < view.join_keys.size(); ++k) key_values[k] = records.frame.column(k).Get(row);
    records.entity_keys.push_back(EncodeEntityKey(key_values));
  }
  return records;
}

Materializer::Materializer(storage::Database& database, OnlineStore& online, Clock& clock)
    : database_(database), online_(online), clock_(clock) {}


Result<std::optional<int64_t>> Materializer::LastEnd(const std::string& project, const std::string& view) {
  KILN_ASSIGN_OR_RETURN(auto connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection->Query("SELECT MAX(end_micros) FROM feature_materializations "
                                          "WHERE project = ? AND view = ? AND online_store = ?",
                                          {project, view, online_.Describe()}));
  if (rows.empty() || rows[0].IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(rows[0].Int(0));
}

Result<MaterializeViewResult> Materializer::Run(const Repository& repository, const ResolvedView& view,
                                                std::optional<int64_t> start_micros, int64_t end_micros,
                                                const MaterializeOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& view_name = view.def->name;
  if (start_micros && *start_micros >= end_micros) {
    return InvalidArgument("materialize '" + view_name + "': start " + data::FormatTimestamp(*start_micros) +
                           " is not before end " + data::FormatTimestamp(end_micros));
  }
  MaterializeViewResult result;
  result.view = view_name;
  result.end_micros = end_micros;

  // Aggregations need the events of their longest window before `start` as
  // well: an entity whose last events are leaving the window still gets
  // its (smaller) aggregates rewritten.
  int64_t longest_window_seconds = 0;
  for (const ResolvedFeature& feature : view.features) {
    if (feature.def->aggregation) {
      longest_window_seconds = std::max(longest_window_seconds, feature.def->aggregation->window_seconds);
    }
  }
  SourceReadOptions read_options;
  if (start_micros) read_options.start_micros = *start_micros - longest_window_seconds * data::kMicrosPerSecond;
  read_options.end_micros = end_micros;
  read_options.metadata = &database_;
  read_options.project = repository.project();
  read_options.quiet = options.quiet;
  KILN_ASSIGN_OR_RETURN(data::Frame rows, ReadSource(repository.def(), *view.source, read_options));
  result.rows_read = static_cast<int64_t>(rows.num_rows());
  if (start_micros) {
    result.start_micros = *start_micros;
  } else {
    // Unbounded: report (and record) the earliest event read.
    result.start_micros = end_micros;
    if (const data::Column* times = rows.Find(view.source->timestamp_field)) {
      for (size_t row = 0; row < times->size(); ++row) {
        if (!times->IsNull(row)) result.start_micros = std::min(result.start_micros, times->ints()[row]);
      }
    }
  }

  KILN_ASSIGN_OR_RETURN(ViewRecords records,
                        ComputeViewRecords(view, rows, end_micros - 1, /*with_aggregations=*/true,
                                           options.threads));
  rows = data::Frame();  // free the source rows before writing
  result.rows_without_key = records.rows_without_key;
  result.entities = static_cast<int64_t>(records.frame.num_rows());

  std::vector<CheckedFeature> checked;
  for (size_t f = 0; f < view.features.size(); ++f) {
    checked.push_back({view.features[f].def, &records.frame.column(records.first_feature_column + f), ""});
  }
  ExpectationReport report = CheckExpectations(checked, records.frame.num_rows());
  std::vector<QuarantineEntry> quarantined;
  quarantined.reserve(static_cast<size_t>(report.failed_rows));

  const ViewKey view_key = OnlineViewKey(repository.project(), view);
  const int64_t written_micros = clock_.NowMillis() * 1000;
  Progress progress("materialize " + view_name, result.entities, "entities", options.quiet);
  std::vector<std::string> batch_keys;
  std::vector<OnlineRecord> batch_records;
  batch_keys.reserve(std::min(options.batch_size, records.frame.num_rows()));
  batch_records.reserve(batch_keys.capacity());
  auto flush = [&]() -> Status {
    if (batch_keys.empty()) return Status::Ok();
    KILN_RETURN_IF_ERROR(online_.Write(view_key, batch_keys, batch_records));
    result.entities_written += static_cast<int64_t>(batch_keys.size());
    progress.Add(static_cast<int64_t>(batch_keys.size()));
    batch_keys.clear();
    batch_records.clear();
    return Status::Ok();
  };
  for (size_t row = 0; row < records.frame.num_rows(); ++row) {
    if (!report.reasons[row].empty()) {
      quarantined.push_back({std::move(report.reasons[row]), RowToJson(records.frame, row)});
      progress.Add(1);
      continue;
    }
    OnlineRecord record;
    record.event_micros = records.event_micros[row];
    record.written_micros = written_micros;
    record.values.reserve(view.features.size());
    for (size_t f = 0; f < view.features.size(); ++f) {
      record.values.push_back(records.frame.column(records.first_feature_column + f).Get(row));
    }
    batch_keys.push_back(std::move(records.entity_keys[row]));
    batch_records.push_back(std::move(record));
    if (batch_keys.size() >= options.batch_size) KILN_RETURN_IF_ERROR(flush());
  }
  KILN_RETURN_IF_ERROR(flush());
  progress.Finish();
  result.rows_quarantined = static_cast<int64_t>(quarantined.size());

  const int64_t now_millis = clock_.NowMillis();
  const std::string online_name = online_.Describe();
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](storage::Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(InsertQuarantine(connection, repository.project(), view_name, "materialize",
                                          quarantined, now_millis));
    KILN_ASSIGN_OR_RETURN(
        int64_t changed,
        connection.Execute("INSERT INTO feature_materializations (project, view, start_micros, end_micros, "
                           "rows_read, rows_written, rows_quarantined, online_store, finished_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           {repository.project(), view_name, result.start_micros, result.end_micros,
                            result.rows_read, result.entities_written, result.rows_quarantined,
                            online_name, now_millis}));
    (void)changed;
    return Status::Ok();
  }));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace kiln::features
