#pragma once
// Reads a source's rows into a Frame: CSV and JSON-lines files, SQLite and
// PostgreSQL tables or queries, and the rows pushed to a push source
// (table feature_pushed_rows) on top of its batch source. Timestamp columns
// are normalised to UTC (naive ones read in the source's time zone).
// Stateless functions; safe from any thread.
//
// Timestamps: files hold ISO 8601 text. SQL sources may store ISO 8601 text,
// integers or reals counting seconds since the Unix epoch, or (PostgreSQL)
// timestamptz / timestamp / date values. Pushed rows keep their event and
// created times in feature_pushed_rows.event_micros / created_micros; other
// timestamp columns in row_json are ISO 8601 strings (numbers: seconds).
// Rows whose event time is null are dropped when a bound is given.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "features/definitions.h"

namespace kiln::storage {
class Database;
}

namespace kiln::features {

struct SourceReadOptions {
  // Keep rows with start ≤ event time < end (µs; unset: unbounded).
  std::optional<int64_t> start_micros;
  std::optional<int64_t> end_micros;
  // Only these columns (plus the timestamp fields); all when empty.
  std::vector<std::string> columns;
  // The metadata store: where pushed rows live. May be null when the
  // repository has no push sources.
  storage::Database* metadata = nullptr;
  std::string project;
  bool quiet = true;  // progress line on a terminal when false
};

// Columns get the types of source.columns (declared or resolved at apply
// time); undeclared ones are inferred (files) or take the SQL column type.
// The timestamp fields must be (or parse as) timestamps. Errors name the
// source and the file/table: "source 'flights': /data/flights.csv:17:
// column 'delay': 'x' is not an int64", "source 'f': /data/f.db: table
// 'flights': row 3: column 'delay': 'x' is not an int64".
Result<data::Frame> ReadSource(const RepositoryDef& repository, const SourceDef& source,
                               const SourceReadOptions& options);

}  // namespace kiln::features
