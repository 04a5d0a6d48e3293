// TimeZone (timestamp.h): UTC, fixed offsets and IANA zones read from
// TZif files (RFC 8536), whose POSIX footer rule extends DST past the last
// listed transition.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>

#include "data/timestamp.h"

namespace kiln::data {

constexpr std::string_view kZoneInfoDir = "/usr/share/zoneinfo";
// Transitions are generated from a POSIX rule up to the end of this year.
constexpr int64_t kLastRuleYear = 2200;

struct TimeZoneAccess {
  static std::shared_ptr<TimeZone> Make(std::string name, int64_t initial_offset) {
    auto zone = std::make_shared<TimeZone>();
    zone->name_ = std::move(name);
    zone->fixed_offset_seconds_ = initial_offset;
    return zone;
  }
  static void AddTransition(TimeZone* zone, int64_t utc_seconds, int32_t offset) {
    const int32_t previous = zone->offsets_after_.empty() ? static_cast<int32_t>(zone->fixed_offset_seconds_)
                                                          : zone->offsets_after_.back();
    if (offset == previous) return;
    zone->transitions_utc_.push_back(utc_seconds);
    zone->offsets_after_.push_back(offset);
  }
  static const std::vector<int64_t>& Transitions(const TimeZone& zone) { return zone.transitions_utc_; }
};

namespace {

// "+05:30", "-0800", "+05" → seconds east of UTC.
std::optional<int64_t> ParseFixedOffset(std::string_view text) {
  if (text.size() < 3 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  auto two_digits = [&](size_t at) -> std::optional<int> {
    if (at + 2 > text.size() || !isdigit(static_cast<unsigned char>(text[at])) ||
        !isdigit(static_cast<unsigned char>(text[at + 1]))) {
      return std::nullopt;
    }
    return (text[at] - '0') * 10 + (text[at + 1] - '0');
  };
  std::optional<int> hours = two_digits(1);
  std::optional<int> minutes = 0;
  if (text.size() == 6 && text[3] == ':') {
    minutes = two_digits(4);
  } else if (text.size() == 5) {
    minutes = two_digits(3);
  } else if (text.size() != 3) {
    return std::nullopt;
  }
  if (!hours || !minutes || *hours > 23 || *minutes > 59) return std::nullopt;
  const int64_t seconds = *hours * 3600 + *minutes * 60;
  return text[0] == '-' ? -seconds : seconds;
}

// Big-endian reader over a TZif file's bytes.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  bool Has(size_t n) const { return pos_ + n <= bytes_.size(); }
  int64_t Read(int width) {
    uint64_t value = 0;
    for (int k = 0; k < width; ++k) value = (value << 8) | static_cast<uint8_t>(bytes_[pos_ + k]);
    pos_ += width;
    if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(value));
    if (width == 1) return static_cast<int64_t>(value);
    return static_cast<int64_t>(value);
  }
  void Skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }
  std::string_view Rest() const { return bytes_.substr(std::min(pos_, bytes_.size())); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

struct TzifCounts {
  int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  size_t DataSize(int time_width) const {
    return timecnt * time_width + timecnt + typecnt * 6 + charcnt + leapcnt * (time_width + 4) + isstdcnt +
           isutcnt;
  }
};

std::optional<TzifCounts> ReadHeader(ByteReader* reader, char* version) {
  if (!reader->Has(44)) return std::nullopt;
  std::string_view rest = reader->Rest();
  if (rest.substr(0, 4) != "TZif") return std::nullopt;
  *version = rest[4];
  reader->Skip(20);
  TzifCounts counts;
  counts.isutcnt = reader->Read(4);
  counts.isstdcnt = reader->Read(4);
  counts.leapcnt = reader->Read(4);
  counts.timecnt = reader->Read(4);
  counts.typecnt = reader->Read(4);
  counts.charcnt = reader->Read(4);
  if (counts.isutcnt < 0 || counts.isstdcnt < 0 || counts.leapcnt < 0 || counts.timecnt < 0 ||
      counts.typecnt < 1 || counts.charcnt < 0) {
    return std::nullopt;
  }
  return counts;
}

// A POSIX TZ rule date: Jn, n or Mm.w.d, plus a local time of day.
struct RuleDate {
  char kind = 'M';  // 'J', 'N' (zero-based day), 'M'
  int day = 0, week = 0, month = 0, weekday = 0;
  int64_t time = 7200;
  // UTC seconds of this date in `year`, the wall clock running at `offset`.
  int64_t ToUtc(int64_t year, int64_t offset) const {
    int64_t days = 0;
    if (kind == 'J') {
      days = DaysFromCivil(year, 1, 1) + day - 1;
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      if (leap && day >= 60) ++days;
    } else if (kind == 'N') {
      days = DaysFromCivil(year, 1, 1) + day;
    } else {
      const int64_t first = DaysFromCivil(year, month, 1);
      const int64_t first_weekday = ((first % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday
      days = first + (weekday - first_weekday + 7) % 7 + (week - 1) * 7;
      const int64_t next_month =
          month == 12 ? DaysFromCivil(year + 1, 1, 1) : DaysFromCivil(year, month + 1, 1);
      while (days >= next_month) days -= 7;
    }
    return days * 86400 + time - offset;
  }
};

// Parses the POSIX TZ footer, e.g. "EST5EDT,M3.2.0,M11.1.0".
class PosixRuleParser {
 public:
  explicit PosixRuleParser(std::string_view text) : text_(text) {}

  bool Parse() {
    if (!Name() || !Offset(&std_offset_)) return false;
    std_offset_ = -std_offset_;  // POSIX counts west of Greenwich as positive
    if (AtEnd()) return true;
    if (!Name()) return false;
    has_dst_ = true;
    dst_offset_ = std_offset_ + 3600;
    if (!AtEnd() && text_[pos_] != ',') {
      if (!Offset(&dst_offset_)) return false;
      dst_offset_ = -dst_offset_;
    }
    if (AtEnd() || text_[pos_] != ',') return false;
    ++pos_;
    if (!Date(&start_)) return false;
    if (AtEnd() || text_[pos_] != ',') return false;
    ++pos_;
    return Date(&end_) && AtEnd();
  }

  bool has_dst() const { return has_dst_; }
  int64_t std_offset() const { return std_offset_; }
  int64_t dst_offset() const { return dst_offset_; }
  const RuleDate& start() const { return start_; }
  const RuleDate& end() const { return end_; }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  bool Name() {
    if (!AtEnd() && text_[pos_] == '<') {
      const size_t close = text_.find('>', pos_);
      if (close == std::string_view::npos) return false;
      pos_ = close + 1;
      return true;
    }
    const size_t begin = pos_;
    while (!AtEnd() && isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return pos_ - begin >= 3;
  }
  bool Number(int64_t* value) {
    const size_t begin = pos_;
    *value = 0;
    while (!AtEnd() && isdigit(static_cast<unsigned char>(text_[pos_]))) {
      *value = *value * 10 + (text_[pos_++] - '0');
    }
    return pos_ > begin;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool Offset(int64_t* seconds) {
    int64_t sign = 1;
    if (!AtEnd() && (text_[pos_] == '+' || text_[pos_] == '-')) {
      if (text_[pos_] == '-') sign = -1;
      ++pos_;
    }
    int64_t hours = 0, minutes = 0, secs = 0;
    if (!Number(&hours)) return false;
    if (!AtEnd() && text_[pos_] == ':') {
      ++pos_;
      if (!Number(&minutes)) return false;
      if (!AtEnd() && text_[pos_] == ':') {
        ++pos_;
        if (!Number(&secs)) return false;
      }
    }
    *seconds = sign * (hours * 3600 + minutes * 60 + secs);
    return true;
  }
  bool Date(RuleDate* date) {
    if (AtEnd()) return false;
    int64_t a = 0, b = 0, c = 0;
    if (text_[pos_] == 'M') {
      ++pos_;
      if (!Number(&a) || AtEnd() || text_[pos_++] != '.' || !Number(&b) || AtEnd() || text_[pos_++] != '.' ||
          !Number(&c)) {
        return false;
      }
      if (a < 1 || a > 12 || b < 1 || b > 5 || c > 6) return false;
      date->kind = 'M';
      date->month = static_cast<int>(a);
      date->week = static_cast<int>(b);
      date->weekday = static_cast<int>(c);
    } else if (text_[pos_] == 'J') {
      ++pos_;
      if (!Number(&a) || a < 1 || a > 365) return false;
      date->kind = 'J';
      date->day = static_cast<int>(a);
    } else {
      if (!Number(&a) || a > 365) return false;
      date->kind = 'N';
      date->day = static_cast<int>(a);
    }
    if (!AtEnd() && text_[pos_] == '/') {
      ++pos_;
      if (!Offset(&date->time)) return false;
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  bool has_dst_ = false;
  int64_t std_offset_ = 0, dst_offset_ = 0;
  RuleDate start_, end_;
};

Status BadFile(const std::string& path, const std::string& reason) {
  return InvalidArgument("time zone file " + path + " is not a valid TZif file: " + reason);
}

// Fills `zone` from TZif bytes; prefers the 64-bit (v2+) section.
Status LoadTzif(std::string_view bytes, const std::string& path, std::string name,
                std::shared_ptr<TimeZone>* zone) {
  ByteReader reader(bytes);
  char version = 0;
  std::optional<TzifCounts> counts = ReadHeader(&reader, &version);
  if (!counts) return BadFile(path, "bad header");
  int time_width = 4;
  if (version >= '2') {
    if (!reader.Has(counts->DataSize(4))) return BadFile(path, "truncated");
    reader.Skip(counts->DataSize(4));
    counts = ReadHeader(&reader, &version);
    if (!counts) return BadFile(path, "bad second header");
    time_width = 8;
  }
  if (!reader.Has(counts->DataSize(time_width))) return BadFile(path, "truncated");
  std::vector<int64_t> times(counts->timecnt);
  for (int64_t& time : times) time = reader.Read(time_width);
  std::vector<int64_t> type_of(counts->timecnt);
  for (int64_t& type : type_of) {
    type = reader.Read(1);
    if (type >= counts->typecnt) return BadFile(path, "transition type out of range");
  }
  std::vector<int32_t> offsets(counts->typecnt);
  for (int32_t& offset : offsets) {
    offset = static_cast<int32_t>(reader.Read(4));
    reader.Skip(2);  // isdst, abbreviation index
  }
  reader.Skip(counts->charcnt + counts->leapcnt * (time_width + 4) + counts->isstdcnt + counts->isutcnt);

  *zone = TimeZoneAccess::Make(std::move(name), offsets[0]);
  for (size_t k = 0; k < times.size(); ++k) {
    TimeZoneAccess::AddTransition(zone->get(), times[k], offsets[type_of[k]]);
  }

  // The footer "\nRULE\n" (v2+) governs instants after the last transition.
  std::string_view rest = reader.Rest();
  if (time_width != 8 || rest.size() < 2 || rest[0] != '\n') return Status::Ok();
  const size_t close = rest.find('\n', 1);
  if (close == std::string_view::npos) return Status::Ok();
  PosixRuleParser rule(rest.substr(1, close - 1));
  if (close == 1 || !rule.Parse()) return Status::Ok();
  const std::vector<int64_t>& listed = TimeZoneAccess::Transitions(**zone);
  const int64_t last = listed.empty() ? std::numeric_limits<int64_t>::min() : listed.back();
  if (!rule.has_dst()) return Status::Ok();  // the last listed offset stays
  int64_t first_year = 1970;
  if (!listed.empty()) {
    int64_t year = 0;
    unsigned month = 0, day = 0;
    CivilFromDays(last / 86400 - (last % 86400 < 0), &year, &month, &day);
    first_year = year;
  }
  std::vector<std::pair<int64_t, int32_t>> generated;
  for (int64_t year = first_year; year <= kLastRuleYear; ++year) {
    generated.emplace_back(rule.start().ToUtc(year, rule.std_offset()), rule.dst_offset());
    generated.emplace_back(rule.end().ToUtc(year, rule.dst_offset()), rule.std_offset());
  }
  std::sort(generated.begin(), generated.end());
  for (const auto& [utc, offset] : generated) {
    if (listed.empty() || utc > last) {
      TimeZoneAccess::AddTransition(zone->get(), utc, static_cast<int32_t>(offset));
    }
  }
  return Status::Ok();
}

bool IsSafeZoneName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+' || c == '.';
  });
}

}  // namespace

const TimeZone& TimeZone::Utc() {
  static const std::shared_ptr<TimeZone> kUtc = TimeZoneAccess::Make("UTC", 0);
  return *kUtc;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Z" || name == "utc") {
    return std::shared_ptr<const TimeZone>(TimeZoneAccess::Make(std::string(name), 0));
  }
  if (std::optional<int64_t> offset = ParseFixedOffset(name)) {
    return std::shared_ptr<const TimeZone>(TimeZoneAccess::Make(std::string(name), *offset));
  }
  const Status unknown =
      NotFound("unknown time zone '" + std::string(name) + "' (not UTC, ±hh:mm or an IANA name under " +
               std::string(kZoneInfoDir) + ")");
  if (!IsSafeZoneName(name)) return unknown;
  const std::string path = std::string(kZoneInfoDir) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return unknown;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad() || bytes.empty()) return unknown;
  std::shared_ptr<TimeZone> zone;
  KILN_RETURN_IF_ERROR(LoadTzif(bytes, path, std::string(name), &zone));
  return std::shared_ptr<const TimeZone>(std::move(zone));
}

int64_t TimeZone::LocalToUtc(int64_t local_micros) const {
  if (transitions_utc_.empty()) return local_micros - fixed_offset_seconds_ * kMicrosPerSecond;
  const int64_t local = local_micros / kMicrosPerSecond - (local_micros % kMicrosPerSecond < 0);
  const int64_t fraction = local_micros - local * kMicrosPerSecond;
  const int64_t n = static_cast<int64_t>(transitions_utc_.size());
  // Interval j runs from transition j to j + 1 at offset offsets_after_[j];
  // interval -1 precedes the first transition.
  auto offset_of = [&](int64_t j) -> int64_t { return j < 0 ? fixed_offset_seconds_ : offsets_after_[j]; };
  const int64_t guess = std::upper_bound(transitions_utc_.begin(), transitions_utc_.end(), local) -
                        transitions_utc_.begin() - 1;
  std::optional<int64_t> best;
  for (int64_t j = std::max<int64_t>(-1, guess - 2); j <= std::min(n - 1, guess + 2); ++j) {
    const int64_t utc = local - offset_of(j);
    const bool after_start = j < 0 || utc >= transitions_utc_[j];
    const bool before_end = j + 1 >= n || utc < transitions_utc_[j + 1];
    if (after_start && before_end && (!best || utc < *best)) best = utc;  // overlap: earlier
  }
  if (!best) {
    // A gap: read the wall clock with the offset from before the jump, which
    // moves the time forward by the gap's length.
    for (int64_t k = std::max<int64_t>(0, guess - 1); k <= std::min(n - 1, guess + 2); ++k) {
      const int64_t before = offset_of(k - 1);
      if (transitions_utc_[k] + before <= local && local < transitions_utc_[k] + offset_of(k)) {
        best = local - before;
        break;
      }
    }
  }
  if (!best) best = local - offset_of(guess);
  return *best * kMicrosPerSecond + fraction;
}

}  // namespace kiln::data
