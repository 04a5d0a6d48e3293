// SQL sources: a table or a SELECT in a SQLite file (opened read-only) or a
// PostgreSQL database (a read-only session over libpq, times in UTC).
//
// Column types: the source's declared (or resolved) types; else the declared
// SQL type (SQLite decltype, PostgreSQL type OID); else, for SQLite
// expressions without a declared type, the storage class of the first
// non-null value. Timestamps may be stored as ISO 8601 text (naive text is
// read in the source's time zone), as integers or reals counting seconds
// since the Unix epoch, or (PostgreSQL) as timestamp/timestamptz/date.
// PostgreSQL sources push [start, end) down into a WHERE clause when the
// timestamp column is timestamptz, timestamp, date or numeric; ReadSource
// then filters exactly. SQLite sources are filtered in memory (ISO text
// with offsets does not compare correctly as text).

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>

#include "features/source_reader_internal.h"

namespace kiln::features::source_internal {
namespace {

// Collects cells column by column into a Frame, converting each to its
// column's type. A column without a known type takes the type of its first
// non-null cell.
class FrameBuilder {
 public:
  FrameBuilder(const SourceDef& source, const data::TimeZone& zone, std::string location)
      : source_(source), zone_(zone), location_(std::move(location)) {}

  void AddColumn(std::string name, std::optional<data::Type> type) {
    columns_.push_back(Pending{std::move(name), type, 0, data::Column(type.value_or(data::Type::kString))});
  }
  size_t size() const { return columns_.size(); }
  void Reserve(size_t rows) {
    for (Pending& pending : columns_) pending.column.Reserve(rows);
  }

  // `row` is 1-based, for messages.
  Status Append(size_t index, const Cell& cell, int64_t row) {
    Pending& pending = columns_[index];
    if (!pending.type) {
      if (cell.kind == Cell::Kind::kNull) {
        ++pending.leading_nulls;
        return Status::Ok();
      }
      pending.type = FirstValueType(cell);
      pending.column = data::Column(*pending.type);
      for (size_t i = 0; i < pending.leading_nulls; ++i) pending.column.AppendNull();
    }
    Result<data::Value> value = ConvertCell(cell, *pending.type, zone_);
    if (!value.ok()) {
      return SourceError(source_, location_ + ": row " + std::to_string(row) + ": column '" +
                                      pending.name + "': " + value.status().message());
    }
    pending.column.Append(*value);
    return Status::Ok();
  }

  Result<data::Frame> Finish() {
    data::Frame frame;
    for (Pending& pending : columns_) {
      if (!pending.type) {  // only nulls: a string column of nulls
        for (size_t i = 0; i < pending.leading_nulls; ++i) pending.column.AppendNull();
      }
      Status status = frame.AddColumn(pending.name, std::move(pending.column));
      if (!status.ok()) return SourceError(source_, location_ + ": " + status.message());
    }
    return frame;
  }

 private:
  static data::Type FirstValueType(const Cell& cell) {
    switch (cell.kind) {
      case Cell::Kind::kBool: return data::Type::kBool;
      case Cell::Kind::kInt: return data::Type::kInt64;
      case Cell::Kind::kFloat: return data::Type::kFloat64;
      default: return data::Type::kString;
    }
  }

