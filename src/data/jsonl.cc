// ReadJsonLines / ParseJsonLines (csv.h). Each line is read with
// nlohmann's SAX parser into flat (key, scalar) cells; the columns are the
// union of keys in first-seen order, typed like CSV columns once every line
// is in. Python's bare NaN / Infinity / -Infinity are accepted.
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/progress.h"
#include "data/csv.h"
#include "data/file_io.h"
#include "data/number_format.h"
#include "data/read_plan.h"

namespace kiln::data {
namespace {

struct Scalar {
  enum Kind : uint8_t { kNull, kBool, kInt, kFloat, kString } kind = kNull;
  int64_t i = 0;
  double f = 0;
  std::string s;

  // The value as text: strings as they are, numbers in JSON spelling.
  std::string Text() const {
    switch (kind) {
      case kNull:
        return "null";
      case kBool:
        return i != 0 ? "true" : "false";
      case kInt:
        return std::to_string(i);
      case kFloat:
        return FormatDouble(f);
      case kString:
        return s;
    }
    return "";
  }
};

// Replaces the bare NaN, Infinity and -Infinity of Python's json module by
// null in `line` (copying into *rewritten only when one occurs) and notes the
// top-level member (by position) each one stood for.
bool ReplaceNonFinite(std::string_view line, std::string* rewritten,
                      std::vector<std::pair<size_t, double>>* replaced) {
  if (line.find_first_of("NI") == std::string_view::npos) return false;
  bool in_string = false, changed = false;
  int depth = 0;
  size_t member = 0, copied = 0;
  char previous = 0;  // last character outside strings that is not a space
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        previous = '"';
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (c == ',' && depth == 1) ++member;
    double value = 0;
    size_t length = 0;
    const std::string_view rest = line.substr(i);
    if (rest.starts_with("NaN")) {
      value = std::numeric_limits<double>::quiet_NaN();
      length = 3;
    } else if (rest.starts_with("Infinity")) {
      value = std::numeric_limits<double>::infinity();
      length = 8;
    } else if (rest.starts_with("-Infinity")) {
      value = -std::numeric_limits<double>::infinity();
      length = 9;
    }
    const bool at_value = previous == ':' || previous == ',' || previous == '[';
    const bool ends = i + length >= line.size() || std::strchr(" \t\r,}]", line[i + length]) != nullptr;
    if (length > 0 && at_value && ends) {
      if (!changed) rewritten->clear();
      changed = true;
      rewritten->append(line.substr(copied, i - copied));
      rewritten->append("null");
      copied = i + length;
      if (depth == 1) replaced->emplace_back(member, value);
      i += length - 1;
      previous = 'l';
      continue;
    }
    previous = c;
  }
  if (changed) rewritten->append(line.substr(copied));
  return changed;
}

// SAX handler for one line: a flat object of scalars.
class LineHandler : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::pair<std::string, Scalar>> members;
  std::string error;  // message after "file:line: "

  bool null() override { return Add(Scalar{}); }
  bool boolean(bool value) override { return Add(Scalar{Scalar::kBool, value ? 1 : 0, 0, {}}); }
  bool number_integer(number_integer_t value) override { return Add(Scalar{Scalar::kInt, value, 0, {}}); }
  bool number_unsigned(number_unsigned_t value) override {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Add(Scalar{Scalar::kFloat, 0, static_cast<double>(value), {}});
    }
    return Add(Scalar{Scalar::kInt, static_cast<int64_t>(value), 0, {}});
  }
  bool number_float(number_float_t value, const string_t&) override {
    return Add(Scalar{Scalar::kFloat, 0, value, {}});
  }
  bool string(string_t& value) override { return Add(Scalar{Scalar::kString, 0, 0, value}); }
  bool binary(binary_t&) override { return Nested("binary value"); }
  bool start_object(std::size_t) override {
    if (depth_++ == 0) return true;
    return Nested("an object");
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) {
      error = "expected a JSON object, found an array";
      return false;
    }
    return Nested("an array");
  }
  bool end_array() override { return true; }
  bool key(string_t& value) override {
    for (const auto& member : members) {
      if (member.first == value) {
        error = "duplicate key '" + value + "'";
        return false;
      }
    }
    key_ = value;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& exception) override {
    std::string_view what = exception.what();
    const size_t column = what.find("column ");
    error = "invalid JSON";
    if (column != std::string_view::npos) error += " at " + std::string(what.substr(column));
    return false;
  }

 private:
  bool Add(Scalar value) {
    if (depth_ == 0) {
      error = "expected a JSON object, found " + std::string(value.kind == Scalar::kString ? "a string"
                                                             : value.kind == Scalar::kNull ? "null"
                                                             : value.kind == Scalar::kBool ? "a bool"
                                                                                           : "a number");
      return false;
    }
    members.emplace_back(std::move(key_), std::move(value));
    return true;
  }
  bool Nested(const std::string& what) {
    error = "field '" + key_ + "' is " + what + "; only scalars are supported";
    return false;
  }

  int depth_ = 0;
  std::string key_;
};

class JsonLinesReader {
 public:
  JsonLinesReader(std::string_view text, const ReadOptions& options, std::string source)
      : text_(text), options_(options), source_(std::move(source)) {}

  Result<Frame> Read();

 private:
  Status Error(int64_t line, const std::string& message) const {
    return InvalidArgument(source_ + ":" + std::to_string(line) + ": " + message);
  }
  Status ReadLine(std::string_view line, int64_t line_number);
  Result<Column> Convert(size_t source, Type type, const std::string& name) const;

