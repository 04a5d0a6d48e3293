#include "data/timestamp.h"

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

int64_t Utc(std::string_view text) {
  Result<int64_t> parsed = ParseTimestamp(text, TimeZone::Utc());
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? *parsed : 0;
}

std::string ParseError(std::string_view text) {
  Result<int64_t> parsed = ParseTimestamp(text, TimeZone::Utc());
  return parsed.ok() ? "parsed" : parsed.status().message();
}

std::shared_ptr<const TimeZone> Zone(std::string_view name) {
  Result<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
  EXPECT_TRUE(zone.ok()) << zone.status().message();
  return zone.ok() ? *zone : nullptr;
}

// Local wall-clock time in `zone`, printed back in UTC.
std::string InZone(std::string_view text, const TimeZone& zone) {
  Result<int64_t> parsed = ParseTimestamp(text, zone);
  return parsed.ok() ? FormatTimestamp(*parsed) : parsed.status().message();
}

TEST(TimestampTest, ParsesTheIsoFormsAndNormalisesOffsetsToUtc) {
  EXPECT_EQ(Utc("1970-01-01"), 0);
  EXPECT_EQ(Utc("2001-01-05"), 978652800LL * kMicrosPerSecond);
  EXPECT_EQ(Utc("2001-01-05T07:30"), Utc("2001-01-05 07:30:00"));
  EXPECT_EQ(Utc("2001-01-05T07:30:15.25"), (978652800LL + 27015) * kMicrosPerSecond + 250000);
  EXPECT_EQ(Utc("2001-01-05T07:30:15.123456789Z"), Utc("2001-01-05T07:30:15.123456"));
  EXPECT_EQ(Utc("2001-01-05T07:30:15,5"), Utc("2001-01-05T07:30:15.5"));
  EXPECT_EQ(Utc("2001-01-05T09:30:00+02:00"), Utc("2001-01-05T07:30:00Z"));
  EXPECT_EQ(Utc("2001-01-05T02:00:00-0530"), Utc("2001-01-05T07:30:00Z"));
  EXPECT_EQ(Utc("2001-01-05T10:30:00+03"), Utc("2001-01-05T07:30:00Z"));
  EXPECT_EQ(Utc("2001-01-05t07:30:00z"), Utc("2001-01-05T07:30:00Z"));
  EXPECT_EQ(Utc("1969-12-31T23:59:59.5Z"), -500000);
  EXPECT_EQ(Utc("2000-02-29"), Utc("2000-02-28") + 86400 * kMicrosPerSecond);
}

