#include "tracking/search_filter.h"

#include <gtest/gtest.h>

namespace kiln::tracking {
namespace {

std::vector<FilterTerm> Parse(std::string_view filter, SearchEntity entity = SearchEntity::kRuns) {
  Result<std::vector<FilterTerm>> terms = ParseSearchFilter(filter, entity);
  EXPECT_TRUE(terms.ok()) << filter << " → " << terms.status().ToString();
  return terms.ok() ? *terms : std::vector<FilterTerm>{};
}

FilterTerm ParseOne(std::string_view filter, SearchEntity entity = SearchEntity::kRuns) {
  std::vector<FilterTerm> terms = Parse(filter, entity);
  EXPECT_EQ(terms.size(), 1u) << filter;
  return terms.empty() ? FilterTerm{} : terms.front();
}

// The error message for a filter that must fail with kInvalidArgument.
std::string ErrorOf(std::string_view filter, SearchEntity entity = SearchEntity::kRuns) {
  Result<std::vector<FilterTerm>> terms = ParseSearchFilter(filter, entity);
  if (terms.ok()) return "parsed without error";
  EXPECT_EQ(terms.status().code(), StatusCode::kInvalidArgument);
  return terms.status().message();
}

std::string OrderErrorOf(std::string_view clause, SearchEntity entity = SearchEntity::kRuns) {
  Result<OrderTerm> term = ParseOrderBy(clause, entity);
  if (term.ok()) return "parsed without error";
  EXPECT_EQ(term.status().code(), StatusCode::kInvalidArgument);
  return term.status().message();
}

TEST(SearchFilterTest, EmptyAndBlankFiltersHaveNoTerms) {
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse("  \t ").empty());
}

TEST(SearchFilterTest, EveryNumericComparatorOnAMetric) {
  struct Case {
    std::string_view text;
    Comparator comparator;
  };
  for (const Case& c :
       {Case{"metrics.acc = 1", Comparator::kEqual}, Case{"metrics.acc != 1", Comparator::kNotEqual},
        Case{"metrics.acc < 1", Comparator::kLess}, Case{"metrics.acc <= 1", Comparator::kLessEqual},
        Case{"metrics.acc > 1", Comparator::kGreater}, Case{"metrics.acc >= 1", Comparator::kGreaterEqual}}) {
    FilterTerm term = ParseOne(c.text);
    EXPECT_EQ(term.kind, FilterKind::kMetric) << c.text;
    EXPECT_EQ(term.key, "acc");
    EXPECT_EQ(term.comparator, c.comparator) << c.text;
    EXPECT_EQ(term.value.type, FilterValue::Type::kNumber);
    EXPECT_EQ(term.value.number, 1.0);
  }
}

TEST(SearchFilterTest, NumbersInEveryForm) {
  EXPECT_EQ(ParseOne("metrics.a > 0.92").value.number, 0.92);
  EXPECT_EQ(ParseOne("metrics.a > -3").value.number, -3.0);
  EXPECT_EQ(ParseOne("metrics.a > +3").value.number, 3.0);
  EXPECT_EQ(ParseOne("metrics.a > .5").value.number, 0.5);
  EXPECT_EQ(ParseOne("metrics.a > 1e-3").value.number, 0.001);
  EXPECT_EQ(ParseOne("metrics.a > 2.5E2").value.number, 250.0);
  FilterTerm integer = ParseOne("attributes.start_time >= 1700000000000");
  ASSERT_TRUE(integer.value.integer.has_value());
  EXPECT_EQ(*integer.value.integer, 1700000000000);
  EXPECT_FALSE(ParseOne("metrics.a > 1.0").value.integer.has_value());
}

TEST(SearchFilterTest, EveryStringComparatorOnParamsAndTags) {
  FilterTerm eq = ParseOne("params.model = 'xgb'");
  EXPECT_EQ(eq.kind, FilterKind::kParam);
  EXPECT_EQ(eq.value.text, "xgb");
  EXPECT_EQ(ParseOne("params.model != 'xgb'").comparator, Comparator::kNotEqual);
  EXPECT_EQ(ParseOne("tags.team LIKE 'ri%'").comparator, Comparator::kLike);
  EXPECT_EQ(ParseOne("tags.team like 'ri%'").comparator, Comparator::kLike);
  EXPECT_EQ(ParseOne("tags.team ILIKE '%SK'").comparator, Comparator::kILike);
  EXPECT_EQ(ParseOne("tags.team = \"risk\"").value.text, "risk");
}

TEST(SearchFilterTest, InAndNotInTakeListsOfStrings) {
  FilterTerm in = ParseOne("attributes.run_id IN ('a1', \"b2\",'c3')");
  EXPECT_EQ(in.comparator, Comparator::kIn);
  EXPECT_EQ(in.value.type, FilterValue::Type::kList);
  EXPECT_EQ(in.value.list, (std::vector<std::string>{"a1", "b2", "c3"}));
  FilterTerm not_in = ParseOne("run_id not in ('a1')");
  EXPECT_EQ(not_in.comparator, Comparator::kNotIn);
  EXPECT_EQ(not_in.value.list, std::vector<std::string>{"a1"});
  EXPECT_EQ(ParseOne("datasets.digest IN ('d1','d2')").kind, FilterKind::kDataset);
  EXPECT_EQ(ParseOne("run_id IN ('a')", SearchEntity::kModelVersions).comparator, Comparator::kIn);
}

TEST(SearchFilterTest, KeysMayBeQuotedOrDotted) {
  EXPECT_EQ(ParseOne("metrics.`my metric` > 1").key, "my metric");
  EXPECT_EQ(ParseOne("tags.\"a b\" = 'x'").key, "a b");
  EXPECT_EQ(ParseOne("tags.`with ``tick``` = 'x'").key, "with `tick`");
  EXPECT_EQ(ParseOne("tags.mlflow.source.type = 'LOCAL'").key, "mlflow.source.type");
  EXPECT_EQ(ParseOne("params.\"lr-rate\" = '0.1'").key, "lr-rate");
  EXPECT_EQ(ParseOne("tags.a = 'it''s'").value.text, "it's");
  EXPECT_EQ(ParseOne("params.p LIKE 'a\\_b'").value.text, "a\\_b");
}

TEST(SearchFilterTest, PrefixAliasesMapToKinds) {
  EXPECT_EQ(ParseOne("metric.a > 1").kind, FilterKind::kMetric);
  EXPECT_EQ(ParseOne("param.a = 'x'").kind, FilterKind::kParam);
  EXPECT_EQ(ParseOne("parameters.a = 'x'").kind, FilterKind::kParam);
  EXPECT_EQ(ParseOne("tag.a = 'x'").kind, FilterKind::kTag);
  EXPECT_EQ(ParseOne("attribute.status = 'FAILED'").kind, FilterKind::kAttribute);
  EXPECT_EQ(ParseOne("attr.status = 'FAILED'").kind, FilterKind::kAttribute);
  EXPECT_EQ(ParseOne("run.status = 'FAILED'").kind, FilterKind::kAttribute);
  EXPECT_EQ(ParseOne("dataset.name = 'x'").kind, FilterKind::kDataset);
}

TEST(SearchFilterTest, AttributeAliasesAreCanonical) {
  EXPECT_EQ(ParseOne("created > 5").key, "start_time");
  EXPECT_EQ(ParseOne("attributes.Created > 5").key, "start_time");
  EXPECT_EQ(ParseOne("attributes.`Run name` = 'x'").key, "run_name");
  EXPECT_EQ(ParseOne("status = 'RUNNING'").key, "status");
  EXPECT_EQ(ParseOne("version_number > 2", SearchEntity::kModelVersions).key, "version_number");
}

TEST(SearchFilterTest, TermsJoinWithAndInAnyCase) {
  std::vector<FilterTerm> terms =
      Parse("metrics.acc>0.9 and params.model='xgb' AND tags.team ILIKE '%risk%'");
  ASSERT_EQ(terms.size(), 3u);
  EXPECT_EQ(terms[0].position, 0u);
  EXPECT_EQ(terms[1].position, 20u);
  EXPECT_EQ(terms[2].kind, FilterKind::kTag);
}

TEST(SearchFilterTest, OtherEntitiesTakeBareAttributesAndTags) {
  EXPECT_EQ(ParseOne("name LIKE 'fraud%'", SearchEntity::kExperiments).key, "name");
  EXPECT_EQ(ParseOne("attributes.creation_time > 5", SearchEntity::kExperiments).key, "creation_time");
  EXPECT_EQ(ParseOne("tags.owner = 'x'", SearchEntity::kRegisteredModels).kind, FilterKind::kTag);
  EXPECT_EQ(ParseOne("source_path = 's3://x'", SearchEntity::kModelVersions).key, "source_path");
}

TEST(SearchFilterTest, SyntaxErrorsNameThePosition) {
  EXPECT_EQ(ErrorOf("metrics.acc >"),
            "Invalid filter 'metrics.acc >' at position 13: expected a value after '>'");
  EXPECT_EQ(ErrorOf("metrics.acc > 1 OR metrics.acc < 0"),
            "Invalid filter 'metrics.acc > 1 OR metrics.acc < 0' at position 16: OR is not "
            "supported; MLflow filters join comparisons with AND");
  EXPECT_EQ(ErrorOf("metrics.acc > 1 AND"),
            "Invalid filter 'metrics.acc > 1 AND' at position 19: expected a comparison after AND");
  EXPECT_EQ(ErrorOf("metrics.acc > 1 metrics.b > 2"),
            "Invalid filter 'metrics.acc > 1 metrics.b > 2' at position 16: expected AND or the "
            "end of the filter");
  EXPECT_EQ(ErrorOf("metrics.acc"),
            "Invalid filter 'metrics.acc' at position 11: expected a comparator (=, !=, <, <=, >, "
            ">=, LIKE, ILIKE, IN or NOT IN) after 'metrics.acc'");
  EXPECT_EQ(ErrorOf("(metrics.a > 1)"),
            "Invalid filter '(metrics.a > 1)' at position 0: expected an identifier such as "
            "metrics.<key>, params.<key>, tags.<key>, attributes.<name> or datasets.<name>");
  EXPECT_EQ(ErrorOf("params.model = 'xgb"),
            "Invalid filter 'params.model = 'xgb' at position 15: unterminated quoted text "
            "(missing ')");
  EXPECT_EQ(ErrorOf("params.model = xgb"),
            "Invalid filter 'params.model = xgb' at position 15: expected a quoted string or a "
            "number after '=', got xgb (quote string values: 'xgb')");
  EXPECT_EQ(ErrorOf("metrics.a > 1.2.3"),
            "Invalid filter 'metrics.a > 1.2.3' at position 12: malformed number '1.2.3'");
  EXPECT_EQ(ErrorOf("metrics.a > 5x"),
            "Invalid filter 'metrics.a > 5x' at position 12: malformed number '5x'");
  EXPECT_EQ(ErrorOf("metrics. > 1"),
            "Invalid filter 'metrics. > 1' at position 8: expected a key after 'metrics.' (quote "
            "keys with special characters: `my key`)");
  EXPECT_EQ(ErrorOf("tags.`` = 'x'"), "Invalid filter 'tags.`` = 'x'' at position 5: the key is empty");
  EXPECT_EQ(ErrorOf("metrics.a == 1"),
            "Invalid filter 'metrics.a == 1' at position 10: unsupported comparator '=='; use = or !=");
  EXPECT_EQ(ErrorOf("params.a NOT LIKE 'x'"),
            "Invalid filter 'params.a NOT LIKE 'x'' at position 13: expected IN after NOT (NOT is "
            "only supported as NOT IN)");
  EXPECT_EQ(ErrorOf("metrics.a = (1)"),
            "Invalid filter 'metrics.a = (1)' at position 12: a parenthesised list is only allowed "
            "after IN or NOT IN");
}

TEST(SearchFilterTest, ListErrors) {
  EXPECT_EQ(ErrorOf("run_id IN 'a'"),
            "Invalid filter 'run_id IN 'a'' at position 10: expected a parenthesised list of "
            "quoted strings after 'IN'");
  EXPECT_EQ(ErrorOf("run_id IN ()"),
            "Invalid filter 'run_id IN ()' at position 11: expected a non-empty list of quoted "
            "strings");
  EXPECT_EQ(ErrorOf("run_id IN ('a', 5)"),
            "Invalid filter 'run_id IN ('a', 5)' at position 16: expected a quoted string in the "
            "list");
  EXPECT_EQ(ErrorOf("run_id IN ('a' 'b')"),
            "Invalid filter 'run_id IN ('a' 'b')' at position 15: expected ',' or ')' in the list");
}

TEST(SearchFilterTest, IdentifierErrors) {
  EXPECT_EQ(ErrorOf("metricz.acc > 1"),
            "Invalid filter 'metricz.acc > 1' at position 0: unknown entity type 'metricz'; "
            "expected metrics, params, tags, attributes or datasets");
  EXPECT_EQ(ErrorOf("attributes.colour = 'red'"),
            "Invalid filter 'attributes.colour = 'red'' at position 11: unknown attribute "
            "'colour'; expected one of run_id, run_name, status, user_id, artifact_uri, "
            "start_time, end_time");
  EXPECT_EQ(ErrorOf("datasets.size = 'x'"),
            "Invalid filter 'datasets.size = 'x'' at position 9: unknown dataset field 'size'; "
            "expected name, digest or context");
  EXPECT_EQ(ErrorOf("metrics.acc > 1", SearchEntity::kExperiments),
            "Invalid filter 'metrics.acc > 1' at position 0: unknown entity type 'metrics'; "
            "expected attributes or tags");
  EXPECT_EQ(ErrorOf("version_number = 1", SearchEntity::kRegisteredModels),
            "Invalid filter 'version_number = 1' at position 0: unknown attribute "
            "'version_number'; expected one of name");
}

TEST(SearchFilterTest, ComparatorMustSuitTheKind) {
  EXPECT_EQ(ErrorOf("metrics.acc LIKE '1%'"),
            "Invalid filter 'metrics.acc LIKE '1%'' at position 12: comparator 'LIKE' is not "
            "supported for metric 'acc'; expected =, !=, <, <=, > or >=");
  EXPECT_EQ(ErrorOf("params.lr > '0.1'"),
            "Invalid filter 'params.lr > '0.1'' at position 10: comparator '>' is not supported "
            "for param 'lr'; expected =, !=, LIKE or ILIKE");
  EXPECT_EQ(ErrorOf("attributes.start_time LIKE '1%'"),
            "Invalid filter 'attributes.start_time LIKE '1%'' at position 22: comparator 'LIKE' "
            "is not supported for attribute 'start_time'; expected =, !=, <, <=, > or >=");
  EXPECT_EQ(ErrorOf("attributes.status IN ('FAILED')"),
            "Invalid filter 'attributes.status IN ('FAILED')' at position 18: comparator 'IN' is "
            "not supported for attribute 'status'; expected =, !=, LIKE or ILIKE");
  EXPECT_EQ(ErrorOf("run_id NOT IN ('a')", SearchEntity::kModelVersions),
            "Invalid filter 'run_id NOT IN ('a')' at position 7: comparator 'NOT IN' is not "
            "supported for attribute 'run_id'; expected =, !=, LIKE, ILIKE or IN");
  EXPECT_EQ(ErrorOf("tags.team IS NULL"),
            "Invalid filter 'tags.team IS NULL' at position 10: comparator 'IS NULL' is not "
            "supported for tag 'team'; expected =, !=, LIKE or ILIKE");
  EXPECT_EQ(ErrorOf("name IN ('a')", SearchEntity::kExperiments),
            "Invalid filter 'name IN ('a')' at position 5: comparator 'IN' is not supported for "
            "attribute 'name'; expected =, !=, LIKE or ILIKE");
}

TEST(SearchFilterTest, ValueMustSuitTheKind) {
  EXPECT_EQ(ErrorOf("metrics.acc > 'high'"),
            "Invalid filter 'metrics.acc > 'high'' at position 14: expected a number to compare "
            "metric 'acc' with, got 'high'");
  EXPECT_EQ(ErrorOf("params.lr = 0.1"),
            "Invalid filter 'params.lr = 0.1' at position 12: expected a quoted string to compare "
            "param 'lr' with, got 0.1 (quote it: '0.1')");
  EXPECT_EQ(ErrorOf("attributes.end_time < 1.5"),
            "Invalid filter 'attributes.end_time < 1.5' at position 22: expected an integer to "
            "compare attribute 'end_time' with, got 1.5");
  EXPECT_EQ(ErrorOf("status = 1"),
            "Invalid filter 'status = 1' at position 9: expected a quoted string to compare "
            "attribute 'status' with, got 1 (quote it: '1')");
  EXPECT_EQ(ErrorOf("creation_time > 'yesterday'", SearchEntity::kExperiments),
            "Invalid filter 'creation_time > 'yesterday'' at position 16: expected a number to "
            "compare attribute 'creation_time' with, got 'yesterday'");
  EXPECT_EQ(ErrorOf("params.p LIKE 'abc\\'"),
            "Invalid filter 'params.p LIKE 'abc\\'' at position 14: the LIKE pattern ends with an "
            "unfinished escape '\\'");
}

TEST(SearchOrderByTest, ParsesKeysAndDirections) {
  Result<OrderTerm> metric = ParseOrderBy("metrics.acc DESC", SearchEntity::kRuns);
  ASSERT_TRUE(metric.ok()) << metric.status().ToString();
  EXPECT_EQ(metric->kind, FilterKind::kMetric);
  EXPECT_EQ(metric->key, "acc");
  EXPECT_FALSE(metric->ascending);

  Result<OrderTerm> param = ParseOrderBy("params.`learning rate`", SearchEntity::kRuns);
  ASSERT_TRUE(param.ok());
  EXPECT_EQ(param->key, "learning rate");
  EXPECT_TRUE(param->ascending);

  Result<OrderTerm> created = ParseOrderBy("  created asc ", SearchEntity::kRuns);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->kind, FilterKind::kAttribute);
  EXPECT_EQ(created->key, "start_time");

