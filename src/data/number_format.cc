#include "data/number_format.h"

#include <charconv>
#include <cmath>

namespace kiln::data {

void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append(std::signbit(value) ? "-nan" : "nan");
    return;
  }
  if (std::isinf(value)) {
    out->append(value < 0 ? "-inf" : "inf");
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string_view text(buffer, static_cast<size_t>(end - buffer));
  out->append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

std::string FormatDouble(double value) {
  std::string out;
  AppendDouble(value, &out);
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') {
    ++begin;
    if (begin != end && *begin == '-') return std::nullopt;
  }
  if (begin == end) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ParseFloat64(std::string_view text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') {
    ++begin;
    if (begin != end && *begin == '-') return std::nullopt;
  }
  if (begin == end) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  // Out-of-range magnitudes are reported as errors; strtod's answer
  // (±inf or a denormal/zero) is what a user means by "1e999".
  if (ec == std::errc::result_out_of_range && ptr == end) {
    std::string copy(begin, end);
    return std::strtod(copy.c_str(), nullptr);
  }
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  auto equals_folded = [](std::string_view text, std::string_view lower) {
    if (text.size() != lower.size()) return false;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != lower[i]) return false;
    }
    return true;
  };
  if (equals_folded(text, "true")) return true;
  if (equals_folded(text, "false")) return false;
  return std::nullopt;
}

}  // namespace kiln::data