TEST(TimestampTest, RejectsOutOfRangeFieldsWithTheReason) {
  EXPECT_EQ(ParseError("2001-13-01"), "'2001-13-01' is not an ISO 8601 timestamp: month 13 is out of range");
  EXPECT_EQ(ParseError("2001-02-29"),
            "'2001-02-29' is not an ISO 8601 timestamp: day 29 is out of range for 2001-02");
  EXPECT_EQ(ParseError("1900-02-29"),
            "'1900-02-29' is not an ISO 8601 timestamp: day 29 is out of range for 1900-02");
  EXPECT_EQ(ParseError("2001-04-31"),
            "'2001-04-31' is not an ISO 8601 timestamp: day 31 is out of range for 2001-04");
  EXPECT_EQ(ParseError("2001-01-00"),
            "'2001-01-00' is not an ISO 8601 timestamp: day 0 is out of range for 2001-01");
  EXPECT_EQ(ParseError("2001-01-05T24:00"),
            "'2001-01-05T24:00' is not an ISO 8601 timestamp: hour 24 is out of range");
  EXPECT_EQ(ParseError("2001-01-05T23:60"),
            "'2001-01-05T23:60' is not an ISO 8601 timestamp: minute 60 is out of range");
  EXPECT_EQ(ParseError("2001-01-05T23:59:60"),
            "'2001-01-05T23:59:60' is not an ISO 8601 timestamp: second 60 is out of range");
  EXPECT_EQ(ParseError("2001-01-05T07:30+25:00"),
            "'2001-01-05T07:30+25:00' is not an ISO 8601 timestamp: UTC offset +25:00 is out "
            "of range");
  EXPECT_EQ(ParseError("05/01/2001"), "'05/01/2001' is not an ISO 8601 timestamp: expected YYYY-MM-DD");
  EXPECT_EQ(ParseError(""), "'' is not an ISO 8601 timestamp: expected YYYY-MM-DD");
  EXPECT_EQ(ParseError("2001-01-05T7:30"), "'2001-01-05T7:30' is not an ISO 8601 timestamp: expected hh:mm");
  EXPECT_EQ(ParseError("2001-01-05T07:30:15.1234567891"),
            "'2001-01-05T07:30:15.1234567891' is not an ISO 8601 timestamp: more than 9 "
            "fractional digits");
  EXPECT_EQ(ParseError("2001-01-05T07:30 UTC"),
            "'2001-01-05T07:30 UTC' is not an ISO 8601 timestamp: unexpected ' ' after the time");
  EXPECT_EQ(ParseError("2001-01-05X07:30"),
            "'2001-01-05X07:30' is not an ISO 8601 timestamp: expected 'T' or a space after the "
            "date, found 'X'");
}

TEST(TimestampTest, FormatsInUtcWithMicrosecondsOnlyWhenPresent) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(Utc("2001-01-05T07:30:15Z")), "2001-01-05T07:30:15Z");
  EXPECT_EQ(FormatTimestamp(Utc("2001-01-05T07:30:15.25Z")), "2001-01-05T07:30:15.250000Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  for (int64_t micros :
       {int64_t{0}, int64_t{-86'400'000'001}, int64_t{4'102'444'800'123'456}, int64_t{951'782'400'000'000}}) {
    EXPECT_EQ(Utc(FormatTimestamp(micros)), micros) << micros;
  }
}

TEST(TimestampTest, CivilDaysRoundTripAcrossLeapYearsAndBeforeTheEpoch) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  for (int64_t days = -800000; days < 800000; days += 997) {
    int64_t year = 0;
    unsigned month = 0, day = 0;
    CivilFromDays(days, &year, &month, &day);
    ASSERT_EQ(DaysFromCivil(year, month, day), days);
  }
}

TEST(TimestampTest, DurationsParseAndFormat) {
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(*ParseDurationSeconds("1h"), 3600);
  EXPECT_EQ(*ParseDurationSeconds("7d"), 604800);
  EXPECT_EQ(*ParseDurationSeconds("2w"), 1209600);
  EXPECT_EQ(*ParseDurationSeconds("1d12h"), 129600);
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
  for (std::string_view bad : {"5x", "", "h", "1", "1h2", "-1h", "99999999999999999999s"}) {
    Result<int64_t> parsed = ParseDurationSeconds(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().message(), "'" + std::string(bad) + "' is not a duration (use s, m, h, d, w)");
  }
  EXPECT_EQ(FormatDuration(3600), "1h");
  EXPECT_EQ(FormatDuration(90000), "1d1h");
  EXPECT_EQ(FormatDuration(0), "0");
  EXPECT_EQ(FormatDuration(90), "1m30s");
  EXPECT_EQ(FormatDuration(1209600 + 86400), "2w1d");
  EXPECT_EQ(FormatDuration(-3600), "-1h");
  for (int64_t seconds : {1, 59, 61, 3599, 86399, 1000000}) {
    EXPECT_EQ(*ParseDurationSeconds(FormatDuration(seconds)), seconds);
  }
}