  Result<OrderTerm> timestamp = ParseOrderBy("timestamp DESC", SearchEntity::kRegisteredModels);
  ASSERT_TRUE(timestamp.ok());
  EXPECT_EQ(timestamp->key, "last_updated_timestamp");
  EXPECT_TRUE(ParseOrderBy("experiment_id", SearchEntity::kExperiments).ok());
}

TEST(SearchOrderByTest, ErrorsNameThePosition) {
  EXPECT_EQ(OrderErrorOf("metrics.acc DOWN"),
            "Invalid order_by clause 'metrics.acc DOWN' at position 12: expected ASC or DESC "
            "after 'metrics.acc'");
  EXPECT_EQ(OrderErrorOf("metrics.acc DESC x"),
            "Invalid order_by clause 'metrics.acc DESC x' at position 17: expected the end of the "
            "clause after ASC or DESC");
  EXPECT_EQ(OrderErrorOf(""),
            "Invalid order_by clause '' at position 0: expected an identifier such as "
            "metrics.<key>, params.<key>, tags.<key>, attributes.<name> or datasets.<name>");
  EXPECT_EQ(OrderErrorOf("datasets.name"),
            "Invalid order_by clause 'datasets.name' at position 0: cannot order by 'datasets.'; "
            "expected metrics.<key>, params.<key>, tags.<key> or an attribute (run_id, run_name, "
            "status, user_id, artifact_uri, start_time, end_time)");
  EXPECT_EQ(OrderErrorOf("tags.owner", SearchEntity::kExperiments),
            "Invalid order_by clause 'tags.owner' at position 0: cannot order by 'tags.'; "
            "expected one of name, creation_time, last_update_time, experiment_id");
  EXPECT_EQ(OrderErrorOf("source_path", SearchEntity::kModelVersions),
            "Invalid order_by clause 'source_path' at position 0: unknown attribute "
            "'source_path'; expected one of name, version_number, creation_timestamp, "
            "last_updated_timestamp");
}

}  // namespace
}  // namespace kiln::tracking
