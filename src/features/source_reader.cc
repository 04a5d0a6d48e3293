#include "features/source_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

#include "features/source_reader_internal.h"

namespace kiln::features {
namespace source_internal {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string CellText(const Cell& cell) {
  switch (cell.kind) {
    case Cell::Kind::kNull: return "null";
    case Cell::Kind::kBool: return cell.i ? "true" : "false";
    case Cell::Kind::kInt: return std::to_string(cell.i);
    case Cell::Kind::kFloat: return data::Value::Float(cell.f).ToString();
    case Cell::Kind::kText: return std::string(cell.text);
  }
  return "";
}

Status NotA(const Cell& cell, data::Type type) {
  std::string_view name = data::TypeName(type);
  std::string article = (name == "int64") ? "an " : "a ";
  return InvalidArgument("'" + CellText(cell) + "' is not " + article + std::string(name));
}

// 2^63 µs is about 292,000 years: seconds beyond this overflow.
constexpr double kMaxTimestampSeconds = 9.2e12;

}  // namespace

Status SourceError(const SourceDef& source, std::string_view message) {
  return InvalidArgument("source '" + source.name + "': " + std::string(message));
}

Status WithSource(const SourceDef& source, const Status& status) {
  return Status(status.code(), "source '" + source.name + "': " + status.message());
}

std::string ResolvePath(const RepositoryDef& repository, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute() || repository.root.empty()) return path;
  return (std::filesystem::path(repository.root) / p).lexically_normal().string();
}

std::vector<std::string> ColumnsToRead(const SourceDef& source, const SourceReadOptions& options) {
  if (options.columns.empty()) return {};
  std::vector<std::string> out;
  auto add = [&](const std::string& name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const std::string& name : options.columns) add(name);
  add(source.timestamp_field);
  add(source.created_timestamp_field);
  return out;
}

Result<std::shared_ptr<const data::TimeZone>> SourceZone(const SourceDef& source) {
  auto zone = data::TimeZone::Load(source.timezone.empty() ? "UTC" : source.timezone);
  if (!zone.ok()) return WithSource(source, zone.status());
  return std::move(zone).value();
}

Result<data::Value> ConvertCell(const Cell& cell, data::Type type, const data::TimeZone& zone) {
  using Kind = Cell::Kind;
  if (cell.kind == Kind::kNull) return data::Value::Null(type);
  switch (type) {
    case data::Type::kInt64: {
      if (cell.kind == Kind::kInt) return data::Value::Int(cell.i);
      if (cell.kind == Kind::kFloat) {
        if (std::isfinite(cell.f) && cell.f == std::trunc(cell.f) && std::fabs(cell.f) < 9.2e18) {
          return data::Value::Int(static_cast<int64_t>(cell.f));
        }
        return NotA(cell, type);
      }
      if (cell.kind == Kind::kText) {
        std::string_view text = Trim(cell.text);
        int64_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error == std::errc() && end == text.data() + text.size() && !text.empty()) {
          return data::Value::Int(value);
        }
      }
      return NotA(cell, type);
    }
    case data::Type::kFloat64: {
      if (cell.kind == Kind::kInt) return data::Value::Float(static_cast<double>(cell.i));
      if (cell.kind == Kind::kFloat) return data::Value::Float(cell.f);
      if (cell.kind == Kind::kText) {
        std::string_view text = Trim(cell.text);
        std::string_view digits = (!text.empty() && text.front() == '+') ? text.substr(1) : text;
        double value = 0;
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (error == std::errc() && end == digits.data() + digits.size() && !digits.empty()) {
          return data::Value::Float(value);
        }
      }
      return NotA(cell, type);
    }
    case data::Type::kBool: {
      if (cell.kind == Kind::kBool) return data::Value::Bool(cell.i != 0);
      if (cell.kind == Kind::kInt && (cell.i == 0 || cell.i == 1)) return data::Value::Bool(cell.i != 0);
      if (cell.kind == Kind::kText) {
        std::string text = Lower(Trim(cell.text));
        if (text == "true" || text == "t" || text == "1" || text == "yes") return data::Value::Bool(true);
        if (text == "false" || text == "f" || text == "0" || text == "no") return data::Value::Bool(false);
      }
      return NotA(cell, type);
    }
    case data::Type::kString:
      return data::Value::String(CellText(cell));
    case data::Type::kTimestamp: {
      if (cell.kind == Kind::kInt) {
        if (std::fabs(static_cast<double>(cell.i)) >= kMaxTimestampSeconds) return NotA(cell, type);
        return data::Value::Timestamp(cell.i * data::kMicrosPerSecond);
      }
      if (cell.kind == Kind::kFloat) {
        if (!std::isfinite(cell.f) || std::fabs(cell.f) >= kMaxTimestampSeconds) return NotA(cell, type);
        return data::Value::Timestamp(std::llround(cell.f * data::kMicrosPerSecond));
      }
      if (cell.kind == Kind::kText) {
        KILN_ASSIGN_OR_RETURN(int64_t micros, data::ParseTimestamp(Trim(cell.text), zone));
        return data::Value::Timestamp(micros);
      }
      return NotA(cell, type);
    }
  }
  return NotA(cell, type);
}

