// Sweep definitions: parsing `--grid` / `--param` texts and expanding a
// sweep into the assignments of its child runs. (Launching a sweep is in
// training_service_test.cc, which has a service to launch it on.)

#include "training/sweep.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace kiln::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

SweepDimension Parse(const std::string& text) {
  Result<SweepDimension> dimension = ParseSweepDimension(text);
  EXPECT_TRUE(dimension.ok()) << text << ": " << dimension.status().ToString();
  return dimension.ok() ? *dimension : SweepDimension{};
}

std::string ParseError(const std::string& text) {
  Result<SweepDimension> dimension = ParseSweepDimension(text);
  EXPECT_FALSE(dimension.ok()) << text << " was accepted";
  if (!dimension.ok()) {
    EXPECT_EQ(dimension.status().code(), StatusCode::kInvalidArgument) << text;
  }
  return dimension.ok() ? "" : dimension.status().message();
}

using Assignments = std::vector<std::vector<std::string>>;

Assignments Expand(const SweepRequest& request) {
  Result<Assignments> assignments = ExpandSweep(request);
  EXPECT_TRUE(assignments.ok()) << assignments.status().ToString();
  return assignments.ok() ? *assignments : Assignments{};
}

std::string ExpandError(const SweepRequest& request) {
  Result<Assignments> assignments = ExpandSweep(request);
  EXPECT_FALSE(assignments.ok()) << "the sweep was accepted";
  if (!assignments.ok()) {
    EXPECT_EQ(assignments.status().code(), StatusCode::kInvalidArgument);
  }
  return assignments.ok() ? "" : assignments.status().message();
}

// "eta=0.05" → 0.05; fails the test for another name.
double ValueOf(const std::string& item, const std::string& name) {
  EXPECT_EQ(item.substr(0, name.size() + 1), name + "=") << item;
  return std::stod(item.substr(name.size() + 1));
}

TEST(ParseSweepDimensionTest, ReadsAListOfValues) {
  SweepDimension dimension = Parse("max_depth=4,6,8");
  EXPECT_EQ(dimension.name, "max_depth");
  EXPECT_THAT(dimension.values, ElementsAre("4", "6", "8"));
  EXPECT_FALSE(dimension.is_range);
  EXPECT_THAT(Parse("tree_method=hist").values, ElementsAre("hist"));
}

TEST(ParseSweepDimensionTest, ReadsRangesWithLogAndIntOptions) {
  SweepDimension eta = Parse("eta=0.01:0.3");
  EXPECT_EQ(eta.name, "eta");
  EXPECT_TRUE(eta.is_range);
  EXPECT_DOUBLE_EQ(eta.low, 0.01);
  EXPECT_DOUBLE_EQ(eta.high, 0.3);
  EXPECT_FALSE(eta.log_scale);
  EXPECT_FALSE(eta.integer);
  EXPECT_TRUE(eta.values.empty());

  SweepDimension log = Parse("eta=0.001:1:log");
  EXPECT_TRUE(log.log_scale);
  EXPECT_FALSE(log.integer);

  SweepDimension depth = Parse("max_depth=3:10:int");
  EXPECT_TRUE(depth.integer);
  EXPECT_FALSE(depth.log_scale);
  EXPECT_DOUBLE_EQ(depth.low, 3);
  EXPECT_DOUBLE_EQ(depth.high, 10);

  SweepDimension both = Parse("min_child_weight=1:64:log:int");
  EXPECT_TRUE(both.log_scale);
  EXPECT_TRUE(both.integer);
}

