#include "features/entity_key_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "features/join_testing.h"
#include "features/key_hash_table.h"

namespace kiln::features {
namespace {

using join_testing::Ints;
using join_testing::MakeFrame;
using join_testing::Strings;
using ::testing::ElementsAre;

TEST(EntityKeyIndexTest, IdsFollowFirstAppearanceAndNullsHaveNone) {
  data::Frame build = MakeFrame({{"city", Strings({"Oslo", "Rome", std::nullopt, "Oslo"})},
                                 {"zone", Ints({1, 1, 1, 2})}});
  Result<EntityKeyIndex> index = EntityKeyIndex::Build(build, {"city", "zone"}, "feature frame");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->num_keys(), 3u);
  EXPECT_THAT(index->row_keys(), ElementsAre(0, 1, kNoKey, 2));
  EXPECT_EQ(index->first_row(2), 3);

  data::Frame probe = MakeFrame({{"city", Strings({"Oslo", "Oslo", "Rome", "Paris", "Rome"})},
                                 {"zone", Ints({2, 1, std::nullopt, 1, 1})}});
  for (int threads : {1, 3}) {
    Result<std::vector<int32_t>> keys = index->Lookup(probe, "entity frame", threads);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    EXPECT_THAT(*keys, ElementsAre(2, 0, kNoKey, kNoKey, 1));
  }
}

TEST(EntityKeyIndexTest, ShortAndLongStringsStayDistinct) {
  // Lengths 0..20, embedded NULs and shared prefixes: every string its own key.
  std::vector<std::optional<std::string>> values;
  for (size_t length = 0; length <= 20; ++length) {
    values.push_back(std::string(length, 'a'));
    values.push_back(std::string(length, '\0'));
    if (length > 0) values.push_back(std::string(length - 1, 'a') + "b");
    if (length > 1) values.push_back("b" + std::string(length - 1, 'a'));
  }
  std::set<std::string> distinct;
  for (const auto& value : values) distinct.insert(*value);
  data::Frame build = MakeFrame({{"s", Strings(values)}});
  Result<EntityKeyIndex> index = EntityKeyIndex::Build(build, {"s"}, "feature frame");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->num_keys(), distinct.size());
  Result<std::vector<int32_t>> again = index->Lookup(build, "entity frame", 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::vector<int32_t>(index->row_keys().begin(), index->row_keys().end()), *again);
}

TEST(EntityKeyIndexTest, ManyKeysSurviveTableGrowth) {
  std::vector<std::optional<int64_t>> ints;
  std::vector<std::optional<std::string>> strings;
  for (int64_t i = 0; i < 50000; ++i) {
    ints.push_back(i % 2 == 0 ? i * 7919 : std::numeric_limits<int64_t>::min() + i);
    strings.push_back("customer-" + std::to_string(i % 1000));
  }
  data::Frame build = MakeFrame({{"i", Ints(ints)}, {"s", Strings(strings)}});
  Result<EntityKeyIndex> index = EntityKeyIndex::Build(build, {"i", "s"}, "feature frame");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->num_keys(), 50000u);
  Result<std::vector<int32_t>> keys = index->Lookup(build, "entity frame", 2);
  ASSERT_TRUE(keys.ok());
  for (int32_t row = 0; row < 50000; ++row) ASSERT_EQ((*keys)[row], row);
}

TEST(EntityKeyIndexTest, StringKeyTableFindsWhatItInserted) {
  StringKeyTable table;
  EXPECT_EQ(table.Find("x"), -1);
  EXPECT_EQ(table.Insert("x"), 0);
  EXPECT_EQ(table.Insert("a-key-longer-than-eight-bytes"), 1);
  EXPECT_EQ(table.Insert("x"), 0);
  EXPECT_EQ(table.Find("a-key-longer-than-eight-bytes"), 1);
  EXPECT_EQ(table.Find("a-key-longer-than-eight-bytez"), -1);
  EXPECT_EQ(table.size(), 2);
}

}  // namespace
}  // namespace kiln::features
