// Promotion records: what RecordPromotion stores, tags and moves in one
// transaction, how ListPromotions reads it back, and the pure helpers.
// Storage-backed tests run on both backends.
#include "tracking/promotion_records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tracking/registry_testing.h"

namespace kiln::tracking {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing_support::Backend;
using testing_support::Must;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PromotionCheck Passed(const std::string& name, double observed = kNaN, double threshold = kNaN) {
  return {name, true, "", observed, threshold};
}
PromotionCheck Failed(const std::string& name, const std::string& detail, double observed, double threshold) {
  return {name, false, detail, observed, threshold};
}

std::map<std::string, std::string> TagsOf(const ModelVersion& version) {
  std::map<std::string, std::string> tags;
  for (const RegistryTag& tag : version.tags) tags[tag.key] = tag.value;
  return tags;
}

class PromotionRecordsTest : public testing_support::RegistryTest {
 protected:
  PromotionRecord Promote(int64_t version, std::vector<PromotionCheck> checks,
                          const std::string& actor = "ops") {
    NewPromotion request;
    request.model = "churn";
    request.candidate_version = version;
    request.actor = actor;
    request.checks = std::move(checks);
    return Must(registry().RecordPromotion(request));
  }
};

TEST_P(PromotionRecordsTest, AnAcceptedPromotionMovesTheAliasAndTagsTheCandidate) {
  NewVersion("churn");
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 1));
  clock_.Advance(100);

  PromotionRecord record =
      Promote(2, {Passed("validation_metric", 0.84, 0.83), Passed("holdout_predictions")});
  EXPECT_TRUE(record.accepted);
  EXPECT_EQ(record.model, "churn");
  EXPECT_EQ(record.candidate_version, 2);
  EXPECT_EQ(record.alias, "champion");
  EXPECT_EQ(record.previous_version, 1);
  EXPECT_EQ(record.actor, "ops");
  EXPECT_EQ(record.timestamp, 1'700'000'000'100);
  EXPECT_EQ(record.id, 1);

  EXPECT_EQ(Must(registry().GetModelVersionByAlias("churn", "champion")).version, 2);
  EXPECT_EQ(TagsOf(Must(registry().GetModelVersion("churn", 2))),
            (std::map<std::string, std::string>{{"kiln.check.holdout_predictions", "passed"},
                                                {"kiln.check.validation_metric", "passed"},
                                                {"kiln.promotion.last", "accepted"}}));
  auto moves = Must(registry().AliasHistory("churn", "champion", 1));
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].from_version, 1);
  EXPECT_EQ(moves[0].to_version, 2);
  EXPECT_EQ(moves[0].actor, "ops");
  EXPECT_EQ(moves[0].reason, "promotion");
  EXPECT_EQ(moves[0].timestamp, 1'700'000'000'100);
}

TEST_P(PromotionRecordsTest, ARefusedPromotionLeavesTheAliasAndSaysWhichCheckFailedByHowMuch) {
  NewVersion("churn");
  NewVersion("churn");
  Promote(1, {Passed("validation_metric")});
  const size_t moves_before = Must(registry().AliasHistory("churn", "", 0)).size();

  PromotionRecord record = Promote(
      2,
      {Failed("validation_metric", "auc 0.81 is below the champion's 0.83 minus tolerance 0.01", 0.81, 0.82),
       Passed("latency", 3.5, 10)});
  EXPECT_FALSE(record.accepted);
  EXPECT_EQ(record.previous_version, 1);
  EXPECT_EQ(Must(registry().GetModelVersionByAlias("churn", "champion")).version, 1);
  EXPECT_EQ(Must(registry().AliasHistory("churn", "", 0)).size(), moves_before);
  auto tags = TagsOf(Must(registry().GetModelVersion("churn", 2)));
  EXPECT_EQ(tags["kiln.check.validation_metric"],
            "failed: auc 0.81 is below the champion's 0.83 minus tolerance 0.01");
  EXPECT_EQ(tags["kiln.check.latency"], "passed");
  EXPECT_EQ(tags["kiln.promotion.last"], "refused");
  EXPECT_EQ(
      DescribePromotion(record),
      "refused: version 2 of 'churn' did not become champion; 1 of 2 checks failed; champion stays at "
      "version 1\n  validation_metric failed: auc 0.81 is below the champion's 0.83 minus tolerance 0.01 "
      "(observed 0.81, threshold 0.82)");
}

