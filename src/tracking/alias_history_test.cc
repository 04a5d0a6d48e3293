// The alias history: every way an alias moves appends one row in the same
// transaction, and AliasHistory reads them back newest first. Both backends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tracking/registry_testing.h"

namespace kiln::tracking {
namespace {

using ::testing::IsEmpty;
using testing_support::Backend;
using testing_support::Must;

// "alias: from→to by actor (reason) @t" with "-" for nulls/empties, for compact assertions.
std::string Line(const AliasMove& move) {
  auto version = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  return move.alias + ": " + version(move.from_version) + "→" + version(move.to_version) + " by " +
         (move.actor.empty() ? "-" : move.actor) + " (" + (move.reason.empty() ? "-" : move.reason) + ") @" +
         std::to_string(move.timestamp - 1'700'000'000'000);
}

std::vector<std::string> Lines(const std::vector<AliasMove>& moves) {
  std::vector<std::string> out;
  for (const AliasMove& move : moves) out.push_back(Line(move));
  return out;
}

class AliasHistoryTest : public testing_support::RegistryTest {};

TEST_P(AliasHistoryTest, SetAndMoveAreRecordedNewestFirstAndRepeatsAreNot) {
  NewVersion("churn");
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 1, "alice", "mlflow api"));
  clock_.Advance(10);
  Must(registry().SetRegisteredModelAlias("churn", "champion", 2, "bob"));
  clock_.Advance(10);
  Must(registry().SetRegisteredModelAlias("churn", "champion", 2, "carol", "again"));  // already there
  Must(registry().SetRegisteredModelAlias("churn", "challenger", 1));

  auto all = Must(registry().AliasHistory("churn", "", 0));
  EXPECT_THAT(Lines(all),
              ::testing::ElementsAre("challenger: -→1 by - (-) @20", "champion: 1→2 by bob (-) @10",
                                     "champion: -→1 by alice (mlflow api) @0"));
  EXPECT_EQ(all[0].name, "churn");
  EXPECT_GT(all[0].id, all[1].id);

  EXPECT_THAT(
      Lines(Must(registry().AliasHistory("churn", "champion", 0))),
      ::testing::ElementsAre("champion: 1→2 by bob (-) @10", "champion: -→1 by alice (mlflow api) @0"));
  EXPECT_THAT(Lines(Must(registry().AliasHistory("churn", "champion", 1))),
              ::testing::ElementsAre("champion: 1→2 by bob (-) @10"));
  EXPECT_THAT(Must(registry().AliasHistory("churn", "canary", 0)), IsEmpty());
  // The alias itself still behaves as before.
  EXPECT_EQ(Must(registry().GetModelVersionByAlias("churn", "champion")).version, 2);
}

TEST_P(AliasHistoryTest, DeletingAnAliasIsRecordedUnlessItWasAbsent) {
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 1));
  clock_.Advance(5);
  Must(registry().DeleteRegisteredModelAlias("churn", "champion", "dave", "retired"));
  Must(registry().DeleteRegisteredModelAlias("churn", "champion",
                                             "dave"));  // absent now: not an error, no row
  EXPECT_THAT(Lines(Must(registry().AliasHistory("churn", "champion", 0))),
              ::testing::ElementsAre("champion: 1→- by dave (retired) @5", "champion: -→1 by - (-) @0"));
}

TEST_P(AliasHistoryTest, DeletingAVersionRecordsEachAliasThatPointedAtIt) {
  NewVersion("churn");
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 2));
  Must(registry().SetRegisteredModelAlias("churn", "canary", 2));
  Must(registry().SetRegisteredModelAlias("churn", "baseline", 1));
  clock_.Advance(7);
  Must(registry().DeleteModelVersion("churn", 2, "erin"));

  auto moves = Must(registry().AliasHistory("churn", "", 2));
  EXPECT_THAT(Lines(moves), ::testing::UnorderedElementsAre("champion: 2→- by erin (version deleted) @7",
                                                            "canary: 2→- by erin (version deleted) @7"));
  EXPECT_EQ(Must(registry().GetModelVersionByAlias("churn", "baseline")).version, 1);
  EXPECT_EQ(Must(registry().AliasHistory("churn", "baseline", 0)).size(), 1u);
}

TEST_P(AliasHistoryTest, RenameKeepsTheHistoryUnderTheNewName) {
  NewVersion("churn");
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 1));
  Must(registry().SetRegisteredModelAlias("churn", "champion", 2));
  clock_.Advance(3);
  Must(registry().RenameRegisteredModel("churn", "churn-v2", "frank"));

  auto moves = Must(registry().AliasHistory("churn-v2", "champion", 0));
  EXPECT_THAT(Lines(moves), ::testing::ElementsAre("champion: 2→2 by frank (renamed from 'churn') @3",
                                                   "champion: 1→2 by - (-) @0", "champion: -→1 by - (-) @0"));
  for (const AliasMove& move : moves) EXPECT_EQ(move.name, "churn-v2");
  auto old_name = registry().AliasHistory("churn", "", 0);
  ASSERT_FALSE(old_name.ok());
  EXPECT_EQ(old_name.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(old_name.status().message(), "Registered Model with name=churn not found");
}

TEST_P(AliasHistoryTest, AFailedMoveRecordsNothing) {
  NewVersion("churn");
  Status missing = registry().SetRegisteredModelAlias("churn", "champion", 9, "gina");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "Model Version (name=churn, version=9) not found");
  EXPECT_THAT(Must(registry().AliasHistory("churn", "", 0)), IsEmpty());
}

TEST_P(AliasHistoryTest, DeletingTheModelDropsItsHistory) {
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 1));
  Must(registry().DeleteRegisteredModel("churn"));
  NewVersion("churn");  // a new model of the same name starts clean
  EXPECT_THAT(Must(registry().AliasHistory("churn", "", 0)), IsEmpty());
}

TEST_P(AliasHistoryTest, BadRequestsNameWhatIsWrong) {
  NewVersion("churn");
  auto unknown = registry().AliasHistory("nope", "", 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "Registered Model with name=nope not found");

  auto bad_alias = registry().AliasHistory("churn", "latest", 0);
  ASSERT_FALSE(bad_alias.ok());
  EXPECT_EQ(bad_alias.status().code(), StatusCode::kInvalidArgument);

  auto negative = registry().AliasHistory("churn", "", -1);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().message(), "limit must not be negative, got -1");
}

INSTANTIATE_TEST_SUITE_P(Backends, AliasHistoryTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

}  // namespace
}  // namespace kiln::tracking
