// WriteJsonLines (csv.h): one object per row, keys in column order, every
// column present (null when null). Non-finite floats are written as the bare
// NaN / Infinity / -Infinity of Python's json module.
#include <cmath>

#include "common/json_writer.h"
#include "data/csv.h"
#include "data/number_format.h"

namespace kiln::data {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

void AppendValue(const Column& column, size_t row, std::string* out) {
  if (column.IsNull(row)) {
    out->append("null");
    return;
  }
  switch (column.type()) {
    case Type::kBool:
      out->append(column.ints()[row] != 0 ? "true" : "false");
      break;
    case Type::kInt64:
      out->append(std::to_string(column.ints()[row]));
      break;
    case Type::kFloat64: {
      const double value = column.floats()[row];
      if (std::isnan(value)) {
        out->append("NaN");
      } else if (std::isinf(value)) {
        out->append(value > 0 ? "Infinity" : "-Infinity");
      } else {
        AppendDouble(value, out);
      }
      break;
    }
    case Type::kTimestamp:
      AppendJsonString(out, FormatTimestamp(column.ints()[row]));
      break;
    case Type::kString:
      AppendJsonString(out, column.strings()[row]);
      break;
  }
}

}  // namespace

Status WriteJsonLines(const Frame& frame, std::ostream& out) {
  std::vector<std::string> keys;
  for (const std::string& name : frame.names()) {
    std::string key;
    AppendJsonString(&key, name);
    key.push_back(':');
    keys.push_back(std::move(key));
  }
  std::string buffer;
  for (size_t row = 0; row < frame.num_rows(); ++row) {
    buffer.push_back('{');
    for (size_t i = 0; i < frame.num_columns(); ++i) {
      if (i > 0) buffer.push_back(',');
      buffer.append(keys[i]);
      AppendValue(frame.column(i), row, &buffer);
    }
    buffer.append("}\n");
    if (buffer.size() >= kFlushBytes) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  if (!out) return Internal("writing JSON lines failed");
  return Status::Ok();
}

}  // namespace kiln::data
