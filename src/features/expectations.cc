#include "features/expectations.h"

#include <charconv>
#include <cmath>

#include "common/json_writer.h"
#include "data/timestamp.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

// Shortest round-trip spelling without a forced ".0": 2900, 0.5, 1e+20.
std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (error != std::errc()) return std::to_string(value);
  return std::string(buffer, end);
}

// The value as the reason shows it: numbers bare, strings quoted.
std::string ShowValue(const data::Column& column, size_t row) {
  switch (column.type()) {
    case data::Type::kFloat64: return FormatNumber(column.floats()[row]);
    case data::Type::kString: return "'" + column.strings()[row] + "'";
    default: return column.Get(row).ToString();
  }
}

// The value compared with `allowed` (as text, unquoted).
std::string AllowedText(const data::Column& column, size_t row) {
  if (column.type() == data::Type::kString) return column.strings()[row];
  if (column.type() == data::Type::kFloat64) return FormatNumber(column.floats()[row]);
  return column.Get(row).ToString();
}

std::string JoinAllowed(const std::vector<std::string>& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += ", ";
    out += allowed[i];
  }
  return out;
}

std::string RangeText(const Expectation& expect) {
  if (expect.min && expect.max) {
    return "between " + FormatNumber(*expect.min) + " and " + FormatNumber(*expect.max);
  }
  if (expect.min) return ">= " + FormatNumber(*expect.min);
  return "<= " + FormatNumber(*expect.max);
}

void AddReason(ExpectationReport& report, size_t row, const std::string& reason) {
  std::string& slot = report.reasons[row];
  if (slot.empty()) {
    ++report.failed_rows;
  } else {
    slot += "; ";
  }
  slot += reason;
}

// Numeric view of a value for range checks (timestamps as µs).
double NumericValue(const data::Column& column, size_t row) {
  if (column.type() == data::Type::kFloat64) return column.floats()[row];
  return static_cast<double>(column.ints()[row]);
}

void CheckFeature(const CheckedFeature& feature, size_t num_rows, ExpectationReport& report) {
  const Expectation& expect = feature.def->expect;
  const data::Column& column = *feature.values;
  const std::string& name = feature.label.empty() ? feature.def->name : feature.label;
  const bool numeric = column.type() == data::Type::kInt64 ||
                       column.type() == data::Type::kFloat64 ||
                       column.type() == data::Type::kTimestamp;
  const bool range = (expect.min || expect.max) && numeric;
  const bool wrong_type = expect.type && *expect.type != column.type();

  size_t nulls = 0;
  for (size_t row = 0; row < num_rows; ++row) {
    if (column.IsNull(row)) {
      ++nulls;
      continue;
    }
    if (wrong_type) {
      AddReason(report, row,
                "feature '" + name + "' has type " + std::string(data::TypeName(column.type())) +
                    ", expected " + std::string(data::TypeName(*expect.type)));
      continue;
    }
    if (range) {
      const double value = NumericValue(column, row);
      if (std::isnan(value)) {
        AddReason(report, row, "feature '" + name + "' is NaN (expected " + RangeText(expect) + ")");
      } else if (expect.min && value < *expect.min) {
        AddReason(report, row, "feature '" + name + "' = " + ShowValue(column, row) +
                                   " below min " + FormatNumber(*expect.min));
      } else if (expect.max && value > *expect.max) {
        AddReason(report, row, "feature '" + name + "' = " + ShowValue(column, row) +
                                   " above max " + FormatNumber(*expect.max));
      }
    }
    if (!expect.allowed.empty()) {
      const std::string text = AllowedText(column, row);
      bool found = false;
      for (const std::string& allowed : expect.allowed) {
        if (allowed == text) {
          found = true;
          break;
        }
      }
      if (!found) {
        AddReason(report, row, "feature '" + name + "' = " + ShowValue(column, row) +
                                   " is not one of the allowed values (" +
                                   JoinAllowed(expect.allowed) + ")");
      }
    }
  }

  if (expect.max_null_fraction && num_rows > 0) {
    const double fraction = static_cast<double>(nulls) / static_cast<double>(num_rows);
    if (fraction > *expect.max_null_fraction) {
      const std::string reason =
          "feature '" + name + "' is null in " + std::to_string(nulls) + " of " +
          std::to_string(num_rows) + " rows (" + FormatNumber(std::round(fraction * 1000) / 10) +
          "%), above max_null_fraction " + FormatNumber(*expect.max_null_fraction);
      for (size_t row = 0; row < num_rows; ++row) {
        if (column.IsNull(row)) AddReason(report, row, reason);
      }
    }
  }
}

}  // namespace

ExpectationReport CheckExpectations(std::span<const CheckedFeature> features, size_t num_rows) {
  ExpectationReport report;
  report.reasons.resize(num_rows);
  for (const CheckedFeature& feature : features) {
    if (feature.def == nullptr || feature.values == nullptr || feature.def->expect.empty()) continue;
    CheckFeature(feature, num_rows, report);
  }
  return report;
}

std::string RowToJson(const data::Frame& frame, size_t row) {
  std::string out;
  JsonWriter writer(&out);
  writer.BeginObject();
  for (size_t c = 0; c < frame.num_columns(); ++c) {
    const data::Column& column = frame.column(c);
    writer.Key(frame.names()[c]);
    if (column.IsNull(row)) {
      writer.Null();
      continue;
    }
    switch (column.type()) {
      case data::Type::kBool: writer.Bool(column.ints()[row] != 0); break;
      case data::Type::kInt64: writer.Int(column.ints()[row]); break;
      case data::Type::kFloat64: writer.Double(column.floats()[row]); break;
      case data::Type::kString: writer.String(column.strings()[row]); break;
      case data::Type::kTimestamp: writer.String(data::FormatTimestamp(column.ints()[row])); break;
    }
  }
  writer.EndObject();
  return out;
}

Status InsertQuarantine(storage::Connection& connection, const std::string& project,
                        const std::string& object, std::string_view origin,
                        std::span<const QuarantineEntry> entries, int64_t created_millis) {
  if (entries.empty()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT COALESCE(MAX(id), 0) FROM feature_quarantine"));
  int64_t next_id = rows.empty() ? 1 : rows[0].Int(0) + 1;
  const std::string origin_text(origin);
  for (const QuarantineEntry& entry : entries) {
    KILN_ASSIGN_OR_RETURN(
        int64_t changed,
        connection.Execute("INSERT INTO feature_quarantine (id, project, view_or_source, origin, reason, "
                           "row_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           {next_id++, project, object, origin_text, entry.reason, entry.row_json,
                            created_millis}));
    (void)changed;
  }
  return Status::Ok();
}

}  // namespace kiln::features
