#pragma once
// Plain-text tables for CLI listings (the --json form prints the API's JSON).

#include <string>
#include <vector>

namespace kiln::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell, two spaces apart.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-26 20:31:33" in UTC for a millisecond timestamp; "-" for 0.
std::string FormatTime(int64_t millis);
// "1m 04s" style durations.
std::string FormatDuration(int64_t millis);
// A metric or number as the user expects to read it (%.6g; NaN, inf).
std::string FormatNumber(double value);

}  // namespace kiln::cli
