// Push sources: the rows of the push source's batch source (if any), then
// the rows pushed to it with target offline (table feature_pushed_rows,
// migration 0002_push.sql, written by the feature store), in push order.
// A pushed row's event and created times come from event_micros and
// created_micros; every other column is decoded from row_json with the
// source's declared type (timestamps as ISO 8601 strings; numbers count
// seconds since the Unix epoch, as for SQL sources). A key missing from
// row_json is null.

#include <algorithm>

#include <nlohmann/json.hpp>

#include "features/source_reader_internal.h"
#include "storage/database.h"

namespace kiln::features::source_internal {
namespace {

Result<Cell> JsonCell(const nlohmann::json& value) {
  Cell cell;
  if (value.is_null()) return cell;
  if (value.is_boolean()) {
    cell.kind = Cell::Kind::kBool;
    cell.i = value.get<bool>() ? 1 : 0;
  } else if (value.is_number_integer()) {
    cell.kind = Cell::Kind::kInt;
    cell.i = value.get<int64_t>();
  } else if (value.is_number()) {
    cell.kind = Cell::Kind::kFloat;
    cell.f = value.get<double>();
  } else if (value.is_string()) {
    cell.kind = Cell::Kind::kText;
    cell.text = value.get_ref<const std::string&>();
  } else {
    return InvalidArgument(std::string("is ") + (value.is_object() ? "an object" : "an array") +
                           "; only scalars are supported");
  }
  return cell;
}

// Name of `push` column `name` in the batch source.
std::string BatchName(const SourceDef& push, const SourceDef& batch, const std::string& name) {
  if (name == push.timestamp_field) return batch.timestamp_field;
  if (name == push.created_timestamp_field && !batch.created_timestamp_field.empty()) {
    return batch.created_timestamp_field;
  }
  return name;
}

// The batch source's rows with the push source's column names and types.
Result<data::Frame> ReadBatchRows(const RepositoryDef& repository, const SourceDef& source,
                                  const std::vector<std::string>& columns,
                                  const std::vector<data::Type>& types, const SourceReadOptions& options) {
  auto it = std::find_if(repository.sources.begin(), repository.sources.end(),
                         [&](const SourceDef& s) { return s.name == source.batch_source; });
  if (it == repository.sources.end()) {
    return SourceError(source, "batch source '" + source.batch_source + "' is not defined");
  }
  const SourceDef& batch = *it;
  if (batch.kind == SourceKind::kPush) {
    return SourceError(source, "batch source '" + batch.name + "' is itself a push source");
  }
  SourceReadOptions batch_options = options;
  batch_options.columns.clear();
  for (const std::string& name : columns) {
    std::string batch_name = BatchName(source, batch, name);
    if (batch_name != batch.timestamp_field && batch_name != batch.created_timestamp_field) {
      batch_options.columns.push_back(batch_name);
    }
  }
  if (batch_options.columns.empty()) batch_options.columns.push_back(batch.timestamp_field);
  KILN_ASSIGN_OR_RETURN(data::Frame rows, ReadSource(repository, batch, batch_options));

  data::Frame out;
  for (size_t c = 0; c < columns.size(); ++c) {
    const std::string batch_name = BatchName(source, batch, columns[c]);
    const data::Column* column = rows.Find(batch_name);
    if (column == nullptr) {
      // A created timestamp the batch source lacks is null for its rows.
      if (columns[c] == source.created_timestamp_field) {
        data::Column nulls(data::Type::kTimestamp);
        for (size_t r = 0; r < rows.num_rows(); ++r) nulls.AppendNull();
        KILN_RETURN_IF_ERROR(out.AddColumn(columns[c], std::move(nulls)));
        continue;
      }
      return SourceError(source, "batch source '" + batch.name + "' has no column '" + batch_name + "'");
    }
    data::Column converted = *column;
    if (column->type() == data::Type::kInt64 && types[c] == data::Type::kFloat64) {
      converted = data::Column(data::Type::kFloat64);
      converted.Reserve(column->size());
      for (size_t r = 0; r < column->size(); ++r) {
        if (column->IsNull(r)) {
          converted.AppendNull();
        } else {
          converted.AppendFloat(static_cast<double>(column->ints()[r]));
        }
      }
    } else if (column->type() != types[c]) {
      return SourceError(source, "column '" + columns[c] + "' is " + std::string(data::TypeName(types[c])) +
                                     " but batch source '" + batch.name + "' has it as " +
                                     std::string(data::TypeName(column->type())));
    }
    KILN_RETURN_IF_ERROR(out.AddColumn(columns[c], std::move(converted)));
  }
  return out;
}

}  // namespace

Result<data::Frame> ReadPushSource(const RepositoryDef& repository, const SourceDef& source,
                                   const SourceReadOptions& options) {
  if (options.metadata == nullptr) {
    return FailedPrecondition("source '" + source.name +
                              "': a push source's rows are in the metadata store, and none was given");
  }
  std::vector<std::string> columns = ColumnsToRead(source, options);
  if (columns.empty()) {
    for (const auto& [name, type] : source.columns) columns.push_back(name);
    for (const std::string* field : {&source.timestamp_field, &source.created_timestamp_field}) {
      if (!field->empty() && std::find(columns.begin(), columns.end(), *field) == columns.end()) {
        columns.push_back(*field);
      }
    }
  }
  std::vector<data::Type> types;
  for (const std::string& name : columns) {
    bool timestamp_field = name == source.timestamp_field || name == source.created_timestamp_field;
    if (!timestamp_field && source.columns.count(name) == 0) {
      std::string declared;
      for (const auto& [known, type] : source.columns) declared += (declared.empty() ? "" : ", ") + known;
      return SourceError(source, "no column '" + name + "' (declared columns: " + declared + ")");
    }
    types.push_back(ColumnType(source, name, data::Type::kString));
  }

  data::Frame batch_rows;
  if (!source.batch_source.empty()) {
    KILN_ASSIGN_OR_RETURN(batch_rows, ReadBatchRows(repository, source, columns, types, options));
  }

  std::string sql =
      "SELECT id, event_micros, created_micros, row_json FROM feature_pushed_rows"
      " WHERE project = ? AND source = ?";
  std::vector<storage::SqlValue> params = {options.project.empty() ? repository.project : options.project,
                                           source.name};
  if (options.start_micros) {
    sql += " AND event_micros >= ?";
    params.emplace_back(*options.start_micros);
  }
  if (options.end_micros) {
    sql += " AND event_micros < ?";
    params.emplace_back(*options.end_micros);
  }
  sql += " ORDER BY id";
  KILN_ASSIGN_OR_RETURN(auto connection, options.metadata->Acquire());
  Result<storage::Rows> rows = connection->Query(sql, params);
  if (!rows.ok()) return WithSource(source, Status(rows.status().code(), "reading pushed rows: " + rows.status().message()));

  KILN_ASSIGN_OR_RETURN(auto zone, SourceZone(source));
  std::vector<data::Column> built;
  for (data::Type type : types) {
    built.emplace_back(type);
    built.back().Reserve(rows->size());
  }
  for (const storage::Row& row : *rows) {
    const std::string where = "pushed row " + std::to_string(row.Int(0));
    nlohmann::json object = nlohmann::json::parse(row.String(3), nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded() || !object.is_object()) {
      return SourceError(source, where + ": row_json is not a JSON object");
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c] == source.timestamp_field) {
        built[c].AppendInt(row.Int(1));
        continue;
      }
      if (columns[c] == source.created_timestamp_field) {
        row.IsNull(2) ? built[c].AppendNull() : built[c].AppendInt(row.Int(2));
        continue;
      }
      auto it = object.find(columns[c]);
      if (it == object.end()) {
        built[c].AppendNull();
        continue;
      }
      Result<Cell> cell = JsonCell(*it);
      Result<data::Value> value = cell.ok() ? ConvertCell(*cell, types[c], *zone) : Result<data::Value>(cell.status());
      if (!value.ok()) {
        return SourceError(source, where + ": column '" + columns[c] + "': " + value.status().message());
      }
      built[c].Append(*value);
    }
  }

  data::Frame out;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (const data::Column* batch = batch_rows.Find(columns[c])) {
      data::Column combined = *batch;
      AppendColumn(built[c], &combined);
      built[c] = std::move(combined);
    }
    KILN_RETURN_IF_ERROR(out.AddColumn(columns[c], std::move(built[c])));
  }
  return out;
}

}  // namespace kiln::features::source_internal
