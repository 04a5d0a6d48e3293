// ReadCsv / ParseCsv / ReadCsvHeader (csv.h). Two passes over chunks cut at
// record boundaries, both on all cores: scan each chunk into field spans
// while noting which kinds of values each column holds, then convert the
// spans into the typed columns once every column's type is known.
#include <algorithm>
#include <optional>
#include <unordered_set>

#include "common/progress.h"
#include "data/csv.h"
#include "data/csv_scanner.h"
#include "data/file_io.h"
#include "data/number_format.h"
#include "data/parallel.h"
#include "data/read_plan.h"

namespace kiln::data {
namespace {

constexpr size_t kMinChunkBytes = size_t{1} << 20;

// One chunk of the body: its spans (row-major, one per output column), the
// kinds of values seen per column, and the first problem in it.
struct Chunk {
  std::string_view text;
  std::vector<CsvSpan> spans;
  std::vector<uint8_t> seen;
  size_t rows = 0;
  int64_t newlines = 0;
  bool stray_quote = false;
  // First problem: the local line (0-based) and the message after "file:line: ".
  std::optional<std::pair<int64_t, std::string>> error;
};

// A conversion failure: the chunk's row and the message after "file:line: ".
struct ConvertError {
  size_t row;
  std::string message;
};

std::string FieldText(std::string_view text, CsvSpan span) {
  std::string_view raw = text.substr(span.offset, span.size_and_flags & kSpanSizeMask);
  if (!(span.size_and_flags & kSpanEscaped)) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    out.push_back(raw[i]);
    if (raw[i] == '"') ++i;  // skip the second quote of a pair
  }
  return out;
}

std::string ProblemMessage(const CsvRecord& record, const std::vector<std::string>& names) {
  if (record.problem == CsvProblem::kUnterminatedQuote) return "unterminated quoted field";
  std::string field = record.problem_field < names.size()
                          ? "column '" + names[record.problem_field] + "'"
                          : "field " + std::to_string(record.problem_field + 1);
  return "unexpected '" + std::string(1, record.problem_character) + "' after the closing quote of " + field;
}

class CsvReader {
 public:
  CsvReader(std::string_view text, const ReadOptions& options, std::string source)
      : text_(text), options_(options), source_(std::move(source)) {}

  Result<Frame> Read();
  Result<std::vector<std::string>> ReadHeader();
  bool header_complete() const { return header_complete_; }

 private:
  Status Error(int64_t line, const std::string& message) const {
    return InvalidArgument(source_ + ":" + std::to_string(line) + ": " + message);
  }
  void ScanChunk(Chunk* chunk) const;
  void ConvertChunk(const Chunk& chunk, size_t first_row, std::vector<Column>* columns,
                    std::optional<ConvertError>* error) const;
  std::optional<std::string> ConvertField(const Chunk& chunk, CsvSpan span, size_t slot, size_t row,
                                          Column* column) const;
  int64_t LineOfRow(const Chunk& chunk, size_t row) const;

  std::string_view text_;
  const ReadOptions& options_;
  std::string source_;
  std::vector<std::string> names_;  // header
  size_t body_begin_ = 0;
  int64_t header_lines_ = 0;
  bool header_complete_ = false;
  ReadPlan plan_;
  std::vector<Type> types_;  // per output column
  const TimeZone* zone_ = &TimeZone::Utc();
};

Result<std::vector<std::string>> CsvReader::ReadHeader() {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 byte order mark
  if (text_.empty()) return InvalidArgument(source_ + ": empty file (a header row is required)");
  // Only the header matters here; a prefix keeps spans within 32 bits.
  CsvScanner scanner(text_.substr(0, std::min(text_.size(), kMaxScanBytes - 1)), options_.delimiter);
  std::vector<CsvSpan> spans;
  CsvRecord record = scanner.Next([&](size_t, uint32_t offset, uint32_t size_and_flags) {
    spans.push_back(CsvSpan{offset, size_and_flags});
  });
  // Whether the whole header record was in the text (it may be a prefix).
  header_complete_ = record.problem == CsvProblem::kTextAfterQuote ||
                     (record.problem == CsvProblem::kNone && scanner.newlines() > 0);
  if (record.problem != CsvProblem::kNone) return Error(1, ProblemMessage(record, {}));
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < spans.size(); ++i) {
    std::string name = FieldText(text_, spans[i]);
    if (name.empty()) {
      if (spans.size() == 1) return Error(1, "empty header row (a header row is required)");
      return Error(1, "column " + std::to_string(i + 1) + " has an empty name");
    }
    if (!seen.insert(name).second) return Error(1, "duplicate column '" + name + "'");
    names.push_back(std::move(name));
  }
  body_begin_ = scanner.position();
  header_lines_ = std::max<int64_t>(1, scanner.newlines());
  return names;
}