  std::string_view text_;
  const ReadOptions& options_;
  std::string source_;
  std::vector<std::string> keys_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<std::vector<Scalar>> cells_;  // per key, per row
  std::vector<uint8_t> seen_;               // per key
  std::vector<int64_t> row_lines_;
};

Status JsonLinesReader::ReadLine(std::string_view line, int64_t line_number) {
  std::string rewritten;
  std::vector<std::pair<size_t, double>> replaced;
  if (ReplaceNonFinite(line, &rewritten, &replaced)) line = rewritten;
  LineHandler handler;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(line, &handler);
  } catch (const std::exception& exception) {
    return Error(line_number, std::string("invalid JSON: ") + exception.what());
  }
  if (!ok) return Error(line_number, handler.error.empty() ? "invalid JSON" : handler.error);
  for (const auto& [member, value] : replaced) {
    if (member < handler.members.size()) {
      handler.members[member].second = Scalar{Scalar::kFloat, 0, value, {}};
    }
  }
  const size_t row = row_lines_.size();
  row_lines_.push_back(line_number);
  for (auto& [key, value] : handler.members) {
    auto [it, inserted] = key_index_.emplace(key, keys_.size());
    if (inserted) {
      keys_.push_back(key);
      cells_.emplace_back(row);  // nulls for the rows before
      seen_.push_back(row > 0 ? kSeenNull : 0);
    }
    const size_t index = it->second;
    static constexpr uint8_t kSeenOf[] = {kSeenNull, kSeenBool, kSeenInt, kSeenFloat, kSeenString};
    seen_[index] |= kSeenOf[value.kind];
    cells_[index].push_back(std::move(value));
  }
  for (size_t index = 0; index < keys_.size(); ++index) {
    if (cells_[index].size() == row) {
      cells_[index].emplace_back();
      seen_[index] |= kSeenNull;
    }
  }
  return Status::Ok();
}

Result<Column> JsonLinesReader::Convert(size_t source, Type type, const std::string& name) const {
  Column column(type);
  column.Reserve(row_lines_.size());
  const std::vector<Scalar>& cells = cells_[source];
  for (size_t row = 0; row < cells.size(); ++row) {
    const Scalar& cell = cells[row];
    auto fail = [&](const std::string& problem) {
      return Error(row_lines_[row], "column '" + name + "': " + problem);
    };
    if (cell.kind == Scalar::kNull) {
      column.AppendNull();
      continue;
    }
    switch (type) {
      case Type::kBool:
        if (cell.kind != Scalar::kBool) return fail("'" + cell.Text() + "' is not a bool");
        column.AppendInt(cell.i);
        break;
      case Type::kInt64:
        if (cell.kind != Scalar::kInt) return fail("'" + cell.Text() + "' is not an int64");
        column.AppendInt(cell.i);
        break;
      case Type::kFloat64:
        if (cell.kind == Scalar::kInt) {
          column.AppendFloat(static_cast<double>(cell.i));
        } else if (cell.kind == Scalar::kFloat) {
          column.AppendFloat(cell.f);
        } else {
          return fail("'" + cell.Text() + "' is not a float64");
        }
        break;
      case Type::kString:
        column.AppendString(cell.kind == Scalar::kString ? cell.s : cell.Text());
        break;
      case Type::kTimestamp: {
        if (cell.kind != Scalar::kString) {
          return fail(cell.Text() + " is a " + (cell.kind == Scalar::kBool ? "bool" : "number") +
                      "; timestamps must be ISO 8601 strings");
        }
        Result<int64_t> micros =
            ParseTimestamp(cell.s, options_.timezone ? *options_.timezone : TimeZone::Utc());
        if (!micros.ok()) return fail(micros.status().message());
        column.AppendInt(*micros);
        break;
      }
    }
  }
  return column;
}

Result<Frame> JsonLinesReader::Read() {
  Progress progress(options_.progress_label.empty() ? "read " + source_ : options_.progress_label, 0, "rows",
                    options_.quiet);
  int64_t line_number = 0;
  size_t pos = 0;
  while (pos < text_.size()) {
    if (options_.max_rows != 0 && row_lines_.size() >= options_.max_rows) break;
    size_t end = text_.find('\n', pos);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    KILN_RETURN_IF_ERROR(ReadLine(line, line_number));
    if (row_lines_.size() % 65536 == 0) progress.Set(static_cast<int64_t>(row_lines_.size()));
  }
  KILN_ASSIGN_OR_RETURN(ReadPlan plan, PlanColumns(keys_, options_, source_));
  Frame frame;
  for (const PlannedColumn& planned : plan.columns) {
    const Type type = planned.declared ? *planned.declared : InferType(seen_[planned.source]);
    KILN_ASSIGN_OR_RETURN(Column column, Convert(planned.source, type, planned.name));
    KILN_RETURN_IF_ERROR(frame.AddColumn(planned.name, std::move(column)));
  }
  progress.Set(static_cast<int64_t>(row_lines_.size()));
  return frame;
}

}  // namespace

Result<Frame> ParseJsonLines(std::string_view text, const ReadOptions& options) {
  return JsonLinesReader(text, options, options.source_name).Read();
}

Result<Frame> ReadJsonLines(const std::string& path, const ReadOptions& options) {
  KILN_ASSIGN_OR_RETURN(FileBytes bytes, ReadFileBytes(path));
  return JsonLinesReader(bytes.view(), options, path).Read();
}

}  // namespace kiln::data