TEST_P(PromotionRecordsTest, ALaterPromotionReplacesTheCheckTagsOfAnEarlierOne) {
  NewVersion("churn");
  Promote(1, {Failed("latency", "p99 12 ms over the 10 ms budget", 12, 10), Passed("validation_metric")});
  Promote(1, {Passed("latency", 8, 10)});
  EXPECT_EQ(TagsOf(Must(registry().GetModelVersion("churn", 1))),
            (std::map<std::string, std::string>{{"kiln.check.latency", "passed"},
                                                {"kiln.promotion.last", "accepted"}}));
}

TEST_P(PromotionRecordsTest, PromotingTheCurrentChampionRecordsNoAliasMove) {
  NewVersion("churn");
  Promote(1, {});  // no checks: accepted
  PromotionRecord again = Promote(1, {Passed("latency")});
  EXPECT_TRUE(again.accepted);
  EXPECT_EQ(again.previous_version, 1);
  EXPECT_EQ(Must(registry().AliasHistory("churn", "champion", 0)).size(), 1u);
}

TEST_P(PromotionRecordsTest, ListPromotionsNewestFirstWithChecksPerVersionAndLimit) {
  NewVersion("churn");
  NewVersion("churn");
  Promote(1, {Passed("validation_metric", 0.8, kNaN)});
  clock_.Advance(1);
  Promote(2, {Failed("validation_metric", "worse", 0.7, 0.79),
              Failed("latency", "too slow", std::numeric_limits<double>::infinity(), 10)});
  clock_.Advance(1);
  Promote(2, {Passed("validation_metric", 0.81, 0.79), Passed("latency", 4, 10)}, "");

  auto all = Must(registry().ListPromotions("churn", std::nullopt, 0));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, 3);
  EXPECT_TRUE(all[0].accepted);
  EXPECT_EQ(all[0].actor, "");
  EXPECT_EQ(all[0].previous_version, 1);
  EXPECT_FALSE(all[1].accepted);
  EXPECT_EQ(all[2].candidate_version, 1);
  EXPECT_EQ(all[2].previous_version, std::nullopt);
  ASSERT_EQ(all[1].checks.size(), 2u);
  EXPECT_EQ(all[1].checks[0].name, "validation_metric");  // in the order given
  EXPECT_EQ(all[1].checks[0].detail, "worse");
  EXPECT_DOUBLE_EQ(all[1].checks[0].observed, 0.7);
  EXPECT_EQ(all[1].checks[1].name, "latency");
  EXPECT_FALSE(all[1].checks[1].passed);
  EXPECT_TRUE(std::isinf(all[1].checks[1].observed));
  ASSERT_EQ(all[2].checks.size(), 1u);
  EXPECT_TRUE(std::isnan(all[2].checks[0].threshold));

  auto of_two = Must(registry().ListPromotions("churn", 2, 0));
  ASSERT_EQ(of_two.size(), 2u);
  EXPECT_EQ(of_two[0].id, 3);
  EXPECT_EQ(of_two[1].id, 2);
  auto newest = Must(registry().ListPromotions("churn", std::nullopt, 1));
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].id, 3);
  EXPECT_EQ(newest[0].checks.size(), 2u);
  EXPECT_THAT(Must(registry().ListPromotions("churn", 7, 0)), IsEmpty());
}

