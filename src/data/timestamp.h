#pragma once
// Timestamps (µs since the Unix epoch, UTC), ISO 8601 parsing and printing,
// time zones for naive timestamps, and durations ("1h", "7d"). TimeZone is
// immutable after Load and safe to share between threads.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::data {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;

// A zone that turns a naive local civil time into UTC: "UTC", a fixed
// offset ("+05:30", "-08:00") or an IANA name ("America/New_York", read
// from the system's zoneinfo in TZif format, DST included).
class TimeZone {
 public:
  static const TimeZone& Utc();
  // Error: "unknown time zone 'Mars/Base' (not UTC, ±hh:mm or an IANA name
  // under /usr/share/zoneinfo)".
  static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name);

  const std::string& name() const { return name_; }
  // Local civil time (µs since 1970-01-01T00:00 local) → UTC µs. In a DST
  // gap or overlap the offset in force before the change wins: a time that
  // occurs twice (fall back) maps to its first, earlier instant, and a time
  // that never occurs (spring forward) is shifted forward by the gap's
  // length (02:30 → 03:30 EDT), as Python's zoneinfo does with fold=0.
  // Documented in docs/formats/csv-and-jsonl.md.
  int64_t LocalToUtc(int64_t local_micros) const;

 private:
  std::string name_;
  int64_t fixed_offset_seconds_ = 0;
  std::vector<int64_t> transitions_utc_;      // seconds, ascending
  std::vector<int32_t> offsets_after_;        // offset in force after each transition
  friend struct TimeZoneAccess;
};

// ISO 8601 / RFC 3339: "2001-01-05", "2001-01-05T07:30", "2001-01-05 07:30:15.25",
// with "Z" or "±hh:mm"/"±hhmm"/"±hh" normalised to UTC; a naive value is
// read in `naive_zone`. Error: "'2001-13-01' is not an ISO 8601 timestamp:
// month 13 is out of range".
Result<int64_t> ParseTimestamp(std::string_view text, const TimeZone& naive_zone);
// "2001-01-05T07:30:15Z", with ".250000" when there are microseconds.
std::string FormatTimestamp(int64_t micros);

// "90s", "30m", "1h", "1d", "7d", "2w", and combinations "1d12h"; "0" is
// zero. Returns seconds. Error: "'5x' is not a duration (use s, m, h, d, w)".
Result<int64_t> ParseDurationSeconds(std::string_view text);
// The shortest exact spelling: 3600 → "1h", 90000 → "1d1h".
std::string FormatDuration(int64_t seconds);

// Days since 1970-01-01 for a civil date, and back (proleptic Gregorian).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace kiln::data