TEST(ParseSweepDimensionTest, NamesTheTextInEveryError) {
  EXPECT_EQ(ParseError("max_depth"),
            "sweep parameter 'max_depth': expected NAME=V1,V2,… or NAME=LOW:HIGH[:log][:int]");
  EXPECT_EQ(ParseError("=1,2"), "sweep parameter '=1,2': expected NAME=V1,V2,… or NAME=LOW:HIGH[:log][:int]");
  EXPECT_EQ(ParseError("max_depth="), "sweep parameter 'max_depth=': no values");
  EXPECT_EQ(ParseError("max_depth=4,,8"), "sweep parameter 'max_depth=4,,8': empty value");
  EXPECT_EQ(ParseError("max_depth=4,"), "sweep parameter 'max_depth=4,': empty value");
  EXPECT_EQ(ParseError("eta=low:0.3"), "sweep parameter 'eta=low:0.3': 'low' is not a number");
  EXPECT_EQ(ParseError("eta=0.1:"), "sweep parameter 'eta=0.1:': '' is not a number");
  EXPECT_EQ(ParseError("eta=0.1:inf"), "sweep parameter 'eta=0.1:inf': 'inf' is not a number");
  EXPECT_EQ(ParseError("eta=0.1:0.3:cubic"),
            "sweep parameter 'eta=0.1:0.3:cubic': unknown option 'cubic' (use log or int)");
  EXPECT_EQ(ParseError("eta=0.3:0.1"), "sweep parameter 'eta=0.3:0.1': LOW is greater than HIGH");
  EXPECT_EQ(ParseError("eta=0:1:log"), "sweep parameter 'eta=0:1:log': a log range needs LOW > 0");
  EXPECT_EQ(ParseError("max_depth=2.5:8:int"),
            "sweep parameter 'max_depth=2.5:8:int': an int range needs whole LOW and HIGH");
}

TEST(ExpandSweepTest, AGridIsEveryCombinationWithTheLastDimensionFastest) {
  SweepRequest request;
  request.grid = {Parse("max_depth=3,6"), Parse("eta=0.1,0.2,0.3")};
  EXPECT_EQ(Expand(request), (Assignments{{"max_depth=3", "eta=0.1"},
                                          {"max_depth=3", "eta=0.2"},
                                          {"max_depth=3", "eta=0.3"},
                                          {"max_depth=6", "eta=0.1"},
                                          {"max_depth=6", "eta=0.2"},
                                          {"max_depth=6", "eta=0.3"}}));
  request.grid = {Parse("subsample=0.5,1")};
  EXPECT_EQ(Expand(request), (Assignments{{"subsample=0.5"}, {"subsample=1"}}));
}

TEST(ExpandSweepTest, RandomDrawsAreDeterministicForASeedAndStayInTheirRanges) {
  SweepRequest request;
  request.random_trials = 50;
  request.seed = 42;
  request.space = {Parse("eta=0.01:0.3"), Parse("max_depth=3:6:int"), Parse("tree_method=hist,approx,exact")};
  Assignments first = Expand(request);
  ASSERT_EQ(first.size(), 50u);
  EXPECT_EQ(Expand(request), first) << "the same seed draws the same runs";
  request.seed = 43;
  EXPECT_NE(Expand(request), first) << "another seed draws other runs";

  std::set<std::string> depths, methods;
  std::set<double> etas;
  for (const std::vector<std::string>& assignment : first) {
    ASSERT_EQ(assignment.size(), 3u);
    const double eta = ValueOf(assignment[0], "eta");
    EXPECT_GE(eta, 0.01);
    EXPECT_LE(eta, 0.3);
    etas.insert(eta);
    const double depth = ValueOf(assignment[1], "max_depth");
    EXPECT_EQ(depth, std::floor(depth)) << assignment[1] << " is not a whole number";
    EXPECT_GE(depth, 3);
    EXPECT_LE(depth, 6);
    depths.insert(assignment[1]);
    methods.insert(assignment[2]);
  }
  EXPECT_GT(etas.size(), 40u) << "a continuous range gives (nearly) distinct draws";
  // 50 draws over 4 whole numbers and 3 choices reach every one of them.
  EXPECT_EQ(depths, (std::set<std::string>{"max_depth=3", "max_depth=4", "max_depth=5", "max_depth=6"}));
  EXPECT_EQ(methods, (std::set<std::string>{"tree_method=hist", "tree_method=approx", "tree_method=exact"}));
}

