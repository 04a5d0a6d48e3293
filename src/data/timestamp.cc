#include "data/timestamp.h"

#include <cstdio>

namespace kiln::data {
namespace {

constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// A cursor over the text being parsed; every failure carries its reason.
class TimestampParser {
 public:
  explicit TimestampParser(std::string_view text) : text_(text) {}

  Result<int64_t> Parse(const TimeZone& naive_zone) {
    int year = 0, month = 0, day = 0;
    if (!Digits(4, &year) || !Expect('-') || !Digits(2, &month) || !Expect('-') || !Digits(2, &day)) {
      return Fail("expected YYYY-MM-DD");
    }
    if (month < 1 || month > 12) return Fail("month " + std::to_string(month) + " is out of range");
    if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
      return Fail("day " + std::to_string(day) + " is out of range for " + Text(0, 7));
    }
    int64_t local = DaysFromCivil(year, month, day) * kMicrosPerDay;
    if (AtEnd()) return naive_zone.LocalToUtc(local);

    const char separator = text_[pos_];
    if (separator != 'T' && separator != 't' && separator != ' ') {
      return Fail("expected 'T' or a space after the date, found '" + std::string(1, separator) + "'");
    }
    ++pos_;
    int hour = 0, minute = 0, second = 0;
    if (!Digits(2, &hour) || !Expect(':') || !Digits(2, &minute)) return Fail("expected hh:mm");
    if (hour > 23) return Fail("hour " + std::to_string(hour) + " is out of range");
    if (minute > 59) return Fail("minute " + std::to_string(minute) + " is out of range");
    int64_t fraction_micros = 0;
    if (!AtEnd() && text_[pos_] == ':') {
      ++pos_;
      if (!Digits(2, &second)) return Fail("expected two digits of seconds");
      if (second > 59) return Fail("second " + std::to_string(second) + " is out of range");
      if (!AtEnd() && (text_[pos_] == '.' || text_[pos_] == ',')) {
        ++pos_;
        int digits = 0;
        int64_t scale = 100000;
        while (!AtEnd() && IsDigit(text_[pos_])) {
          if (++digits > 9) return Fail("more than 9 fractional digits");
          fraction_micros += (text_[pos_] - '0') * scale;
          scale /= 10;
          ++pos_;
        }
        if (digits == 0) return Fail("expected digits after the decimal point");
      }
    }
    local += hour * kMicrosPerHour + minute * kMicrosPerMinute + second * kMicrosPerSecond + fraction_micros;
    if (AtEnd()) return naive_zone.LocalToUtc(local);

    const char zone = text_[pos_];
    if (zone == 'Z' || zone == 'z') {
      ++pos_;
      if (!AtEnd()) return Fail("unexpected text after 'Z'");
      return local;
    }
    if (zone != '+' && zone != '-') {
      return Fail("unexpected '" + std::string(1, zone) + "' after the time");
    }
    const size_t offset_begin = pos_++;
    int offset_hours = 0, offset_minutes = 0;
    if (!Digits(2, &offset_hours)) return Fail("expected a UTC offset ±hh:mm, ±hhmm or ±hh");
    if (!AtEnd()) {
      if (text_[pos_] == ':') ++pos_;
      if (!Digits(2, &offset_minutes) || !AtEnd()) {
        return Fail("expected a UTC offset ±hh:mm, ±hhmm or ±hh");
      }
    }
    if (offset_hours > 23 || offset_minutes > 59) {
      return Fail("UTC offset " + Text(offset_begin, std::string_view::npos) + " is out of range");
    }
    const int64_t offset = (offset_hours * kMicrosPerHour + offset_minutes * kMicrosPerMinute);
    return zone == '+' ? local - offset : local + offset;
  }

 private:
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  bool AtEnd() const { return pos_ >= text_.size(); }

  bool Digits(int count, int* value) {
    if (pos_ + count > text_.size()) return false;
    int result = 0;
    for (int k = 0; k < count; ++k) {
      const char c = text_[pos_ + k];
      if (!IsDigit(c)) return false;
      result = result * 10 + (c - '0');
    }
    pos_ += count;
    *value = result;
    return true;
  }

  bool Expect(char c) {
    if (AtEnd() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  std::string Text(size_t begin, size_t length) const { return std::string(text_.substr(begin, length)); }

  Status Fail(const std::string& reason) const {
    return InvalidArgument("'" + std::string(text_) + "' is not an ISO 8601 timestamp: " + reason);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  // Howard Hinnant's days_from_civil, reworded: shift the year to start in
  // March so the leap day is the last day of the shifted year.
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  *day = static_cast<unsigned>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  *month = static_cast<unsigned>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  *year = year_of_era + era * 400 + (*month <= 2);
}

Result<int64_t> ParseTimestamp(std::string_view text, const TimeZone& naive_zone) {
  return TimestampParser(text).Parse(naive_zone);
}

std::string FormatTimestamp(int64_t micros) {
  const int64_t days = FloorDiv(micros, kMicrosPerDay);
  int64_t rest = micros - days * kMicrosPerDay;
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  const int hour = static_cast<int>(rest / kMicrosPerHour);
  rest %= kMicrosPerHour;
  const int minute = static_cast<int>(rest / kMicrosPerMinute);
  rest %= kMicrosPerMinute;
  const int second = static_cast<int>(rest / kMicrosPerSecond);
  const int fraction = static_cast<int>(rest % kMicrosPerSecond);
  char buffer[64];
  int n = std::snprintf(buffer, sizeof(buffer), "%04lld-%02u-%02uT%02d:%02d:%02d",
                        static_cast<long long>(year), month, day, hour, minute, second);
  if (fraction != 0) n += std::snprintf(buffer + n, sizeof(buffer) - n, ".%06d", fraction);
  buffer[n++] = 'Z';
  return std::string(buffer, n);
}

}  // namespace kiln::data
