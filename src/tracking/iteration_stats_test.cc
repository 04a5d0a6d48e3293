// Iteration statistics: calendar and quantile helpers, and
// ComputeIterationStats over hand-built runs, versions and alias moves with a
// FakeClock (both backends), including the lineage backfill of migration 0004.
#include "tracking/iteration_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tracking/registry_testing.h"

namespace kiln::tracking {
namespace {

using testing_support::Backend;
using testing_support::Must;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kMonday = 1'699'833'600'000;  // 2023-11-13T00:00:00Z, a Monday

// --- Pure helpers ---

TEST(IterationCalendarTest, WeeksStartOnMondayUtc) {
  EXPECT_EQ(IsoWeekStartMillis(kMonday), kMonday);
  EXPECT_EQ(IsoWeekStartMillis(kMonday + 6 * kDay + 23 * kHour), kMonday);  // Sunday night
  EXPECT_EQ(IsoWeekStartMillis(kMonday - 1), kMonday - 7 * kDay);
  EXPECT_EQ(UtcDate(kMonday + 2 * kDay + 5), "2023-11-15");
  EXPECT_EQ(UtcDate(IsoWeekStartMillis(-1)), "1969-12-29");  // before the epoch too
  EXPECT_EQ(IsoWeekName(kMonday), "2023-W46");
}

TEST(IterationCalendarTest, IsoWeekYearsDifferFromCalendarYearsAtTheEdges) {
  constexpr int64_t k2021Jan3 = 1'609'632'000'000;   // Sunday 2021-01-03
  constexpr int64_t k2024Dec30 = 1'735'516'800'000;  // Monday 2024-12-30
  EXPECT_EQ(IsoWeekName(k2021Jan3), "2020-W53");
  EXPECT_EQ(IsoWeekName(k2024Dec30), "2025-W01");
  EXPECT_EQ(UtcDate(k2024Dec30), "2024-12-30");
}

TEST(IterationQuantileTest, MedianAndP90InterpolateBetweenOrderStatistics) {
  EXPECT_EQ(Quantile({}, 0.5), std::nullopt);
  EXPECT_EQ(Quantile({7}, 0.9), 7.0);
  EXPECT_EQ(Quantile({5, 1, 3}, 0.5), 3.0);          // odd count: the middle value
  EXPECT_DOUBLE_EQ(*Quantile({5, 1, 3}, 0.9), 4.6);  // 3 + 0.8 · (5 − 3)
  EXPECT_EQ(Quantile({4, 1, 3, 2}, 0.5), 2.5);       // even count: mean of the two middle values
  EXPECT_DOUBLE_EQ(*Quantile({4, 1, 3, 2}, 0.9), 3.7);
  LeadTimeStats none = SummarizeLeadTimes({});
  EXPECT_EQ(none.count, 0);
  EXPECT_EQ(none.median_ms, std::nullopt);
  EXPECT_EQ(none.p90_ms, std::nullopt);
}

// --- From the store ---

class IterationStatsTest : public testing_support::RegistryTest {
 protected:
  // Two projects over two weeks from kMonday:
  //   A: runs started at +1h, +1d, +8d registered 2h, 5h, 1h later as
  //      churn 1, 2, 3; churn 1 becomes champion at +2d, churn 2 at +9d,
  //      churn 1 again at +10d (a rollback: not a new promotion).
  //   B: a run at +2d registered 4h later as fraud 1, promoted at +3d.
  //   Outside: churn 4 (no run) at +4d; churn 5 from a run registered before
  //   the window; churn 3 becomes challenger (another alias).
  void Build() {
    project_a_ = Must(tracking_->CreateExperiment("project-a", "", {}));
    project_b_ = Must(tracking_->CreateExperiment("project-b", "", {}));
    const std::string a1 = NewRun(kMonday + kHour, project_a_);
    const std::string a2 = NewRun(kMonday + kDay, project_a_);
    const std::string a3 = NewRun(kMonday + 8 * kDay, project_a_);
    const std::string a0 = NewRun(kMonday - 3 * kDay, project_a_);
    const std::string b1 = NewRun(kMonday + 2 * kDay, project_b_);
    Register(kMonday + 3 * kHour, "churn", a1);             // 1: lead 2h
    Register(kMonday + kDay + 5 * kHour, "churn", a2);      // 2: lead 5h
    Register(kMonday + 8 * kDay + kHour, "churn", a3);      // 3: lead 1h
    Register(kMonday + 4 * kDay, "churn", "");              // 4: no run
    Register(kMonday - 2 * kDay, "churn", a0);              // 5: before the window
    Register(kMonday + 2 * kDay + 4 * kHour, "fraud", b1);  // fraud 1: lead 4h
    MoveAlias(kMonday + 2 * kDay, "champion", 1);
    MoveAlias(kMonday + 9 * kDay, "champion", 2);
    MoveAlias(kMonday + 10 * kDay, "champion", 1);
    MoveAlias(kMonday + 9 * kDay, "challenger", 3);
    NewPromotion promotion;
    promotion.model = "fraud";
    promotion.candidate_version = 1;
    clock_.Set(kMonday + 3 * kDay);
    EXPECT_TRUE(Must(registry().RecordPromotion(promotion)).accepted);
  }
  void Register(int64_t at, const std::string& model, const std::string& run_id) {
    clock_.Set(at);
    NewVersion(model, run_id);
  }
  void MoveAlias(int64_t at, const std::string& alias, int64_t churn_version) {
    clock_.Set(at);
    Must(registry().SetRegisteredModelAlias("churn", alias, churn_version));
  }
  IterationStats Stats(const std::string& project) {
    IterationStatsRequest request;
    request.project_id = project;
    request.since_ms = kMonday;
    request.until_ms = kMonday + 14 * kDay;
    return Must(registry().ComputeIterationStats(request));
  }

