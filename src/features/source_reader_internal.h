#pragma once
// Pieces shared by the per-kind source readers (file_source_reader.cc,
// sql_source_reader.cc, push_source_reader.cc); not part of the module's
// contract. ReadSource (source_reader.cc) dispatches to the Read*Source
// functions, which return every row they read; it then filters by event time.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "data/timestamp.h"
#include "features/definitions.h"
#include "features/source_reader.h"

namespace kiln::features::source_internal {

// "source 'flights': <message>".
Status SourceError(const SourceDef& source, std::string_view message);
// Same code as `status`, message prefixed with "source 'flights': ".
Status WithSource(const SourceDef& source, const Status& status);

// `path` as given when absolute, else joined to the repository root.
std::string ResolvePath(const RepositoryDef& repository, const std::string& path);

// options.columns plus the timestamp fields (deduplicated, in that order);
// empty when options.columns is empty (meaning every column).
std::vector<std::string> ColumnsToRead(const SourceDef& source, const SourceReadOptions& options);

// The zone naive timestamps of `source` are read in.
Result<std::shared_ptr<const data::TimeZone>> SourceZone(const SourceDef& source);

// One SQL or JSON value before it gets its column's type.
struct Cell {
  enum class Kind { kNull, kBool, kInt, kFloat, kText };
  Kind kind = Kind::kNull;
  int64_t i = 0;  // kBool (0/1), kInt
  double f = 0;   // kFloat
  std::string_view text;  // kText
};

// Converts `cell` to `type`. Integers and floats become timestamps as
// seconds since the Unix epoch; text becomes a timestamp by ISO 8601 (naive
// text read in `zone`). Error text names the value and the type: "'abc' is
// not an int64".
Result<data::Value> ConvertCell(const Cell& cell, data::Type type, const data::TimeZone& zone);

// The type a SQL declared type name suggests (SQLite affinity rules,
// PostgreSQL names): INTEGER/BIGINT → int64, REAL/DOUBLE/NUMERIC → float64,
// BOOL* → bool, TIMESTAMP*/DATETIME/DATE → timestamp, else string.
data::Type TypeFromSqlName(std::string_view declared);

// The column type a source column gets: the declared/resolved type, else
// timestamp for the timestamp fields, else `fallback`.
data::Type ColumnType(const SourceDef& source, const std::string& column, data::Type fallback);

// Appends the rows of `from` to `to`. REQUIRES: same type.
void AppendColumn(const data::Column& from, data::Column* to);

// Double-quoted SQL identifier; "schema.table" quotes each part.
std::string QuoteIdentifier(std::string_view name);
std::string QuoteQualifiedName(std::string_view name);

// Every row of the source, all of its columns or those ColumnsToRead names.
Result<data::Frame> ReadFileSource(const RepositoryDef& repository, const SourceDef& source,
                                   const SourceReadOptions& options);
Result<data::Frame> ReadSqliteSource(const RepositoryDef& repository, const SourceDef& source,
                                     const SourceReadOptions& options);
// Pushes [start, end) down into SQL when the timestamp column's type allows
// (rows outside may still come back; ReadSource filters exactly).
Result<data::Frame> ReadPostgresSource(const SourceDef& source, const SourceReadOptions& options);
// Pushed rows (and the batch source's rows first, when it has one).
Result<data::Frame> ReadPushSource(const RepositoryDef& repository, const SourceDef& source,
                                   const SourceReadOptions& options);

}  // namespace kiln::features::source_internal
