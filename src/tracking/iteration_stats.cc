// Iteration statistics: the calendar and quantile helpers of
// iteration_stats.h and ModelRegistry::ComputeIterationStats.
#include "tracking/iteration_stats.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tracking/model_registry.h"
#include "tracking/model_registry_rules.h"

namespace kiln::tracking {
namespace {

// Floor division (C++ rounds towards zero; dates before 1970 need floor).
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

// Days since 1970-01-01 → proleptic Gregorian date (H. Hinnant's civil_from_days).
CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;  // March = 0
  const int day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  const int month = static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// Proleptic Gregorian date → days since 1970-01-01 (days_from_civil).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(year, 400);
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// Monday of the ISO week of `days` (1970-01-01 was a Thursday).
int64_t MondayOf(int64_t days) { return days - (((days + 3) % 7) + 7) % 7; }

}  // namespace

int64_t IsoWeekStartMillis(int64_t millis) {
  return MondayOf(FloorDiv(millis, kMillisPerDay)) * kMillisPerDay;
}

std::string UtcDate(int64_t millis) {
  CivilDate date = CivilFromDays(FloorDiv(millis, kMillisPerDay));
  char text[32];
  std::snprintf(text, sizeof(text), "%04lld-%02d-%02d", static_cast<long long>(date.year), date.month,
                date.day);
  return text;
}

std::string IsoWeekName(int64_t millis) {
  // The ISO year is the year of the week's Thursday; week 1 holds the
  // year's first Thursday.
  const int64_t thursday = MondayOf(FloorDiv(millis, kMillisPerDay)) + 3;
  const int64_t year = CivilFromDays(thursday).year;
  const int64_t week = (thursday - DaysFromCivil(year, 1, 1)) / 7 + 1;
  char text[32];
  std::snprintf(text, sizeof(text), "%04lld-W%02lld", static_cast<long long>(year),
                static_cast<long long>(week));
  return text;
}

std::optional<double> Quantile(std::vector<int64_t> values, double q) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  const double low = static_cast<double>(values[below]);
  return low + fraction * (static_cast<double>(values[above]) - low);
}

LeadTimeStats SummarizeLeadTimes(const std::vector<int64_t>& lead_times) {
  LeadTimeStats stats;
  stats.count = static_cast<int64_t>(lead_times.size());
  stats.median_ms = Quantile(lead_times, 0.5);
  stats.p90_ms = Quantile(lead_times, 0.9);
  return stats;
}

Result<IterationStats> ModelRegistry::ComputeIterationStats(const IterationStatsRequest& request) {
  KILN_RETURN_IF_ERROR(ValidateAliasName(request.alias));
  IterationStats stats;
  stats.project_id = request.project_id;
  stats.alias = request.alias;
  stats.until_ms = request.until_ms.value_or(clock_.NowMillis());
  stats.since_ms = request.since_ms.value_or(stats.until_ms - kDefaultIterationWindowWeeks * kMillisPerWeek);
  if (stats.since_ms >= stats.until_ms) {
    return InvalidArgument("iteration statistics: since (" + std::to_string(stats.since_ms) +
                           " ms) must be before until (" + std::to_string(stats.until_ms) + " ms)");
  }
  stats.weeks = static_cast<double>(stats.until_ms - stats.since_ms) / static_cast<double>(kMillisPerWeek);

  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  std::string project_filter;
  std::vector<storage::SqlValue> project_params;
  if (!request.project_id.empty()) {
    const std::string& id = request.project_id;
    int64_t experiment_id = 0;
    auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), experiment_id);
    bool exists = error == std::errc() && end == id.data() + id.size();
    if (exists) {
      KILN_ASSIGN_OR_RETURN(
          storage::Rows found,
          connection->Query("SELECT 1 FROM experiments WHERE experiment_id = ?", {experiment_id}));
      exists = !found.empty();
    }
    if (!exists) return NotFound("No Experiment with id=" + id + " exists");
    project_filter = " AND l.experiment_id = ?";
    project_params.emplace_back(experiment_id);
  }

  // Registrations: versions registered from a run within the window.
  std::vector<storage::SqlValue> params = {stats.since_ms, stats.until_ms};
  params.insert(params.end(), project_params.begin(), project_params.end());
  KILN_ASSIGN_OR_RETURN(
      storage::Rows registrations,
      connection->Query("SELECT l.run_start_time, l.registered_time FROM model_version_lineage l "
                        "WHERE l.registered_time >= ? AND l.registered_time < ?" +
                            project_filter,
                        params));
  // Promotions: the first move of the alias to each such version (moves
  // that kept the version, as renames record, do not count).
  params.insert(params.begin(), storage::SqlValue(request.alias));
  KILN_ASSIGN_OR_RETURN(
      storage::Rows promotions,
      connection->Query(
          "SELECT l.run_start_time, f.first_ms FROM "
          "(SELECT h.name AS name, h.to_version AS version, MIN(h.timestamp_ms) AS first_ms "
          "FROM registered_model_alias_history h WHERE h.alias = ? AND h.to_version IS NOT NULL "
          "AND (h.from_version IS NULL OR h.from_version <> h.to_version) "
          "GROUP BY h.name, h.to_version) f "
          "JOIN model_version_lineage l ON l.name = f.name AND l.version = f.version "
          "WHERE f.first_ms >= ? AND f.first_ms < ?" +
              project_filter,
          params));

  const int64_t first_week = IsoWeekStartMillis(stats.since_ms);
  const int64_t last_week = IsoWeekStartMillis(stats.until_ms - 1);
  for (int64_t week = first_week; week <= last_week; week += kMillisPerWeek) {
    stats.by_week.push_back({UtcDate(week), IsoWeekName(week), week, 0, 0});
  }
  auto week_of = [&](int64_t millis) -> WeeklyIterations& {
    return stats.by_week[static_cast<size_t>((IsoWeekStartMillis(millis) - first_week) / kMillisPerWeek)];
  };
  std::vector<int64_t> registration_leads;
  for (const storage::Row& row : registrations) {
    ++week_of(row.Int(1)).registrations;
    registration_leads.push_back(row.Int(1) - row.Int(0));
  }
  std::vector<int64_t> promotion_leads;
  for (const storage::Row& row : promotions) {
    ++week_of(row.Int(1)).promotions;
    promotion_leads.push_back(row.Int(1) - row.Int(0));
  }
  stats.registered_versions = static_cast<int64_t>(registration_leads.size());
  stats.promoted_versions = static_cast<int64_t>(promotion_leads.size());
  stats.iterations_per_week = static_cast<double>(stats.registered_versions) / stats.weeks;
  stats.promotions_per_week = static_cast<double>(stats.promoted_versions) / stats.weeks;
  stats.registration_lead_time = SummarizeLeadTimes(registration_leads);
  stats.promotion_lead_time = SummarizeLeadTimes(promotion_leads);
  return stats;
}

}  // namespace kiln::tracking
