#pragma once
// CSV (RFC 4180: quotes, doubled quotes, embedded newlines) and JSON-lines
// readers and writers for Frames. Readers infer types (int64 → float64 →
// string; true/false → bool) unless told, parse declared timestamp columns
// with ParseTimestamp, treat an empty field (CSV) or null/missing key
// (JSON lines) as null, and name file, line and column in every error.

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "data/timestamp.h"

namespace kiln::data {

struct ReadOptions {
  char delimiter = ',';
  // Declared types by column name; other columns are inferred.
  std::map<std::string, Type> types;
  // Columns to parse as timestamps (also any declared kTimestamp).
  std::vector<std::string> timestamp_columns;
  // Zone for naive timestamps; UTC when null.
  std::shared_ptr<const TimeZone> timezone;
  // Only these columns are kept (all when empty). Error if one is missing.
  std::vector<std::string> columns;
  // Stop after this many data rows (0: all) — for sampling types.
  size_t max_rows = 0;
  // Progress line on a terminal (common/progress.h) unless quiet.
  std::string progress_label;
  bool quiet = true;
  // Used in error messages in place of a path for in-memory text.
  std::string source_name = "<input>";
};

// Errors: "flights.csv:12: expected 5 fields, found 4";
// "flights.csv:3: column 'delay': 'abc' is not an int64";
// "flights.csv:1: duplicate column 'origin'"; "flights.csv: no such file".
Result<Frame> ReadCsv(const std::string& path, const ReadOptions& options);
Result<Frame> ParseCsv(std::string_view text, const ReadOptions& options);
// The header row only (cheap; used to validate definitions).
Result<std::vector<std::string>> ReadCsvHeader(const std::string& path, char delimiter = ',');

// One JSON object per line; blank lines skipped. Nested values are refused:
// "events.jsonl:4: field 'x' is an object; only scalars are supported".
Result<Frame> ReadJsonLines(const std::string& path, const ReadOptions& options);
Result<Frame> ParseJsonLines(std::string_view text, const ReadOptions& options);

// Writers: floats in shortest round-trip form ("nan", "inf", "-inf" in CSV;
// JSON lines writes NaN/Infinity as Python's json does), timestamps as
// FormatTimestamp, null as an empty field / JSON null. Output is
// deterministic: the same Frame gives the same bytes.
Status WriteCsv(const Frame& frame, std::ostream& out);
Status WriteCsvFile(const Frame& frame, const std::string& path);
Status WriteJsonLines(const Frame& frame, std::ostream& out);

}  // namespace kiln::data
