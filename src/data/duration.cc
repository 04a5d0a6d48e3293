// Durations ("1h", "7d", "1d12h") declared in timestamp.h.
#include <array>
#include <limits>

#include "data/timestamp.h"

namespace kiln::data {
namespace {

struct Unit {
  char letter;
  int64_t seconds;
};
// Largest first: FormatDuration spells greedily in this order.
constexpr std::array<Unit, 5> kUnits = {{{'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

}  // namespace

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  auto fail = [&] {
    return InvalidArgument("'" + std::string(text) + "' is not a duration (use s, m, h, d, w)");
  };
  if (text == "0") return int64_t{0};
  if (text.empty()) return fail();
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t number = 0;
    const size_t digits_begin = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (number > (std::numeric_limits<int64_t>::max() - 9) / 10) return fail();
      number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == digits_begin || pos == text.size()) return fail();
    const char letter = text[pos++];
    int64_t unit_seconds = 0;
    for (const Unit& unit : kUnits) {
      if (unit.letter == letter) unit_seconds = unit.seconds;
    }
    if (unit_seconds == 0) return fail();
    if (number > (std::numeric_limits<int64_t>::max() - total) / unit_seconds) return fail();
    total += number * unit_seconds;
  }
  return total;
}

std::string FormatDuration(int64_t seconds) {
  if (seconds == 0) return "0";
  std::string out;
  uint64_t rest = static_cast<uint64_t>(seconds);
  if (seconds < 0) {
    out = "-";
    rest = 0 - rest;
  }
  for (const Unit& unit : kUnits) {
    const uint64_t count = rest / static_cast<uint64_t>(unit.seconds);
    if (count == 0) continue;
    out += std::to_string(count);
    out += unit.letter;
    rest -= count * static_cast<uint64_t>(unit.seconds);
  }
  return out;
}

}  // namespace kiln::data