void CsvReader::ScanChunk(Chunk* chunk) const {
  const size_t width = plan_.columns.size();
  const size_t expected = names_.size();
  const std::vector<int>& slot_of = plan_.slot_of_source;
  std::vector<bool> infer(width);
  for (size_t slot = 0; slot < width; ++slot) infer[slot] = !plan_.columns[slot].declared;
  chunk->seen.assign(width, 0);
  // Every record but a blank line takes at least `expected` bytes, so this
  // never reallocates; pages of the reservation that go unused are never touched.
  chunk->spans.reserve((chunk->text.size() / std::max<size_t>(expected, 1) + 1) * width);
  const char* data = chunk->text.data();
  CsvScanner scanner(chunk->text, options_.delimiter);
  size_t base = 0;
  auto on_field = [&](size_t index, uint32_t offset, uint32_t size_and_flags) {
    if (index >= expected) return;
    const int slot = slot_of[index];
    if (slot < 0) return;
    chunk->spans[base + slot] = CsvSpan{offset, size_and_flags};
    if (!infer[slot]) return;
    uint8_t& seen = chunk->seen[slot];
    const uint32_t size = size_and_flags & kSpanSizeMask;
    if (size == 0) {
      seen |= (size_and_flags & kSpanQuoted) ? kSeenEmptyQuoted : kSeenNull;
    } else if (!(seen & kSeenString)) {
      seen |= (size_and_flags & kSpanEscaped) ? static_cast<uint8_t>(kSeenString)
                                              : ClassifyText(std::string_view(data + offset, size));
    }
  };
  while (!scanner.AtEnd()) {
    if (options_.max_rows != 0 && chunk->rows >= options_.max_rows) break;
    if (expected > 1 && scanner.SkipBlankLine()) continue;
    const int64_t line = scanner.newlines();
    base = chunk->spans.size();
    chunk->spans.resize(base + width);
    CsvRecord record = scanner.Next(on_field);
    if (record.problem != CsvProblem::kNone) {
      chunk->error.emplace(line, ProblemMessage(record, names_));
      break;
    }
    if (record.fields != expected) {
      chunk->error.emplace(
          line, "expected " + std::to_string(expected) + " fields, found " + std::to_string(record.fields));
      break;
    }
    ++chunk->rows;
  }
  chunk->spans.resize(chunk->rows * width);
  chunk->newlines = scanner.newlines();
  chunk->stray_quote = scanner.saw_stray_quote();
}