data::Type TypeFromSqlName(std::string_view declared) {
  std::string name(declared);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto has = [&](std::string_view part) { return name.find(part) != std::string::npos; };
  if (has("BOOL")) return data::Type::kBool;
  if (has("TIMESTAMP") || has("DATETIME") || name.rfind("DATE", 0) == 0) return data::Type::kTimestamp;
  if (has("INT")) return data::Type::kInt64;
  if (has("REAL") || has("FLOA") || has("DOUB") || has("NUMERIC") || has("DECIMAL")) {
    return data::Type::kFloat64;
  }
  return data::Type::kString;
}

data::Type ColumnType(const SourceDef& source, const std::string& column, data::Type fallback) {
  if (column == source.timestamp_field || column == source.created_timestamp_field) {
    return data::Type::kTimestamp;
  }
  auto it = source.columns.find(column);
  return it != source.columns.end() ? it->second : fallback;
}

void AppendColumn(const data::Column& from, data::Column* to) {
  auto append = [](const auto& source, auto& target) {
    target.insert(target.end(), source.begin(), source.end());
  };
  append(from.validity(), to->mutable_validity());
  switch (from.type()) {
    case data::Type::kBool:
    case data::Type::kInt64:
    case data::Type::kTimestamp: append(from.ints(), to->mutable_ints()); break;
    case data::Type::kFloat64: append(from.floats(), to->mutable_floats()); break;
    case data::Type::kString: append(from.strings(), to->mutable_strings()); break;
  }
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteQualifiedName(std::string_view name) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    if (!out.empty()) out += '.';
    out += QuoteIdentifier(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

}  // namespace source_internal

namespace {

using source_internal::SourceError;

// Keeps rows whose event time lies in [start, end); rows with no event time
// are dropped when a bound is given.
data::Frame FilterByEventTime(data::Frame frame, const std::string& event_field,
                              const SourceReadOptions& options) {
  if (!options.start_micros && !options.end_micros) return frame;
  const data::Column& event_time = *frame.Find(event_field);
  const int64_t start = options.start_micros.value_or(std::numeric_limits<int64_t>::min());
  const int64_t end = options.end_micros.value_or(std::numeric_limits<int64_t>::max());
  std::vector<int64_t> keep;
  keep.reserve(frame.num_rows());
  const auto& times = event_time.ints();
  for (size_t row = 0; row < frame.num_rows(); ++row) {
    if (!event_time.IsNull(row) && times[row] >= start && times[row] < end) {
      keep.push_back(static_cast<int64_t>(row));
    }
  }
  if (keep.size() == frame.num_rows()) return frame;
  return frame.Take(keep);
}

Status CheckTimestampColumn(const SourceDef& source, const data::Frame& frame,
                            const std::string& field, std::string_view role) {
  if (field.empty()) return Status::Ok();
  const data::Column* column = frame.Find(field);
  if (column == nullptr) {
    return SourceError(source, "has no column '" + field + "' (its " + std::string(role) + ")");
  }
  if (column->type() != data::Type::kTimestamp) {
    return SourceError(source, "column '" + field + "' (its " + std::string(role) + ") is " +
                                   std::string(data::TypeName(column->type())) +
                                   ", not a timestamp");
  }
  return Status::Ok();
}

}  // namespace

Result<data::Frame> ReadSource(const RepositoryDef& repository, const SourceDef& source,
                               const SourceReadOptions& options) {
  if (source.timestamp_field.empty()) return SourceError(source, "has no timestamp_field");
  Result<data::Frame> frame = Status();
  switch (source.kind) {
    case SourceKind::kCsv:
    case SourceKind::kJsonLines:
      frame = source_internal::ReadFileSource(repository, source, options);
      break;
    case SourceKind::kSqlite:
      frame = source_internal::ReadSqliteSource(repository, source, options);
      break;
    case SourceKind::kPostgres:
      frame = source_internal::ReadPostgresSource(source, options);
      break;
    case SourceKind::kPush:
      frame = source_internal::ReadPushSource(repository, source, options);
      break;
  }
  if (!frame.ok()) return frame.status();
  KILN_RETURN_IF_ERROR(CheckTimestampColumn(source, *frame, source.timestamp_field, "timestamp_field"));
  KILN_RETURN_IF_ERROR(
      CheckTimestampColumn(source, *frame, source.created_timestamp_field, "created_timestamp_field"));
  return FilterByEventTime(std::move(frame).value(), source.timestamp_field, options);
}

}  // namespace kiln::features
