#pragma once
// Internal to the data module: the CSV record scanner (RFC 4180 quoting,
// CRLF or LF line ends) that the reader runs over chunks of a file, and the
// splitter that cuts a text into chunks at record boundaries. Fields are
// reported as spans into the text, never copied. Thread-compatible; one
// scanner per thread.

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace kiln::data {

// A field as offset + size into the scanned text; for a quoted field the
// span covers the text between the quotes, and kSpanEscaped says it holds
// doubled quotes ("") to be undone.
inline constexpr uint32_t kSpanQuoted = 1u << 31;
inline constexpr uint32_t kSpanEscaped = 1u << 30;
inline constexpr uint32_t kSpanSizeMask = kSpanEscaped - 1;
// Texts handed to one scanner stay below this size so spans fit 32 bits.
inline constexpr size_t kMaxScanBytes = size_t{1} << 30;

struct CsvSpan {
  uint32_t offset;
  uint32_t size_and_flags;
};

enum class CsvProblem : uint8_t { kNone, kUnterminatedQuote, kTextAfterQuote };

struct CsvRecord {
  size_t fields = 0;  // fields in the record
  CsvProblem problem = CsvProblem::kNone;
  size_t problem_field = 0;  // for kTextAfterQuote: which field, and the character
  char problem_character = 0;
};

class CsvScanner {
 public:
  // REQUIRES: text.size() < kMaxScanBytes.
  CsvScanner(std::string_view text, char delimiter)
      : data_(text.data()), size_(text.size()), delimiter_(delimiter) {}

  bool AtEnd() const { return pos_ >= size_; }
  size_t position() const { return pos_; }
  // Line feeds passed so far (record ends and newlines inside quotes).
  int64_t newlines() const { return newlines_; }
  // True once a '"' was seen inside an unquoted field (kept as text).
  bool saw_stray_quote() const { return saw_stray_quote_; }

  // Skips one empty line ("\n" or "\r\n") if the next record is one.
  bool SkipBlankLine() {
    if (pos_ < size_ && data_[pos_] == '\n') {
      ++pos_;
      ++newlines_;
      return true;
    }
    if (pos_ + 1 < size_ && data_[pos_] == '\r' && data_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++newlines_;
      return true;
    }
    return false;
  }

  // Reads one record, calling on_field(index, offset, size_and_flags) for
  // each field. REQUIRES: !AtEnd().
  template <typename OnField>
  CsvRecord Next(OnField&& on_field) {
    CsvRecord record;
    size_t index = 0;
    while (true) {
      if (pos_ < size_ && data_[pos_] == '"') {
        const size_t content = ++pos_;
        uint32_t flags = kSpanQuoted;
        while (true) {
          const void* quote = std::memchr(data_ + pos_, '"', size_ - pos_);
          const size_t end = quote == nullptr ? size_ : static_cast<const char*>(quote) - data_;
          for (size_t k = pos_; k < end; ++k) newlines_ += data_[k] == '\n';
          if (quote == nullptr) {
            pos_ = size_;
            record.problem = CsvProblem::kUnterminatedQuote;
            return record;
          }
          if (end + 1 < size_ && data_[end + 1] == '"') {
            flags |= kSpanEscaped;
            pos_ = end + 2;
            continue;
          }
          on_field(index++, static_cast<uint32_t>(content), static_cast<uint32_t>(end - content) | flags);
          pos_ = end + 1;
          break;
        }
        if (pos_ >= size_) break;
        const char c = data_[pos_];
        if (c == delimiter_) {
          ++pos_;
          continue;
        }
        if (c == '\n') {
          ++pos_;
          ++newlines_;
          break;
        }
        if (c == '\r' && pos_ + 1 < size_ && data_[pos_ + 1] == '\n') {
          pos_ += 2;
          ++newlines_;
          break;
        }
        if (c == '\r' && pos_ + 1 == size_) {
          pos_ = size_;
          break;
        }
        record.problem = CsvProblem::kTextAfterQuote;
        record.problem_field = index - 1;
        record.problem_character = c;
        return record;
      }
      const char* p = data_ + pos_;
      const char* end = data_ + size_;
      while (p < end) {
        const char c = *p;
        if (c == delimiter_ || c == '\n') break;
        saw_stray_quote_ |= c == '"';
        ++p;
      }
      const size_t field_end = static_cast<size_t>(p - data_);
      size_t size = field_end - pos_;
      const bool at_delimiter = p < end && *p == delimiter_;
      if (!at_delimiter && size > 0 && data_[field_end - 1] == '\r') --size;
      on_field(index++, static_cast<uint32_t>(pos_), static_cast<uint32_t>(size));
      pos_ = field_end + 1;
      if (at_delimiter) continue;
      if (p < end) ++newlines_;
      break;
    }
    if (pos_ > size_) pos_ = size_;
    record.fields = index;
    return record;
  }

 private:
  const char* data_;
  size_t size_;
  char delimiter_;
  size_t pos_ = 0;
  int64_t newlines_ = 0;
  bool saw_stray_quote_ = false;
};

// Offsets that cut text[begin, end) into about `parts` pieces, each ending
// just after a line feed outside quotes (or at the end): {begin, …, size}.
// Counts quotes to know what is quoted, which is exact unless a quote
// appears inside an unquoted field (see CsvScanner::saw_stray_quote).
std::vector<size_t> SplitAtRecords(std::string_view text, size_t begin, size_t parts);

}  // namespace kiln::data
