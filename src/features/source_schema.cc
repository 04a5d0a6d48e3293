#include "features/source_schema.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "data/csv.h"
#include "data/timestamp.h"
#include "features/source_reader_internal.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

constexpr size_t kSampleRows = 1000;

std::string ResolvePath(const std::string& root, const std::string& path) {
  if (root.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(root) / path).lexically_normal().string();
}

bool IsTimestampField(const SourceDef& source, const std::string& column) {
  return column == source.timestamp_field ||
         (!source.created_timestamp_field.empty() && column == source.created_timestamp_field);
}

// Read options for sampling a file: declared types and timestamp fields,
// restricted to the columns the file has.
Result<data::ReadOptions> SampleOptions(const SourceDef& source, const std::vector<std::string>& names,
                                        const std::string& path) {
  data::ReadOptions options;
  options.max_rows = kSampleRows;
  options.source_name = path;
  KILN_ASSIGN_OR_RETURN(options.timezone, data::TimeZone::Load(source.timezone));
  for (const std::string& name : names) {
    auto declared = source.columns.find(name);
    if (declared != source.columns.end()) {
      options.types[name] = declared->second;  // a wrongly declared timestamp field is Build's to report
    } else if (IsTimestampField(source, name)) {
      options.types[name] = data::Type::kTimestamp;
    }
    if (options.types.count(name) != 0 && options.types[name] == data::Type::kTimestamp) {
      options.timestamp_columns.push_back(name);
    }
  }
  return options;
}

Result<data::Schema> CsvSchema(const SourceDef& source, const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> header, data::ReadCsvHeader(path));
  KILN_ASSIGN_OR_RETURN(data::ReadOptions options, SampleOptions(source, header, path));
  KILN_ASSIGN_OR_RETURN(data::Frame sample, data::ReadCsv(path, options));
  return sample.schema();
}

// The first kSampleRows non-blank lines of a JSON-lines file (a prefix, so
// line numbers in messages stay right).
Result<std::string> JsonLinesPrefix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": no such file or not readable");
  std::string text, line;
  size_t rows = 0;
  while (rows < kSampleRows && std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++rows;
    text += line;
    text += '\n';
  }
  return text;
}

Result<data::Schema> JsonLinesSchema(const SourceDef& source, const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string text, JsonLinesPrefix(path));
  data::ReadOptions plain;
  plain.source_name = path;
  KILN_ASSIGN_OR_RETURN(data::Frame names, data::ParseJsonLines(text, plain));
  KILN_ASSIGN_OR_RETURN(data::ReadOptions options, SampleOptions(source, names.names(), path));
  KILN_ASSIGN_OR_RETURN(data::Frame sample, data::ParseJsonLines(text, options));
  return sample.schema();
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

Result<data::Schema> SqliteSchema(const SourceDef& source, const std::string& path) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  if (opened != SQLITE_OK) {
    return InvalidArgument("cannot open SQLite database " + path + ": " +
                           (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(opened)));
  }
  const std::string what = source.table.empty() ? "query" : "table " + source.table;
  const std::string sql = source.table.empty() ? source.query : "SELECT * FROM " + source.table;
  sqlite3_stmt* raw_statement = nullptr;
  const int prepared = sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw_statement, nullptr);
  std::unique_ptr<sqlite3_stmt, SqliteFinalizer> statement(raw_statement);
  if (prepared != SQLITE_OK || statement == nullptr) {
    return InvalidArgument(path + ": " + what + ": " +
                           (prepared != SQLITE_OK ? sqlite3_errmsg(db.get()) : "not a statement"));
  }
  if (!sqlite3_stmt_readonly(statement.get())) {
    return InvalidArgument(path + ": " + what + ": only a SELECT may be a source");
  }
  KILN_ASSIGN_OR_RETURN(auto zone, data::TimeZone::Load(source.timezone));

  const int count = sqlite3_column_count(statement.get());
  if (count == 0) return InvalidArgument(path + ": " + what + " returns no columns");
  data::Schema schema;
  std::vector<bool> known(count, false);
  for (int c = 0; c < count; ++c) {
    std::string name = sqlite3_column_name(statement.get(), c);
    const char* declared = sqlite3_column_decltype(statement.get(), c);
    data::Type type = data::Type::kString;
    if (declared != nullptr && *declared != '\0') {
      type = source_internal::TypeFromSqlName(declared);
      known[c] = true;
    }
    if (IsTimestampField(source, name)) {
      type = data::Type::kTimestamp;
      known[c] = true;
    }
    schema.push_back({std::move(name), type});
  }
  // Sample rows: types for undeclared columns, and a check that timestamp
  // fields stored as text parse.
  int step = SQLITE_ROW;
  for (size_t row = 1; row <= kSampleRows && (step = sqlite3_step(statement.get())) == SQLITE_ROW; ++row) {
    for (int c = 0; c < count; ++c) {
      const int storage = sqlite3_column_type(statement.get(), c);
      if (storage == SQLITE_NULL) continue;
      if (!known[c]) {
        schema[c].type = storage == SQLITE_INTEGER ? data::Type::kInt64
                         : storage == SQLITE_FLOAT ? data::Type::kFloat64
                                                   : data::Type::kString;
        known[c] = true;
      }
      if (IsTimestampField(source, schema[c].name) && storage == SQLITE_TEXT) {
        const char* text = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), c));
        Result<int64_t> parsed = data::ParseTimestamp(text ? text : "", *zone);
        if (!parsed.ok()) {
          return InvalidArgument(path + ": " + what + ": row " + std::to_string(row) + ": column '" +
                                 schema[c].name + "': " + parsed.status().message());
        }
      }
    }
  }
  if (step != SQLITE_ROW && step != SQLITE_DONE) {
    return InvalidArgument(path + ": " + what + ": " + sqlite3_errmsg(db.get()));
  }
  return schema;
}

