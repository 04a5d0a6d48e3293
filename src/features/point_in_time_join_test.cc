#include "features/point_in_time_join.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include "features/join_testing.h"

namespace kiln::features {
namespace {

using join_testing::Ints;
using join_testing::MakeFrame;
using join_testing::Seconds;
using join_testing::Strings;
using join_testing::Times;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMiss = data::kNoRow;

PointInTimeOptions Options(std::vector<std::string> keys, int64_t ttl_seconds = 0) {
  PointInTimeOptions options;
  options.join_keys = std::move(keys);
  options.entity_timestamp = "ts";
  options.event_timestamp = "event_ts";
  options.ttl_seconds = ttl_seconds;
  options.threads = 1;
  return options;
}

std::vector<int64_t> Match(const data::Frame& entities, const data::Frame& features,
                           const PointInTimeOptions& options) {
  Result<std::vector<int64_t>> result = PointInTimeMatch(entities, features, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : std::vector<int64_t>{};
}

TEST(PointInTimeMatchTest, TakesTheLatestEventAtOrBeforeTheEntityTime) {
  data::Frame features = MakeFrame({{"id", Ints({1, 1, 1})}, {"event_ts", Times({10, 20, 30})}});
  data::Frame entities =
      MakeFrame({{"id", Ints({1, 1, 1, 1, 1})}, {"ts", Times({25, 20, 5, 35, 30})}});
  EXPECT_THAT(Match(entities, features, Options({"id"})), ElementsAre(1, 1, kMiss, 2, 2));
}

TEST(PointInTimeMatchTest, TtlWindowIncludesBothEnds) {
  // Feature at 100 s, TTL 10 s: valid for entity times in [100, 110].
  data::Frame features = MakeFrame({{"id", Ints({1})}, {"event_ts", Times({100})}});
  data::Frame entities = MakeFrame(
      {{"id", Ints({1, 1, 1, 1})}, {"ts", Times({99, 100, 110, 111})}});
  EXPECT_THAT(Match(entities, features, Options({"id"}, 10)), ElementsAre(kMiss, 0, 0, kMiss));
  // One microsecond past the bound misses.
  data::Column times(data::Type::kTimestamp);
  times.AppendInt(Seconds(110) + 1);
  data::Frame late = MakeFrame({{"id", Ints({1})}, {"ts", std::move(times)}});
  EXPECT_THAT(Match(late, features, Options({"id"}, 10)), ElementsAre(kMiss));
  // TTL 0 means unlimited.
  EXPECT_THAT(Match(entities, features, Options({"id"}, 0)), ElementsAre(kMiss, 0, 0, 0));
}

TEST(PointInTimeMatchTest, TiesOnEventTimeGoToTheLatestCreatedThenTheLaterRow) {
  data::Frame features = MakeFrame({{"id", Ints({1, 1, 1, 2, 2, 3, 3})},
                                    {"event_ts", Times({10, 10, 10, 10, 10, 10, 10})},
                                    {"created", Times({5, 7, 6, 4, 4, 3, std::nullopt})}});
  data::Frame entities = MakeFrame({{"id", Ints({1, 2, 3})}, {"ts", Times({10, 10, 10})}});
  PointInTimeOptions options = Options({"id"});
  options.created_timestamp = "created";
  // Key 3: a null created timestamp counts as the oldest.
  EXPECT_THAT(Match(entities, features, options), ElementsAre(1, 4, 5));
  // Without a created timestamp the later row wins.
  EXPECT_THAT(Match(entities, features, Options({"id"})), ElementsAre(2, 4, 6));
}

TEST(PointInTimeMatchTest, RequireCreatedBeforeEntityLooksBackPastLateRows) {
  // Row 1 (event 20) is written at 50; row 2 corrects event 10 at 40.
  data::Frame features = MakeFrame({{"id", Ints({1, 1, 1, 1})},
                                    {"event_ts", Times({10, 20, 10, 5})},
                                    {"created", Times({10, 50, 40, std::nullopt})}});
  data::Frame entities =
      MakeFrame({{"id", Ints({1, 1, 1, 1, 1})}, {"ts", Times({60, 30, 45, 8, 9})}});
  PointInTimeOptions options = Options({"id"});
  options.created_timestamp = "created";
  EXPECT_THAT(Match(entities, features, options), ElementsAre(1, 1, 1, 3, 3));
  options.require_created_before_entity = true;
  // At 8 and 9 nothing has a known creation time ≤ t (row 3's is null).
  EXPECT_THAT(Match(entities, features, options), ElementsAre(1, 0, 2, kMiss, kMiss));
  // TTL still applies to the event time of the row picked.
  // At 45 the only row created in time (event 10) is older than 45 − 30.
  options.ttl_seconds = 30;
  EXPECT_THAT(Match(entities, features, options), ElementsAre(kMiss, 0, kMiss, kMiss, kMiss));
}

TEST(PointInTimeMatchTest, CreatedBeforeEntityBoundIsInclusive) {
  data::Frame features = MakeFrame(
      {{"id", Ints({7})}, {"event_ts", Times({10})}, {"created", Times({12})}});
  data::Frame entities = MakeFrame({{"id", Ints({7, 7})}, {"ts", Times({11, 12})}});
  PointInTimeOptions options = Options({"id"});
  options.created_timestamp = "created";
  options.require_created_before_entity = true;
  EXPECT_THAT(Match(entities, features, options), ElementsAre(kMiss, 0));
}

TEST(PointInTimeMatchTest, MultiColumnKeysOfIntAndString) {
  data::Frame features = MakeFrame({{"customer", Ints({1, 1, 2, 2})},
                                    {"country", Strings({"DE", "FR", "DE", "DE"})},
                                    {"event_ts", Times({10, 10, 10, 20})}});
  data::Frame entities = MakeFrame({{"customer", Ints({2, 1, 1, 2, 3})},
                                    {"country", Strings({"DE", "FR", "DE", "FR", "DE"})},
                                    {"ts", Times({30, 30, 30, 30, 30})}});
  EXPECT_THAT(Match(entities, features, Options({"customer", "country"})),
              ElementsAre(3, 1, 0, kMiss, kMiss));
  // Key order does not matter.
  EXPECT_THAT(Match(entities, features, Options({"country", "customer"})),
              ElementsAre(3, 1, 0, kMiss, kMiss));
}

TEST(PointInTimeMatchTest, NullKeysAndTimestampsNeverMatch) {
  data::Frame features = MakeFrame({{"id", Ints({std::nullopt, 1, 1})},
                                    {"event_ts", Times({5, 10, std::nullopt})}});
  data::Frame entities = MakeFrame(
      {{"id", Ints({std::nullopt, 1, 1})}, {"ts", Times({50, std::nullopt, 50})}});
  // The row with a null event time is skipped, not taken as the latest.
  EXPECT_THAT(Match(entities, features, Options({"id"})), ElementsAre(kMiss, kMiss, 1));
}

TEST(PointInTimeMatchTest, EntitiesWithoutEventsMiss) {
  data::Frame features = MakeFrame({{"id", Strings({"a"})}, {"event_ts", Times({1})}});
  data::Frame entities = MakeFrame({{"id", Strings({"b", "", "a"})}, {"ts", Times({9, 9, 9})}});
  EXPECT_THAT(Match(entities, features, Options({"id"})), ElementsAre(kMiss, kMiss, 0));
  data::Frame empty = MakeFrame({{"id", Strings({})}, {"event_ts", Times({})}});
  EXPECT_THAT(Match(entities, empty, Options({"id"})), ElementsAre(kMiss, kMiss, kMiss));
}

TEST(PointInTimeMatchTest, UnsortedInputsAndDuplicateEntityRows) {
  data::Frame features = MakeFrame({{"id", Strings({"b", "a", "b", "a", "b"})},
                                    {"event_ts", Times({30, 20, 10, 10, 20})}});
  data::Frame entities = MakeFrame({{"id", Strings({"b", "a", "b", "b", "a", "a"})},
                                    {"ts", Times({25, 15, 25, 5, 40, 15})}});
  for (int threads : {1, 4}) {
    PointInTimeOptions options = Options({"id"});
    options.threads = threads;
    EXPECT_THAT(Match(entities, features, options), ElementsAre(4, 3, 4, kMiss, 1, 3));
  }
}

TEST(PointInTimeMatchTest, NoJoinKeysMatchesOnTimeAlone) {
  data::Frame features = MakeFrame({{"event_ts", Times({10, 20})}});
  data::Frame entities = MakeFrame({{"ts", Times({15, 25, 5})}});
  EXPECT_THAT(Match(entities, features, Options({})), ElementsAre(0, 1, kMiss));
}

TEST(PointInTimeMatchTest, BoolAndTimestampKeys) {
  data::Frame features = MakeFrame({{"flag", join_testing::IntColumn(data::Type::kBool, {1, 0})},
                                    {"day", Times({100, 100})},
                                    {"event_ts", Times({1, 2})}});
  data::Frame entities = MakeFrame({{"flag", join_testing::IntColumn(data::Type::kBool, {0, 1})},
                                    {"day", Times({100, 200})},
                                    {"ts", Times({5, 5})}});
  EXPECT_THAT(Match(entities, features, Options({"flag", "day"})), ElementsAre(1, kMiss));
}

TEST(PointInTimeMatchTest, ErrorsNameTheColumnAndTheProblem) {
  data::Frame features = MakeFrame({{"id", Ints({1})},
                                    {"event_ts", Times({1})},
                                    {"score", join_testing::Floats({0.5})}});
  data::Frame entities = MakeFrame({{"id", Strings({"1"})}, {"ts", Times({1})}});
  auto error = [&](const PointInTimeOptions& options) {
    Result<std::vector<int64_t>> result = PointInTimeMatch(entities, features, options);
    EXPECT_FALSE(result.ok());
    return result.ok() ? std::string() : result.status().message();
  };
  EXPECT_EQ(error(Options({"id"})),
            "join key 'id' is string in the entity frame but int64 in the feature frame");
  EXPECT_EQ(error(Options({"customer"})),
            "join key 'customer' is not a column of the feature frame (columns: id, event_ts, "
            "score)");
  EXPECT_EQ(error(Options({"score"})),
            "join key 'score' of the feature frame is float64; join keys must be int64, string, "
            "bool or timestamp");
  PointInTimeOptions options = Options({});
  options.entity_timestamp = "when";
  EXPECT_EQ(error(options),
            "entity timestamp 'when' is not a column of the entity frame (columns: id, ts)");
  options = Options({});
  options.event_timestamp = "id";
  EXPECT_EQ(error(options), "event timestamp 'id' of the feature frame is int64, not timestamp");
  options = Options({});
  options.ttl_seconds = -1;
  EXPECT_EQ(error(options), "ttl must not be negative, got -1s");
  options = Options({});
  options.require_created_before_entity = true;
  EXPECT_EQ(error(options),
            "require_created_before_entity needs a created timestamp column in the feature frame");
  options = Options({});
  options.created_timestamp = "created";
  EXPECT_THAT(error(options), HasSubstr("created timestamp 'created' is not a column"));
}

// The definition, row by row: O(entities × features).
std::vector<int64_t> BruteForceMatch(const data::Frame& entities, const data::Frame& features,
                                     const PointInTimeOptions& options) {
  const data::Column& entity_time = *entities.Find(options.entity_timestamp);
  const data::Column& event_time = *features.Find(options.event_timestamp);
  const data::Column* created =
      options.created_timestamp.empty() ? nullptr : features.Find(options.created_timestamp);
  std::vector<int64_t> result(entities.num_rows(), kMiss);
  for (size_t i = 0; i < entities.num_rows(); ++i) {
    if (entity_time.IsNull(i)) continue;
    const int64_t t = entity_time.ints()[i];
    int64_t best = kMiss;
    auto created_of = [&](size_t row) {
      return created == nullptr || created->IsNull(row) ? std::numeric_limits<int64_t>::min()
                                                        : created->ints()[row];
    };
    for (size_t j = 0; j < features.num_rows(); ++j) {
      bool same = true;
      for (const std::string& key : options.join_keys) {
        const data::Column& a = *entities.Find(key);
        const data::Column& b = *features.Find(key);
        if (a.IsNull(i) || b.IsNull(j) || !a.Get(i).BitwiseEquals(b.Get(j))) same = false;
      }
      if (!same || event_time.IsNull(j)) continue;
      const int64_t event = event_time.ints()[j];
      if (event > t) continue;
      if (options.ttl_seconds > 0 && event < t - Seconds(options.ttl_seconds)) continue;
      if (options.require_created_before_entity &&
          (created->IsNull(j) || created->ints()[j] > t)) {
        continue;
      }
      if (best == kMiss ||
          std::make_tuple(event, created_of(j), j) >
              std::make_tuple(event_time.ints()[best], created_of(best), static_cast<size_t>(best))) {
        best = static_cast<int64_t>(j);
      }
    }
    result[i] = best;
  }
  return result;
}

TEST(PointInTimeMatchTest, AgreesWithBruteForceOnRandomFrames) {
  std::mt19937_64 random(20240607);
  for (int round = 0; round < 60; ++round) {
    const size_t num_features = random() % 400;
    const size_t num_entities = random() % 300 + 1;
    const int64_t num_customers = static_cast<int64_t>(random() % 6) + 1;
    const int64_t horizon = static_cast<int64_t>(random() % 200) + 1;  // seconds; small → ties
    auto maybe = [&](int64_t value) -> std::optional<int64_t> {
      if (random() % 25 == 0) return std::nullopt;
      return value;
    };
    const std::vector<std::string> countries = {"DE", "FR", "a-much-longer-country-code"};
    std::vector<std::optional<int64_t>> customer, event, created;
    std::vector<std::optional<std::string>> country;
    for (size_t j = 0; j < num_features; ++j) {
      customer.push_back(maybe(static_cast<int64_t>(random() % num_customers)));
      country.push_back(random() % 30 == 0 ? std::nullopt
                                           : std::optional(countries[random() % countries.size()]));
      const int64_t when = static_cast<int64_t>(random() % horizon);
      event.push_back(maybe(when));
      created.push_back(maybe(when + static_cast<int64_t>(random() % 40) - 5));
    }
    data::Frame features = MakeFrame({{"customer", Ints(customer)},
                                      {"country", Strings(country)},
                                      {"event_ts", Times(event)},
                                      {"created", Times(created)}});
    customer.clear();
    country.clear();
    std::vector<std::optional<int64_t>> ts;
    for (size_t i = 0; i < num_entities; ++i) {
      customer.push_back(maybe(static_cast<int64_t>(random() % (num_customers + 1))));
      country.push_back(random() % 30 == 0 ? std::nullopt
                                           : std::optional(countries[random() % countries.size()]));
      ts.push_back(maybe(static_cast<int64_t>(random() % (horizon + 20)) - 10));
    }
    if (round % 3 == 0) std::sort(ts.begin(), ts.end());  // exercise the merge path
    data::Frame entities = MakeFrame(
        {{"customer", Ints(customer)}, {"country", Strings(country)}, {"ts", Times(ts)}});

    PointInTimeOptions options = Options(
        round % 2 == 0 ? std::vector<std::string>{"customer", "country"}
                       : std::vector<std::string>{"customer"},
        static_cast<int64_t>(random() % 3 == 0 ? 0 : random() % 60));
    if (round % 4 != 3) options.created_timestamp = "created";
    options.require_created_before_entity = round % 4 == 1;
    const std::vector<int64_t> expected = BruteForceMatch(entities, features, options);
    for (int threads : {1, 4}) {
      options.threads = threads;
      EXPECT_EQ(Match(entities, features, options), expected)
          << "round " << round << " threads " << threads;
    }
  }
}

TEST(PointInTimeMatchTest, LargeFramesInTimeOrderAndShuffledAgreeWithASearchPerKey) {
  // Large enough that time-ordered entity rows are split into several chunks.
  std::mt19937_64 random(11);
  const int64_t ttl_seconds = 5000;
  std::vector<std::optional<int64_t>> feature_keys, feature_times;
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> by_key;  // key → (time, row)
  for (int64_t row = 0; row < 3000; ++row) {
    const auto key = static_cast<int64_t>(random() % 50);
    const auto time = static_cast<int64_t>(random() % 100000);
    feature_keys.push_back(key);
    feature_times.push_back(time);
    by_key[key].emplace_back(time, row);
  }
  for (auto& [key, rows] : by_key) std::sort(rows.begin(), rows.end());
  data::Frame features =
      MakeFrame({{"id", Ints(feature_keys)}, {"event_ts", Times(feature_times)}});

  std::vector<std::pair<int64_t, int64_t>> entity_rows;  // (time, key)
  for (int i = 0; i < 60000; ++i) {
    entity_rows.emplace_back(static_cast<int64_t>(random() % 110000),
                             static_cast<int64_t>(random() % 55));
  }
  for (bool time_ordered : {true, false}) {
    if (time_ordered) std::sort(entity_rows.begin(), entity_rows.end());
    std::vector<std::optional<int64_t>> keys, times;
    std::vector<int64_t> expected;
    for (const auto& [time, key] : entity_rows) {
      keys.push_back(key);
      times.push_back(time);
      int64_t match = kMiss;
      const auto& rows = by_key[key];
      auto after = std::upper_bound(rows.begin(), rows.end(),
                                    std::make_pair(time, std::numeric_limits<int64_t>::max()));
      if (after != rows.begin() && std::prev(after)->first >= time - ttl_seconds) {
        match = std::prev(after)->second;
      }
      expected.push_back(match);
    }
    data::Frame entities = MakeFrame({{"id", Ints(keys)}, {"ts", Times(times)}});
    for (int threads : {1, 4}) {
      PointInTimeOptions options = Options({"id"}, ttl_seconds);
      options.threads = threads;
      EXPECT_EQ(Match(entities, features, options), expected)
          << "time ordered " << time_ordered << " threads " << threads;
    }
    std::shuffle(entity_rows.begin(), entity_rows.end(), random);
  }
}

}  // namespace
}  // namespace kiln::features
