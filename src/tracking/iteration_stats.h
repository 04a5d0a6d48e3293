#pragma once
// Iteration statistics, Spotify's platform metric: how many model versions a
// project registers and promotes per week, and the lead time from the start
// of the run that trained a version to its registration and to its
// promotion. ModelRegistry::ComputeIterationStats reads them from
// model_version_lineage and the alias history; the definitions are in
// docs/formats/model-registry.md ("Iteration statistics"). The functions
// here are the pure parts (calendar, percentiles). Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::tracking {

inline constexpr int64_t kMillisPerDay = 86'400'000;
inline constexpr int64_t kMillisPerWeek = 7 * kMillisPerDay;
inline constexpr int64_t kDefaultIterationWindowWeeks = 8;

struct IterationStatsRequest {
  std::string project_id;           // experiment id ("0", "12"); empty: all projects
  std::optional<int64_t> since_ms;  // inclusive; default until − 8 weeks
  std::optional<int64_t> until_ms;  // exclusive; default the registry clock's now
  std::string alias = "champion";   // a version is promoted when this alias first moves to it
};

// One ISO week (Monday 00:00 UTC to the next Monday) that overlaps the
// window; the first and last may be cut by the window.
struct WeeklyIterations {
  std::string week_start;     // "2023-11-13": the Monday, UTC
  std::string iso_week;       // "2023-W46"
  int64_t week_start_ms = 0;  // the Monday 00:00 UTC
  int64_t registrations = 0;  // versions registered from a run in this week (and the window)
  int64_t promotions = 0;     // versions first moved to the alias in this week (and the window)
};

// Lead times in milliseconds; median and p90 interpolate linearly between
// order statistics (p = q·(n−1)), so the median of an even count is the mean
// of the two middle values. nullopt when count is 0.
struct LeadTimeStats {
  int64_t count = 0;
  std::optional<double> median_ms;
  std::optional<double> p90_ms;
};

struct IterationStats {
  std::string project_id;  // as requested ("" = all)
  std::string alias;
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  double weeks = 0;                       // (until − since) / 7 days
  std::vector<WeeklyIterations> by_week;  // oldest first, every overlapping week (zeros included)
  int64_t registered_versions = 0;        // registrations in the window
  int64_t promoted_versions = 0;          // promotions in the window
  double iterations_per_week = 0;         // registered_versions / weeks
  double promotions_per_week = 0;         // promoted_versions / weeks
  LeadTimeStats registration_lead_time;   // run start → registration, over registrations in the window
  LeadTimeStats promotion_lead_time;      // run start → promotion, over promotions in the window
};

// Monday 00:00 UTC of the ISO week containing `millis`.
int64_t IsoWeekStartMillis(int64_t millis);
// "YYYY-MM-DD" (UTC) of `millis`.
std::string UtcDate(int64_t millis);
// "YYYY-Www" (ISO 8601 week-numbering year and week) of `millis`.
std::string IsoWeekName(int64_t millis);
// The q-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between
// order statistics (NumPy's default). nullopt for no values. Sorts a copy.
std::optional<double> Quantile(std::vector<int64_t> values, double q);
// count, median and p90 of `lead_times`.
LeadTimeStats SummarizeLeadTimes(const std::vector<int64_t>& lead_times);

}  // namespace kiln::tracking