TEST(TimeZoneTest, LoadsUtcAndFixedOffsets) {
  EXPECT_EQ(Zone("UTC")->LocalToUtc(5), 5);
  EXPECT_EQ(InZone("2001-01-05T07:30", *Zone("+05:30")), "2001-01-05T02:00:00Z");
  EXPECT_EQ(InZone("2001-01-05T07:30", *Zone("-0800")), "2001-01-05T15:30:00Z");
  EXPECT_EQ(InZone("2001-01-05T07:30", *Zone("+01")), "2001-01-05T06:30:00Z");
  EXPECT_EQ(Zone("+05:30")->name(), "+05:30");
}

TEST(TimeZoneTest, RejectsUnknownAndUnsafeNames) {
  for (std::string_view name :
       {"Mars/Base", "../etc/passwd", "/etc/localtime", "America/../UTC", "+25:00", ""}) {
    Result<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().message(), "unknown time zone '" + std::string(name) +
                                           "' (not UTC, ±hh:mm or an IANA name under /usr/share/zoneinfo)");
  }
  Result<std::shared_ptr<const TimeZone>> not_tzif = TimeZone::Load("zone.tab");
  ASSERT_FALSE(not_tzif.ok());
  EXPECT_EQ(not_tzif.status().message(),
            "time zone file /usr/share/zoneinfo/zone.tab is not a valid TZif file: bad header");
}

// Expected instants come from Python's zoneinfo (fold=0).
TEST(TimeZoneTest, NewYorkHonoursDstIncludingTheGapAndTheOverlap) {
  std::shared_ptr<const TimeZone> new_york = Zone("America/New_York");
  ASSERT_NE(new_york, nullptr);
  EXPECT_EQ(InZone("2001-01-05 07:30", *new_york), "2001-01-05T12:30:00Z");
  EXPECT_EQ(InZone("2001-07-05 07:30", *new_york), "2001-07-05T11:30:00Z");
  // Spring forward on 2001-04-01: 02:00-02:59 does not exist.
  EXPECT_EQ(InZone("2001-04-01 01:59:59", *new_york), "2001-04-01T06:59:59Z");
  EXPECT_EQ(InZone("2001-04-01 02:30", *new_york), "2001-04-01T07:30:00Z");
  EXPECT_EQ(InZone("2001-04-01 03:00", *new_york), "2001-04-01T07:00:00Z");
  // Fall back on 2001-10-28: 01:00-01:59 happens twice; the first wins.
  EXPECT_EQ(InZone("2001-10-28 00:59", *new_york), "2001-10-28T04:59:00Z");
  EXPECT_EQ(InZone("2001-10-28 01:30", *new_york), "2001-10-28T05:30:00Z");
  EXPECT_EQ(InZone("2001-10-28 02:00", *new_york), "2001-10-28T07:00:00Z");
  // An explicit offset ignores the zone.
  EXPECT_EQ(InZone("2001-10-28 01:30-05:00", *new_york), "2001-10-28T06:30:00Z");
  // Past the file's listed transitions the POSIX rule keeps DST going.
  EXPECT_EQ(InZone("2050-07-01 12:00", *new_york), "2050-07-01T16:00:00Z");
  EXPECT_EQ(InZone("2050-11-06 01:30", *new_york), "2050-11-06T05:30:00Z");
  EXPECT_EQ(InZone("2050-03-13 02:30", *new_york), "2050-03-13T07:30:00Z");
}

TEST(TimeZoneTest, KolkataIsFiveThirtyAhead) {
  std::shared_ptr<const TimeZone> kolkata = Zone("Asia/Kolkata");
  ASSERT_NE(kolkata, nullptr);
  EXPECT_EQ(InZone("2001-01-05 07:30", *kolkata), "2001-01-05T02:00:00Z");
  EXPECT_EQ(InZone("1942-06-01 12:00", *kolkata), "1942-06-01T06:30:00Z");
  EXPECT_EQ(InZone("2100-06-01 12:00:00.5", *kolkata), "2100-06-01T06:30:00.500000Z");
}

}  // namespace
}  // namespace kiln::data