std::optional<std::string> CsvReader::ConvertField(const Chunk& chunk, CsvSpan span, size_t slot, size_t row,
                                                   Column* column) const {
  const Type type = types_[slot];
  const uint32_t size = span.size_and_flags & kSpanSizeMask;
  if (size == 0 && (type != Type::kString || !(span.size_and_flags & kSpanQuoted))) {
    return std::nullopt;  // null: validity stays 0
  }
  std::string_view raw(chunk.text.data() + span.offset, size);
  std::string unescaped;
  if (span.size_and_flags & kSpanEscaped) {
    unescaped = FieldText(chunk.text, span);
    raw = unescaped;
  }
  auto not_a = [&](std::string_view what) {
    return "column '" + plan_.columns[slot].name + "': '" + std::string(raw) + "' is not " +
           std::string(what);
  };
  switch (type) {
    case Type::kInt64: {
      std::optional<int64_t> value = ParseInt64(raw);
      if (!value) return not_a("an int64");
      column->mutable_ints()[row] = *value;
      break;
    }
    case Type::kFloat64: {
      std::optional<double> value = ParseFloat64(raw);
      if (!value) return not_a("a float64");
      column->mutable_floats()[row] = *value;
      break;
    }
    case Type::kBool: {
      std::optional<bool> value = ParseBool(raw);
      if (!value && (raw == "1" || raw == "0")) value = raw == "1";
      if (!value) return not_a("a bool (expected true or false)");
      column->mutable_ints()[row] = *value ? 1 : 0;
      break;
    }
    case Type::kTimestamp: {
      Result<int64_t> value = ParseTimestamp(raw, *zone_);
      if (!value.ok()) {
        return "column '" + plan_.columns[slot].name + "': " + value.status().message();
      }
      column->mutable_ints()[row] = *value;
      break;
    }
    case Type::kString:
      if (unescaped.empty()) {
        column->mutable_strings()[row].assign(raw.data(), raw.size());
      } else {
        column->mutable_strings()[row] = std::move(unescaped);
      }
      break;
  }
  column->mutable_validity()[row] = 1;
  return std::nullopt;
}

void CsvReader::ConvertChunk(const Chunk& chunk, size_t first_row, std::vector<Column>* columns,
                             std::optional<ConvertError>* error) const {
  const size_t width = plan_.columns.size();
  for (size_t slot = 0; slot < width; ++slot) {
    Column* column = &(*columns)[slot];
    for (size_t row = 0; row < chunk.rows; ++row) {
      std::optional<std::string> problem =
          ConvertField(chunk, chunk.spans[row * width + slot], slot, first_row + row, column);
      if (problem && (!*error || row < (*error)->row)) {
        error->emplace(ConvertError{row, std::move(*problem)});
        break;
      }
    }
  }
}

int64_t CsvReader::LineOfRow(const Chunk& chunk, size_t row) const {
  CsvScanner scanner(chunk.text, options_.delimiter);
  size_t rows = 0;
  while (!scanner.AtEnd()) {
    if (names_.size() > 1 && scanner.SkipBlankLine()) continue;
    if (rows == row) break;
    scanner.Next([](size_t, uint32_t, uint32_t) {});
    ++rows;
  }
  return scanner.newlines();
}

