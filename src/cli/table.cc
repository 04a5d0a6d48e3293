#include "cli/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace kiln::cli {
namespace {

size_t DisplayWidth(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xc0) != 0x80) ++width;  // count UTF-8 lead bytes only
  }
  return width;
}

}  // namespace

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < widths.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      line += cell;
      if (c + 1 < widths.size()) line += std::string(widths[c] - DisplayWidth(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(headers_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string FormatTime(int64_t millis) {
  if (millis <= 0) return "-";
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &utc);
  return buffer;
}

std::string FormatDuration(int64_t millis) {
  if (millis < 0) return "-";
  char buffer[32];
  if (millis < 1000) {
    std::snprintf(buffer, sizeof buffer, "%lldms", static_cast<long long>(millis));
  } else if (millis < 60'000) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", millis / 1000.0);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldm %02llds", static_cast<long long>(millis / 60'000),
                  static_cast<long long>((millis / 1000) % 60));
  }
  return buffer;
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

}  // namespace kiln::cli