TEST(ExpandSweepTest, ALogRangeDrawsEvenlyAcrossOrdersOfMagnitude) {
  SweepRequest request;
  request.random_trials = 400;
  request.seed = 7;
  request.space = {Parse("eta=0.0001:1:log")};
  int below_one_hundredth = 0;
  for (const std::vector<std::string>& assignment : Expand(request)) {
    const double eta = ValueOf(assignment[0], "eta");
    EXPECT_GE(eta, 0.0001);
    EXPECT_LE(eta, 1);
    if (eta < 0.01) ++below_one_hundredth;
  }
  // Log-uniform: half the draws fall in [1e-4, 1e-2); a uniform draw would
  // put about 1% there.
  EXPECT_GT(below_one_hundredth, 150);
  EXPECT_LT(below_one_hundredth, 250);
}

TEST(ExpandSweepTest, RefusesSweepsThatAreEmptyAmbiguousOrTooLarge) {
  SweepRequest nothing;
  EXPECT_EQ(ExpandError(nothing),
            "nothing to sweep: give --grid NAME=V1,V2 or --random N with --param NAME=LOW:HIGH");

  SweepRequest both;
  both.grid = {Parse("max_depth=3,6")};
  both.random_trials = 5;
  both.space = {Parse("eta=0.01:0.3")};
  EXPECT_EQ(ExpandError(both), "give either a grid or a random search, not both");

  SweepRequest space_without_random;
  space_without_random.grid = {Parse("max_depth=3,6")};
  space_without_random.space = {Parse("eta=0.01:0.3")};
  EXPECT_EQ(ExpandError(space_without_random), "--param 'eta' describes a random search: add --random N");

  SweepRequest negative;
  negative.random_trials = -2;
  negative.space = {Parse("eta=0.01:0.3")};
  EXPECT_EQ(ExpandError(negative), "--random needs a positive number of runs, got -2");

  SweepRequest random_without_space;
  random_without_space.random_trials = 3;
  EXPECT_EQ(ExpandError(random_without_space), "a random search needs --param NAME=LOW:HIGH or NAME=V1,V2");

  SweepRequest range_in_grid;
  range_in_grid.grid = {Parse("max_depth=3,6"), Parse("eta=0.01:0.3")};
  EXPECT_EQ(ExpandError(range_in_grid),
            "grid parameter 'eta' is a range; a grid needs values (NAME=V1,V2,…); ranges are for --random");

  SweepRequest twice;
  twice.grid = {Parse("max_depth=3,6"), Parse("max_depth=8")};
  EXPECT_EQ(ExpandError(twice), "sweep parameter 'max_depth' is given twice");

  SweepRequest too_large;
  too_large.grid = {Parse("a=1,2,3,4,5,6"), Parse("b=1,2,3,4,5,6"), Parse("c=1,2,3,4,5,6"),
                    Parse("d=1,2,3,4,5,6")};
  EXPECT_EQ(ExpandError(too_large), "the grid has 1296 combinations; the limit is 1000: sweep fewer values");
  too_large.max_runs = 1296;
  EXPECT_EQ(Expand(too_large).size(), 1296u) << "at the limit is allowed";

  SweepRequest too_many_trials;
  too_many_trials.random_trials = 1001;
  too_many_trials.space = {Parse("eta=0.01:0.3")};
  EXPECT_EQ(ExpandError(too_many_trials), "1001 random trials exceed the limit of 1000");
}

TEST(ExpandSweepTest, AGridTooLargeToCountIsRefusedWithoutOverflow) {
  SweepRequest request;
  std::string values = "1";
  for (int i = 2; i <= 1000; ++i) values += "," + std::to_string(i);
  for (int d = 0; d < 8; ++d) request.grid.push_back(Parse("p" + std::to_string(d) + "=" + values));
  // 1000^8 overflows 64 bits; a wrapped count could pass the limit.
  EXPECT_EQ(ExpandError(request),
            "the grid has too many combinations; the limit is 1000: sweep fewer values");
}

}  // namespace
}  // namespace kiln::training