Result<data::Schema> PostgresSchema(const SourceDef& source) {
  if (!source.uri.starts_with("postgresql://") && !source.uri.starts_with("postgres://")) {
    return InvalidArgument("uri must start with postgresql://");
  }
  storage::DatabaseOptions options;
  options.uri = source.uri;
  options.pool_size = 1;
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> database, storage::Database::Open(options));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database->Acquire());
  std::string select = source.table.empty() ? source.query : "SELECT * FROM " + source.table;
  while (!select.empty() &&
         (select.back() == ';' || std::isspace(static_cast<unsigned char>(select.back())))) {
    select.pop_back();
  }
  const std::string what = source.table.empty() ? "query" : "table " + source.table;
  // A temporary view of the table or query describes its columns without
  // reading a row; it vanishes with the session.
  Status created = connection->ExecuteScript("CREATE TEMPORARY VIEW kiln_source_schema AS " + select);
  if (!created.ok())
    return Status(created.code(), database->Describe() + ": " + what + ": " + created.message());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection->Query("SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                                          "FROM pg_attribute a "
                                          "WHERE a.attrelid = 'pg_temp.kiln_source_schema'::regclass "
                                          "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"));
  KILN_RETURN_IF_ERROR(connection->ExecuteScript("DROP VIEW pg_temp.kiln_source_schema"));
  data::Schema schema;
  for (const storage::Row& row : rows) {
    std::string name = row.String(0);
    data::Type type = IsTimestampField(source, name) ? data::Type::kTimestamp
                                                     : source_internal::TypeFromSqlName(row.String(1));
    schema.push_back({std::move(name), type});
  }
  return schema;
}

}  // namespace

Result<data::Schema> ResolveSourceSchema(const SourceDef& source, const std::string& root) {
  switch (source.kind) {
    case SourceKind::kCsv:
      return CsvSchema(source, ResolvePath(root, source.path));
    case SourceKind::kJsonLines:
      return JsonLinesSchema(source, ResolvePath(root, source.path));
    case SourceKind::kSqlite:
      return SqliteSchema(source, ResolvePath(root, source.path));
    case SourceKind::kPostgres:
      return PostgresSchema(source);
    case SourceKind::kPush:
      break;
  }
  if (source.columns.empty())
    return InvalidArgument("a push source needs 'columns' (each column with its type)");
  data::Schema schema;
  for (const auto& [name, type] : source.columns) schema.push_back({name, type});
  return schema;
}

SchemaResolver DefaultSchemaResolver(std::string root) {
  return [root = std::move(root)](const SourceDef& source) { return ResolveSourceSchema(source, root); };
}

SchemaResolver StoredSchemaResolver() {
  return [](const SourceDef& source) -> Result<data::Schema> {
    if (source.columns.empty()) {
      return InvalidArgument("the stored definition has no columns for this source");
    }
    data::Schema schema;
    for (const auto& [name, type] : source.columns) schema.push_back({name, type});
    return schema;
  };
}

}  // namespace kiln::features
