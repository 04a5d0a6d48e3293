// WriteCsv / WriteCsvFile (csv.h): one header row, then one record per row;
// a field is quoted only when it must be (delimiter, quote, line break) or
// when it is an empty string, which an unquoted empty field (null) is not.
#include <cerrno>
#include <cstring>
#include <fstream>

#include "data/csv.h"
#include "data/number_format.h"

namespace kiln::data {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

void AppendField(std::string_view text, std::string* out) {
  const bool needs_quotes = text.empty() || text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!needs_quotes) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendValue(const Column& column, size_t row, std::string* out) {
  if (column.IsNull(row)) return;
  switch (column.type()) {
    case Type::kBool:
      out->append(column.ints()[row] != 0 ? "true" : "false");
      break;
    case Type::kInt64:
      out->append(std::to_string(column.ints()[row]));
      break;
    case Type::kFloat64:
      AppendDouble(column.floats()[row], out);
      break;
    case Type::kTimestamp:
      out->append(FormatTimestamp(column.ints()[row]));
      break;
    case Type::kString:
      AppendField(column.strings()[row], out);
      break;
  }
}

}  // namespace

Status WriteCsv(const Frame& frame, std::ostream& out) {
  std::string buffer;
  for (size_t i = 0; i < frame.num_columns(); ++i) {
    if (i > 0) buffer.push_back(',');
    AppendField(frame.names()[i], &buffer);
  }
  buffer.push_back('\n');
  for (size_t row = 0; row < frame.num_rows(); ++row) {
    for (size_t i = 0; i < frame.num_columns(); ++i) {
      if (i > 0) buffer.push_back(',');
      AppendValue(frame.column(i), row, &buffer);
    }
    buffer.push_back('\n');
    if (buffer.size() >= kFlushBytes) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  if (!out) return Internal("writing CSV failed");
  return Status::Ok();
}

Status WriteCsvFile(const Frame& frame, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument("cannot write " + path + ": " + std::strerror(errno));
  KILN_RETURN_IF_ERROR(WriteCsv(frame, out));
  out.close();
  if (!out) return Internal("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace kiln::data