  struct Pending {
    std::string name;
    std::optional<data::Type> type;
    size_t leading_nulls;
    data::Column column;
  };
  const SourceDef& source_;
  const data::TimeZone& zone_;
  std::string location_;
  std::vector<Pending> columns_;
};

// "SELECT <columns> FROM <table or (query)>"; `*` when every column is read.
Result<std::string> SelectStatement(const SourceDef& source, const std::vector<std::string>& columns) {
  if (source.table.empty() == source.query.empty()) {
    return SourceError(source, source.table.empty() ? "needs a table or a query"
                                                    : "has both a table and a query; give one");
  }
  std::string list;
  for (const std::string& column : columns) {
    if (!list.empty()) list += ", ";
    list += QuoteIdentifier(column);
  }
  if (list.empty()) list = "*";
  if (!source.table.empty()) return "SELECT " + list + " FROM " + QuoteQualifiedName(source.table);
  std::string query = source.query;
  while (!query.empty() && (query.back() == ';' || std::isspace(static_cast<unsigned char>(query.back())))) {
    query.pop_back();
  }
  return "SELECT " + list + " FROM (" + query + ") AS kiln_source";
}

std::string WhatIsRead(const SourceDef& source) {
  return source.table.empty() ? std::string("query") : "table '" + source.table + "'";
}

// ---- SQLite ----

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStatement = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

Cell SqliteCell(sqlite3_stmt* statement, int column) {
  Cell cell;
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_NULL: break;
    case SQLITE_INTEGER:
      cell.kind = Cell::Kind::kInt;
      cell.i = sqlite3_column_int64(statement, column);
      break;
    case SQLITE_FLOAT:
      cell.kind = Cell::Kind::kFloat;
      cell.f = sqlite3_column_double(statement, column);
      break;
    default: {
      const char* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
      cell.kind = Cell::Kind::kText;
      cell.text = std::string_view(text ? text : "", sqlite3_column_bytes(statement, column));
    }
  }
  return cell;
}

// ---- PostgreSQL ----

struct PgFinisher {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConnection = std::unique_ptr<PGconn, PgFinisher>;
using PgResult = std::unique_ptr<PGresult, PgClearer>;

constexpr Oid kPgBool = 16, kPgInt8 = 20, kPgInt2 = 21, kPgInt4 = 23, kPgFloat4 = 700,
              kPgFloat8 = 701, kPgNumeric = 1700, kPgDate = 1082, kPgTimestamp = 1114,
              kPgTimestampTz = 1184;

bool IsPgInteger(Oid type) { return type == kPgInt2 || type == kPgInt4 || type == kPgInt8; }
bool IsPgFloat(Oid type) { return type == kPgFloat4 || type == kPgFloat8 || type == kPgNumeric; }

data::Type TypeFromOid(Oid type) {
  if (type == kPgBool) return data::Type::kBool;
  if (IsPgInteger(type)) return data::Type::kInt64;
  if (IsPgFloat(type)) return data::Type::kFloat64;
  if (type == kPgDate || type == kPgTimestamp || type == kPgTimestampTz) return data::Type::kTimestamp;
  return data::Type::kString;
}

std::string Trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// "postgresql://host:port/db" (never the password).
std::string PgLocation(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  return std::string("postgresql://") + (host ? host : "") + ":" + (port ? port : "") + "/" + (db ? db : "");
}

// Every libpq failure of a source read becomes a Status here.
Status PgFailure(const SourceDef& source, PGconn* conn, const PGresult* result, const std::string& what) {
  std::string message = result ? Trimmed(PQresultErrorMessage(result)) : Trimmed(PQerrorMessage(conn));
  if (result == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return Unavailable("source '" + source.name + "': " + PgLocation(conn) + ": " + what + ": " + message);
  }
  return SourceError(source, PgLocation(conn) + ": " + what + ": " + message);
}

bool PgSucceeded(const PGresult* result) {
  return result != nullptr &&
         (PQresultStatus(result) == PGRES_TUPLES_OK || PQresultStatus(result) == PGRES_COMMAND_OK);
}

Cell PgCell(const PGresult* result, int row, int column, Oid type) {
  Cell cell;
  if (PQgetisnull(result, row, column)) return cell;
  std::string_view text(PQgetvalue(result, row, column), PQgetlength(result, row, column));
  if (type == kPgBool) {
    cell.kind = Cell::Kind::kBool;
    cell.i = text == "t" ? 1 : 0;
    return cell;
  }
  if (IsPgInteger(type)) {
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size()) {
      cell.kind = Cell::Kind::kInt;
      cell.i = value;
      return cell;
    }
  } else if (IsPgFloat(type)) {
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size()) {
      cell.kind = Cell::Kind::kFloat;
      cell.f = value;
      return cell;
    }
  }
  cell.kind = Cell::Kind::kText;
  cell.text = text;
  return cell;
}

// A WHERE clause and its parameters selecting at least the rows with event
// time in [start, end), given the timestamp column's type; empty when the
// type does not allow it (text).
std::string PgTimeFilter(const std::string& column, Oid type, const SourceReadOptions& options,
                         std::vector<std::string>* params) {
  constexpr int64_t kDay = 86400 * data::kMicrosPerSecond;
  std::vector<std::string> conditions;
  auto add = [&](std::optional<int64_t> bound, const char* op, bool upper) {
    if (!bound) return;
    const std::string placeholder = "$" + std::to_string(params->size() + 1);
    if (type == kPgTimestampTz) {
      params->push_back(data::FormatTimestamp(*bound));
      conditions.push_back(QuoteIdentifier(column) + " " + op + " " + placeholder + "::timestamptz");
    } else if (type == kPgTimestamp || type == kPgDate) {
      // Naive values are local to the source's zone: widen by a day (more
      // than any UTC offset) and let the exact filter in memory decide.
      params->push_back(data::FormatTimestamp(upper ? *bound + kDay : *bound - kDay));
      conditions.push_back(QuoteIdentifier(column) + " " + op + " " + placeholder + "::timestamp");
    } else {  // seconds since the epoch
      int64_t seconds = *bound / data::kMicrosPerSecond;
      if (!upper && *bound < 0 && *bound % data::kMicrosPerSecond != 0) --seconds;  // floor
      if (upper && *bound > 0 && *bound % data::kMicrosPerSecond != 0) ++seconds;   // ceil
      params->push_back(std::to_string(seconds));
      conditions.push_back(QuoteIdentifier(column) + " " + op + " " + placeholder);
    }
  };
  if (type != kPgTimestampTz && type != kPgTimestamp && type != kPgDate && !IsPgInteger(type) &&
      !IsPgFloat(type)) {
    return "";
  }
  add(options.start_micros, ">=", false);
  add(options.end_micros, "<", true);
  std::string where;
  for (const std::string& condition : conditions) where += (where.empty() ? " WHERE " : " AND ") + condition;
  return where;
}

}  // namespace

