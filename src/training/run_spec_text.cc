// Text helpers of run specs: strict numbers, sizes and durations, command
// lines split without a shell, and "did you mean" hints.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "data/timestamp.h"
#include "training/run_spec_internal.h"

namespace kiln::training {
namespace {

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Edits (insert, delete, replace, swap two neighbours) that turn a into b:
// the optimal-string-alignment distance, so "lable" is one edit from "label".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

namespace internal {

std::string NameHint(std::string_view name, const std::vector<std::string>& candidates) {
  // Close enough to be a typo: at most a third of the name's letters off
  // (at least one, at most three).
  const size_t allowed = std::clamp<size_t>(name.size() / 3, 1, 3);
  const std::string* best = nullptr;
  size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(Lower(name), Lower(candidate));
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best != nullptr) return " (did you mean '" + *best + "'?)";
  std::string known;
  for (const std::string& candidate : candidates) known += (known.empty() ? "" : ", ") + candidate;
  return " (known: " + known + ")";
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  if (text.empty() || text.front() == '-') return std::nullopt;
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ParseNumber(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string FormatNumber(double value) {
  char buffer[64];
  auto [ptr, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return error == std::errc() ? std::string(buffer, ptr) : std::to_string(value);
}

Result<std::vector<std::string>> SplitCommandLine(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 < text.size()) word += text[++i];
    } else if (c == '\'') {
      const size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return InvalidArgument("unterminated ' quote");
      word += text.substr(i + 1, close - i - 1);
      i = close;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        const bool escape = text[j] == '\\' && j + 1 < text.size() &&
                            std::string_view("\"\\$`").find(text[j + 1]) != std::string_view::npos;
        if (escape) ++j;
        word += text[j];
      }
      if (j >= text.size()) return InvalidArgument("unterminated \" quote");
      i = j;
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace internal

Result<int64_t> ParseByteSize(std::string_view text) {
  const std::string_view trimmed = TrimSpaces(text);
  auto fail = [&] {
    return InvalidArgument(
        "'" + std::string(text) +
        "' is not a size (use bytes, or K, M, G, T for binary multiples, e.g. 512M or 4G)");
  };
  size_t number_end = 0;
  while (number_end < trimmed.size() &&
         (std::isdigit(static_cast<unsigned char>(trimmed[number_end])) || trimmed[number_end] == '.')) {
    ++number_end;
  }
  const std::string_view number = trimmed.substr(0, number_end);
  const std::string unit = Lower(TrimSpaces(trimmed.substr(number_end)));
  int shift = -1;
  static constexpr std::string_view kUnits[] = {"", "k", "m", "g", "t"};
  for (int i = 0; i < 5; ++i) {
    const std::string letter(kUnits[i]);
    if (unit == letter || unit == (letter.empty() ? "b" : letter + "b") ||
        (!letter.empty() && unit == letter + "ib")) {
      shift = 10 * i;
    }
  }
  if (number.empty() || shift < 0) return fail();
  if (std::optional<int64_t> whole = internal::ParseInteger(number)) {
    if (*whole > (std::numeric_limits<int64_t>::max() >> shift)) return fail();
    return *whole << shift;
  }
  const std::optional<double> fraction = internal::ParseNumber(number);
  if (!fraction) return fail();
  const double bytes = std::floor(std::ldexp(*fraction, shift));
  if (!(bytes < 9.2e18)) return fail();
  return static_cast<int64_t>(bytes);
}

Result<int64_t> ParseSeconds(std::string_view text) {
  const std::string_view trimmed = TrimSpaces(text);
  if (std::optional<int64_t> seconds = internal::ParseInteger(trimmed); seconds && *seconds >= 0)
    return *seconds;
  Result<int64_t> duration = data::ParseDurationSeconds(trimmed);
  if (!duration.ok()) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not a duration (use seconds, or s, m, h, d such as 90s, 30m, 2h or 1h30m)");
  }
  return *duration;
}

}  // namespace kiln::training