TEST_P(PromotionRecordsTest, APromotionWhoseChampionMovedMeanwhileIsRefusedAndNotRecorded) {
  NewVersion("churn");
  NewVersion("churn");
  NewVersion("churn");
  Must(registry().SetRegisteredModelAlias("churn", "champion", 2));
  NewPromotion request;
  request.model = "churn";
  request.candidate_version = 3;
  request.checks = {Passed("validation_metric")};
  request.expected_previous_version = 1;  // the checks compared against version 1
  auto stale = registry().RecordPromotion(request);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      stale.status().message(),
      "alias 'champion' of model 'churn' points at version 2, not version 1 as when the promotion checks "
      "ran; run the promotion again");
  EXPECT_THAT(Must(registry().ListPromotions("churn", std::nullopt, 0)), IsEmpty());
  EXPECT_EQ(Must(registry().GetModelVersionByAlias("churn", "champion")).version, 2);
  EXPECT_THAT(TagsOf(Must(registry().GetModelVersion("churn", 3))), IsEmpty());

  request.expected_previous_version = 2;
  EXPECT_TRUE(Must(registry().RecordPromotion(request)).accepted);
}

TEST_P(PromotionRecordsTest, BadRequestsAreRefusedNamingTheProblem) {
  NewVersion("churn");
  NewPromotion request;
  request.model = "churn";
  request.candidate_version = 1;
  request.checks = {Passed("latency"), Passed("latency")};
  auto duplicate = registry().RecordPromotion(request);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.status().message(), "promotion check 'latency' is given twice");

  request.checks = {Passed("latency"), Passed("")};
  auto unnamed = registry().RecordPromotion(request);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.status().message(), "promotion check 2 has no name");

  request.checks = {Passed("p99*latency")};
  auto bad_key = registry().RecordPromotion(request);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_key.status().message(),
              ::testing::StartsWith("promotion check name 'p99*latency' cannot name a "
                                    "version tag: "));

  request.checks = {};
  request.candidate_version = 4;
  auto missing = registry().RecordPromotion(request);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "Model Version (name=churn, version=4) not found");

  auto unknown = registry().ListPromotions("nope", std::nullopt, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "Registered Model with name=nope not found");
  EXPECT_THAT(Must(registry().ListPromotions("churn", std::nullopt, 0)), IsEmpty());
}

TEST_P(PromotionRecordsTest, RecordsFollowARenameAndGoWithTheModel) {
  NewVersion("churn");
  Promote(1, {Passed("latency")});
  Must(registry().RenameRegisteredModel("churn", "attrition"));
  auto records = Must(registry().ListPromotions("attrition", std::nullopt, 0));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].model, "attrition");
  EXPECT_EQ(records[0].checks.size(), 1u);

  Must(registry().DeleteRegisteredModel("attrition"));
  NewVersion("attrition");
  EXPECT_THAT(Must(registry().ListPromotions("attrition", std::nullopt, 0)), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Backends, PromotionRecordsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

// --- Pure helpers ---

TEST(PromotionHelpersTest, CheckTagValuesAreCutOnACharacterBoundary) {
  EXPECT_EQ(CheckTagValue({"a", true, "ignored when passed"}), "passed");
  EXPECT_EQ(CheckTagValue({"a", false, ""}), "failed");
  std::string detail(kMaxRegistryTagValueLength - 9, 'x');
  detail += "é";  // 2 bytes straddling the limit: "failed: " is 8 bytes
  std::string value = CheckTagValue({"a", false, detail});
  EXPECT_EQ(value.size(), kMaxRegistryTagValueLength - 1);
  EXPECT_EQ(value.back(), 'x');
}

TEST(PromotionHelpersTest, AcceptedDescriptionCountsTheChecks) {
  PromotionRecord record;
  record.model = "churn";
  record.candidate_version = 5;
  record.alias = "champion";
  record.accepted = true;
  record.checks = {Passed("a"), Passed("b")};
  EXPECT_EQ(DescribePromotion(record),
            "accepted: version 5 of 'churn' is now champion (2 of 2 checks passed)");
  EXPECT_TRUE(AllChecksPassed({}));
  EXPECT_FALSE(AllChecksPassed({Passed("a"), Failed("b", "", 1, 2)}));
}

}  // namespace
}  // namespace kiln::tracking