Result<data::Frame> ReadSqliteSource(const RepositoryDef& repository, const SourceDef& source,
                                     const SourceReadOptions& options) {
  if (source.path.empty()) return SourceError(source, "has no path (the SQLite file)");
  const std::string path = ResolvePath(repository, source.path);
  const std::string location = path + ": " + WhatIsRead(source);
  KILN_ASSIGN_OR_RETURN(std::string sql, SelectStatement(source, ColumnsToRead(source, options)));
  KILN_ASSIGN_OR_RETURN(auto zone, SourceZone(source));

  sqlite3* raw_db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteHandle db(raw_db);
  if (rc != SQLITE_OK) {
    return SourceError(source, path + ": cannot open SQLite database: " +
                                   (raw_db ? sqlite3_errmsg(raw_db) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 10000);
  sqlite3_stmt* raw_statement = nullptr;
  rc = sqlite3_prepare_v2(db.get(), sql.c_str(), static_cast<int>(sql.size()), &raw_statement, nullptr);
  SqliteStatement statement(raw_statement);
  if (rc != SQLITE_OK) return SourceError(source, location + ": " + sqlite3_errmsg(db.get()));

  FrameBuilder builder(source, *zone, location);
  const int column_count = sqlite3_column_count(statement.get());
  for (int c = 0; c < column_count; ++c) {
    std::string name = sqlite3_column_name(statement.get(), c);
    std::optional<data::Type> type;
    if (const char* declared = sqlite3_column_decltype(statement.get(), c); declared && *declared) {
      type = TypeFromSqlName(declared);
    }
    data::Type declared_or_default = ColumnType(source, name, type.value_or(data::Type::kString));
    bool known = type.has_value() || source.columns.count(name) > 0 || name == source.timestamp_field ||
                 name == source.created_timestamp_field;
    builder.AddColumn(std::move(name), known ? std::optional(declared_or_default) : std::nullopt);
  }
  int64_t row = 0;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    ++row;
    for (int c = 0; c < column_count; ++c) {
      KILN_RETURN_IF_ERROR(builder.Append(c, SqliteCell(statement.get(), c), row));
    }
  }
  if (rc != SQLITE_DONE) return SourceError(source, location + ": " + sqlite3_errmsg(db.get()));
  return builder.Finish();
}

Result<data::Frame> ReadPostgresSource(const SourceDef& source, const SourceReadOptions& options) {
  if (source.uri.empty()) return SourceError(source, "has no uri (postgresql://…)");
  KILN_ASSIGN_OR_RETURN(std::string select, SelectStatement(source, ColumnsToRead(source, options)));
  KILN_ASSIGN_OR_RETURN(auto zone, SourceZone(source));

  PgConnection conn(PQconnectdb(source.uri.c_str()));
  if (conn == nullptr) return Unavailable("source '" + source.name + "': out of memory connecting");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable("source '" + source.name + "': cannot connect to " + PgLocation(conn.get()) +
                       ": " + Trimmed(PQerrorMessage(conn.get())));
  }
  // Timestamps print in UTC with an offset; the session cannot write.
  PgResult setup(PQexec(conn.get(),
                        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; "
                        "SET default_transaction_read_only = on; SET client_min_messages = warning"));
  if (!PgSucceeded(setup.get())) return PgFailure(source, conn.get(), setup.get(), "setting up the session");

  const std::string what = WhatIsRead(source);
  PgResult described(PQexec(conn.get(), (select + " LIMIT 0").c_str()));
  if (!PgSucceeded(described.get())) return PgFailure(source, conn.get(), described.get(), what);
  std::vector<std::string> params;
  std::string where;
  if (int ts = PQfnumber(described.get(), QuoteIdentifier(source.timestamp_field).c_str()); ts >= 0) {
    where = PgTimeFilter(source.timestamp_field, PQftype(described.get(), ts), options, &params);
  }
  std::string sql = where.empty() ? select : "SELECT * FROM (" + select + ") AS kiln_filtered" + where;
  std::vector<const char*> values;
  for (const std::string& param : params) values.push_back(param.c_str());
  PgResult result(PQexecParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
  if (!PgSucceeded(result.get())) return PgFailure(source, conn.get(), result.get(), what);

  FrameBuilder builder(source, *zone, PgLocation(conn.get()) + ": " + what);
  const int column_count = PQnfields(result.get());
  std::vector<Oid> types(column_count);
  for (int c = 0; c < column_count; ++c) {
    types[c] = PQftype(result.get(), c);
    std::string name = PQfname(result.get(), c);
    data::Type type = ColumnType(source, name, TypeFromOid(types[c]));
    builder.AddColumn(std::move(name), type);
  }
  const int rows = PQntuples(result.get());
  builder.Reserve(rows);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < column_count; ++c) {
      KILN_RETURN_IF_ERROR(builder.Append(c, PgCell(result.get(), r, c, types[c]), r + 1));
    }
  }
  return builder.Finish();
}

}  // namespace kiln::features::source_internal