  std::string project_a_;
  std::string project_b_;
};

TEST_P(IterationStatsTest, OneProjectCountsPerWeekAndLeadTimes) {
  Build();
  IterationStats stats = Stats(project_a_);
  EXPECT_EQ(stats.project_id, project_a_);
  EXPECT_EQ(stats.alias, "champion");
  EXPECT_DOUBLE_EQ(stats.weeks, 2.0);
  ASSERT_EQ(stats.by_week.size(), 2u);
  EXPECT_EQ(stats.by_week[0].week_start, "2023-11-13");
  EXPECT_EQ(stats.by_week[0].iso_week, "2023-W46");
  EXPECT_EQ(stats.by_week[0].week_start_ms, kMonday);
  EXPECT_EQ(stats.by_week[0].registrations, 2);
  EXPECT_EQ(stats.by_week[0].promotions, 1);
  EXPECT_EQ(stats.by_week[1].week_start, "2023-11-20");
  EXPECT_EQ(stats.by_week[1].registrations, 1);
  EXPECT_EQ(stats.by_week[1].promotions, 1);

  EXPECT_EQ(stats.registered_versions, 3);
  EXPECT_EQ(stats.promoted_versions, 2);
  EXPECT_DOUBLE_EQ(stats.iterations_per_week, 1.5);
  EXPECT_DOUBLE_EQ(stats.promotions_per_week, 1.0);
  // Registration leads 2h, 5h, 1h (odd count).
  EXPECT_EQ(stats.registration_lead_time.count, 3);
  EXPECT_EQ(stats.registration_lead_time.median_ms, 2.0 * kHour);
  EXPECT_DOUBLE_EQ(*stats.registration_lead_time.p90_ms, 2.0 * kHour + 0.8 * 3 * kHour);
  // Promotion leads: churn 1 at +2d from +1h, churn 2 at +9d from +1d (even count).
  const double first = 2.0 * kDay - kHour;
  const double second = 8.0 * kDay;
  EXPECT_EQ(stats.promotion_lead_time.count, 2);
  EXPECT_DOUBLE_EQ(*stats.promotion_lead_time.median_ms, (first + second) / 2);
  EXPECT_DOUBLE_EQ(*stats.promotion_lead_time.p90_ms, first + 0.9 * (second - first));
}

TEST_P(IterationStatsTest, AllProjectsTogether) {
  Build();
  IterationStats stats = Stats("");
  EXPECT_EQ(stats.registered_versions, 4);
  EXPECT_EQ(stats.promoted_versions, 3);
  EXPECT_EQ(stats.by_week[0].registrations, 3);
  EXPECT_EQ(stats.by_week[0].promotions, 2);
  EXPECT_DOUBLE_EQ(stats.iterations_per_week, 2.0);
  EXPECT_DOUBLE_EQ(stats.promotions_per_week, 1.5);
  // Leads 1h, 2h, 4h, 5h: even count, median (2h + 4h) / 2.
  EXPECT_EQ(stats.registration_lead_time.median_ms, 3.0 * kHour);
  EXPECT_DOUBLE_EQ(*stats.registration_lead_time.p90_ms, 4.0 * kHour + 0.7 * kHour);
  EXPECT_EQ(Stats(project_b_).promotion_lead_time.median_ms, 1.0 * kDay);
}

TEST_P(IterationStatsTest, AnotherAliasAndDeletedVersionsAndRenames) {
  Build();
  IterationStatsRequest request;
  request.project_id = project_a_;
  request.since_ms = kMonday;
  request.until_ms = kMonday + 14 * kDay;
  request.alias = "challenger";
  IterationStats challenger = Must(registry().ComputeIterationStats(request));
  EXPECT_EQ(challenger.promoted_versions, 1);
  EXPECT_EQ(challenger.promotion_lead_time.median_ms, 1.0 * kDay);  // churn 3: +9d from +8d

  // What happened stays counted after the version is deleted or the model renamed.
  Must(registry().DeleteModelVersion("churn", 2));
  Must(registry().RenameRegisteredModel("churn", "attrition"));
  IterationStats after = Stats(project_a_);
  EXPECT_EQ(after.registered_versions, 3);
  EXPECT_EQ(after.promoted_versions, 2);
  EXPECT_EQ(after.by_week[1].promotions, 1);
}

TEST_P(IterationStatsTest, TheDefaultWindowIsTheLastEightWeeksByTheClock) {
  Build();
  clock_.Set(kMonday + 15 * kDay + 12 * kHour);  // a Tuesday noon
  IterationStats stats = Must(registry().ComputeIterationStats({.project_id = project_a_}));
  EXPECT_EQ(stats.until_ms, kMonday + 15 * kDay + 12 * kHour);
  EXPECT_EQ(stats.since_ms, stats.until_ms - 8 * 7 * kDay);
  EXPECT_DOUBLE_EQ(stats.weeks, 8.0);
  ASSERT_EQ(stats.by_week.size(), 9u);  // cut weeks at both ends
  EXPECT_EQ(stats.by_week.back().week_start_ms, kMonday + 14 * kDay);
  EXPECT_EQ(stats.registered_versions, 4);  // churn 5 (two days before kMonday) is inside now
  EXPECT_DOUBLE_EQ(stats.iterations_per_week, 0.5);
}

TEST_P(IterationStatsTest, BadRequestsNameWhatIsWrong) {
  auto unknown = registry().ComputeIterationStats({.project_id = "999"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "No Experiment with id=999 exists");
  auto not_a_number = registry().ComputeIterationStats({.project_id = "abc"});
  ASSERT_FALSE(not_a_number.ok());
  EXPECT_EQ(not_a_number.status().message(), "No Experiment with id=abc exists");

  auto backwards = registry().ComputeIterationStats({.since_ms = 2000, .until_ms = 1000});
  ASSERT_FALSE(backwards.ok());
  EXPECT_EQ(backwards.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(backwards.status().message(),
            "iteration statistics: since (2000 ms) must be before until (1000 ms)");

  auto bad_alias = registry().ComputeIterationStats({.alias = "latest"});
  ASSERT_FALSE(bad_alias.ok());
  EXPECT_EQ(bad_alias.status().code(), StatusCode::kInvalidArgument);

  IterationStats empty = Must(registry().ComputeIterationStats({.project_id = "0"}));
  EXPECT_EQ(empty.registered_versions, 0);
  EXPECT_EQ(empty.registration_lead_time.median_ms, std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Backends, IterationStatsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

// A store written by a binary at tracking schema 3 gains lineage for its
// existing versions when migration 0004 runs.
class LineageBackfillTest : public testing_support::RegistryTest {
 protected:
  bool MigrateInSetUp() const override { return false; }
};

TEST_P(LineageBackfillTest, MigrationFourBackfillsVersionsRegisteredFromRuns) {
  storage::MigrationList up_to_three;
  for (const storage::Migration& migration : Migrations()) {
    if (migration.version <= 3) up_to_three.push_back(migration);
  }
  Must(database_->Migrate({&up_to_three}));
  Must(database_->InTransaction([](storage::Connection& connection) -> Status {
    for (const char* sql : {
             "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
             "creation_time, "
             "last_update_time) VALUES (5, 'old', 'mlflow-artifacts:/5', 'active', 0, 0)",
             "INSERT INTO runs (run_uuid, experiment_id, run_name, user_id, status, start_time, "
             "lifecycle_stage, "
             "artifact_uri) VALUES ('r1', 5, 'x', '', 'FINISHED', 1699833600000, 'active', "
             "'mlflow-artifacts:/5/r1')",
             "INSERT INTO registered_models (name, creation_time, last_updated_time, last_version) "
             "VALUES ('legacy', 0, 0, 2)",
             "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, "
             "source, "
             "run_id, status) VALUES ('legacy', 1, 1699837200000, 0, 'None', 'runs:/r1/m', 'r1', 'READY')",
             "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, "
             "source, "
             "status) VALUES ('legacy', 2, 1699837200000, 0, 'None', 's3://b/m', 'READY')",
         }) {
      auto changed = connection.Execute(sql);
      if (!changed.ok()) return changed.status();
    }
    return Status::Ok();
  }));
  Must(database_->Migrate({&Migrations()}));
  MakeStores();
  IterationStats stats = Must(registry().ComputeIterationStats(
      {.project_id = "5", .since_ms = kMonday, .until_ms = kMonday + 7 * kDay}));
  EXPECT_EQ(stats.registered_versions, 1);
  EXPECT_EQ(stats.registration_lead_time.median_ms, 1.0 * kHour);
  EXPECT_EQ(Must(registry().AliasHistory("legacy", "", 0)).size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, LineageBackfillTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

}  // namespace
}  // namespace kiln::tracking