Result<Frame> CsvReader::Read() {
  KILN_ASSIGN_OR_RETURN(names_, ReadHeader());
  KILN_ASSIGN_OR_RETURN(plan_, PlanColumns(names_, options_, source_));
  if (options_.timezone) zone_ = options_.timezone.get();
  const size_t width = plan_.columns.size();
  Progress progress(options_.progress_label.empty() ? "read " + source_ : options_.progress_label, 0, "rows",
                    options_.quiet);

  // Pass 1: cut the body into chunks and scan them.
  const size_t body_size = text_.size() - body_begin_;
  size_t parts = 1;
  if (options_.max_rows == 0 && body_size >= 2 * kMinChunkBytes) {
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    parts = std::min(cores * 4, body_size / kMinChunkBytes);
    parts = std::max(parts, body_size / (kMaxScanBytes / 2) + 1);
  }
  std::vector<Chunk> chunks;
  auto scan_all = [&](size_t wanted_parts) -> Status {
    std::vector<size_t> cuts = SplitAtRecords(text_, body_begin_, wanted_parts);
    chunks.assign(cuts.size() - 1, Chunk());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      chunks[i].text = text_.substr(cuts[i], cuts[i + 1] - cuts[i]);
      if (chunks[i].text.size() >= kMaxScanBytes) {
        return InvalidArgument(source_ + ": cannot cut the file into pieces under 1 GiB at " +
                               "line ends (a quoted field spans too much of it, or quotes " +
                               "appear inside unquoted fields)");
      }
    }
    RunParallel(chunks.size(), [&](size_t i) { ScanChunk(&chunks[i]); });
    return Status::Ok();
  };
  KILN_RETURN_IF_ERROR(scan_all(parts));
  const bool stray_quote =
      std::any_of(chunks.begin(), chunks.end(), [](const Chunk& chunk) { return chunk.stray_quote; });
  if (chunks.size() > 1 && stray_quote) {
    KILN_RETURN_IF_ERROR(scan_all(1));  // counting quotes did not find the true record ends
  }

  int64_t line = header_lines_ + 1;
  size_t total_rows = 0;
  std::vector<uint8_t> seen(width, 0);
  for (const Chunk& chunk : chunks) {
    if (chunk.error) return Error(line + chunk.error->first, chunk.error->second);
    line += chunk.newlines;
    total_rows += chunk.rows;
    for (size_t slot = 0; slot < width; ++slot) seen[slot] |= chunk.seen[slot];
  }
  progress.SetTotal(static_cast<int64_t>(total_rows));

  // Pass 2: settle the types, then fill each chunk's rows of every column.
  std::vector<Column> columns;
  for (size_t slot = 0; slot < width; ++slot) {
    const PlannedColumn& planned = plan_.columns[slot];
    types_.push_back(planned.declared ? *planned.declared : InferType(seen[slot]));
    Column column(types_.back());
    column.mutable_validity().resize(total_rows, 0);
    if (types_.back() == Type::kFloat64) {
      column.mutable_floats().resize(total_rows, 0.0);
    } else if (types_.back() == Type::kString) {
      column.mutable_strings().resize(total_rows);
    } else {
      column.mutable_ints().resize(total_rows, 0);
    }
    columns.push_back(std::move(column));
  }
  std::vector<size_t> first_rows(chunks.size(), 0);
  for (size_t i = 1; i < chunks.size(); ++i) first_rows[i] = first_rows[i - 1] + chunks[i - 1].rows;
  std::vector<std::optional<ConvertError>> errors(chunks.size());
  RunParallel(chunks.size(), [&](size_t i) {
    ConvertChunk(chunks[i], first_rows[i], &columns, &errors[i]);
    progress.Add(static_cast<int64_t>(chunks[i].rows));
  });
  line = header_lines_ + 1;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (errors[i]) return Error(line + LineOfRow(chunks[i], errors[i]->row), errors[i]->message);
    line += chunks[i].newlines;
  }

  Frame frame;
  for (size_t slot = 0; slot < width; ++slot) {
    KILN_RETURN_IF_ERROR(frame.AddColumn(plan_.columns[slot].name, std::move(columns[slot])));
  }
  return frame;
}

}  // namespace

Result<Frame> ParseCsv(std::string_view text, const ReadOptions& options) {
  return CsvReader(text, options, options.source_name).Read();
}

Result<Frame> ReadCsv(const std::string& path, const ReadOptions& options) {
  if (options.max_rows == 0) {
    KILN_ASSIGN_OR_RETURN(FileBytes bytes, ReadFileBytes(path));
    return CsvReader(bytes.view(), options, path).Read();
  }
  // Sampling: read growing prefixes cut at a line feed until enough rows.
  for (size_t limit = size_t{4} << 20;; limit *= 4) {
    size_t file_size = 0;
    KILN_ASSIGN_OR_RETURN(FileBytes bytes, ReadFileBytes(path, limit, &file_size));
    std::string_view text = bytes.view();
    if (text.size() < file_size) {
      const size_t last_newline = text.rfind('\n');
      if (last_newline == std::string_view::npos) continue;
      Result<Frame> frame = CsvReader(text.substr(0, last_newline + 1), options, path).Read();
      if (frame.ok() && frame->num_rows() >= options.max_rows) return frame;
      continue;
    }
    return CsvReader(text, options, path).Read();
  }
}

Result<std::vector<std::string>> ReadCsvHeader(const std::string& path, char delimiter) {
  ReadOptions options;
  options.delimiter = delimiter;
  for (size_t limit = 64 << 10;; limit *= 8) {
    size_t file_size = 0;
    KILN_ASSIGN_OR_RETURN(FileBytes bytes, ReadFileBytes(path, limit, &file_size));
    std::string_view text = bytes.view();
    CsvReader reader(text, options, path);
    Result<std::vector<std::string>> names = reader.ReadHeader();
    if (text.size() >= file_size || reader.header_complete()) return names;
  }
}

}  // namespace kiln::data
