// ModelRegistry against both metadata-store backends: SQLite in a temporary
// directory, and PostgreSQL when KILN_TEST_POSTGRES_URI names a server
// (scripts/with-postgres starts a throw-away one).
#include "tracking/model_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "storage/postgres_test_schema.h"
#include "tracking/migrations.h"
#include "tracking/registry_testing.h"
#include "tracking/tracking_store.h"

namespace kiln::tracking {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using testing_support::Backend;

// Asserts `expr` failed with `code` and exactly `message`.
#define EXPECT_ERROR(expr, status_code, text)                       \
  do {                                                              \
    auto kiln_test_result_ = (expr);                                \
    ASSERT_FALSE(kiln_test_result_.ok()) << "expected an error";    \
    EXPECT_EQ(ErrorOf(kiln_test_result_).code(), status_code);      \
    EXPECT_EQ(ErrorOf(kiln_test_result_).message(), text);          \
  } while (0)

const Status& ErrorOf(const Status& status) { return status; }
template <typename T>
const Status& ErrorOf(const Result<T>& result) {
  return result.status();
}

// The shared registry fixture (registry_testing.h) plus helpers that report
// an unexpected error as a failure and carry on.
class ModelRegistryTest : public testing_support::RegistryTest {
 protected:
  RegisteredModel MustCreateModel(const std::string& name) {
    auto model = registry_->CreateRegisteredModel(name, {}, std::nullopt);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    return model.ok() ? *model : RegisteredModel{};
  }

  tracking::Run MustCreateRun(const std::string& experiment_id = "0") {
    CreateRunRequest request;
    request.experiment_id = experiment_id;
    auto run = tracking_->CreateRun(request);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : tracking::Run{};
  }

  ModelVersion MustCreateVersion(const std::string& name, const std::string& source = "mlflow-artifacts:/0/x/model") {
    NewModelVersion request;
    request.name = name;
    request.source = source;
    auto version = registry_->CreateModelVersion(request);
    EXPECT_TRUE(version.ok()) << version.status().ToString();
    return version.ok() ? *version : ModelVersion{};
  }
};

// --- Registered models ---

TEST_P(ModelRegistryTest, CreateAndGetRegisteredModel) {
  auto created = registry_->CreateRegisteredModel("churn", {{"team", "risk"}, {"area", "retail"}},
                                                  std::string("predicts churn"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->name, "churn");
  EXPECT_EQ(created->creation_timestamp, 1'700'000'000'000);
  EXPECT_EQ(created->last_updated_timestamp, 1'700'000'000'000);
  EXPECT_EQ(created->description, "predicts churn");
  EXPECT_THAT(created->latest_versions, IsEmpty());
  EXPECT_THAT(created->aliases, IsEmpty());
  ASSERT_EQ(created->tags.size(), 2u);
  EXPECT_EQ(created->tags[0].key, "area");
  EXPECT_EQ(created->tags[1].value, "risk");

  auto fetched = registry_->GetRegisteredModel("churn");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->description, "predicts churn");
  EXPECT_EQ(fetched->tags.size(), 2u);
}

TEST_P(ModelRegistryTest, DuplicateAndEmptyNamesAreRejected) {
  MustCreateModel("churn");
  EXPECT_ERROR(registry_->CreateRegisteredModel("churn", {}, std::nullopt), StatusCode::kAlreadyExists,
               "Registered Model (name=churn) already exists.");
  auto empty = registry_->CreateRegisteredModel("", {}, std::nullopt);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), StartsWith("Missing value for required parameter 'name'."));
}

TEST_P(ModelRegistryTest, UnknownModelIsNotFound) {
  EXPECT_ERROR(registry_->GetRegisteredModel("nope"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->DeleteRegisteredModel("nope"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->UpdateRegisteredModel("nope", std::string("d")), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->SetRegisteredModelTag("nope", "k", "v"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->GetLatestVersions("nope", {}), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  NewModelVersion version{.name = "nope", .source = "mlflow-artifacts:/0/x"};
  EXPECT_ERROR(registry_->CreateModelVersion(version), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
}

TEST_P(ModelRegistryTest, UpdateSetsAndClearsDescription) {
  MustCreateModel("churn");
  clock_.Advance(5);
  auto updated = registry_->UpdateRegisteredModel("churn", std::string("v2 features"));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->description, "v2 features");
  EXPECT_EQ(updated->last_updated_timestamp, 1'700'000'000'005);
  auto cleared = registry_->UpdateRegisteredModel("churn", std::nullopt);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->description, std::nullopt);
}

TEST_P(ModelRegistryTest, RenameCascadesToVersionsTagsAndAliases) {
  MustCreateModel("churn");
  ASSERT_TRUE(registry_->SetRegisteredModelTag("churn", "team", "risk").ok());
  MustCreateVersion("churn");
  MustCreateVersion("churn");
  ASSERT_TRUE(registry_->SetModelVersionTag("churn", 2, "validated", "yes").ok());
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 2).ok());

  clock_.Advance(10);
  auto renamed = registry_->RenameRegisteredModel("churn", "attrition");
  ASSERT_TRUE(renamed.ok()) << renamed.status().ToString();
  EXPECT_EQ(renamed->name, "attrition");
  EXPECT_EQ(renamed->last_updated_timestamp, 1'700'000'000'010);
  ASSERT_EQ(renamed->tags.size(), 1u);
  EXPECT_EQ(renamed->tags[0].key, "team");
  ASSERT_EQ(renamed->aliases.size(), 1u);
  EXPECT_EQ(renamed->aliases[0].alias, "champion");
  EXPECT_EQ(renamed->aliases[0].version, 2);

  EXPECT_ERROR(registry_->GetRegisteredModel("churn"), StatusCode::kNotFound,
               "Registered Model with name=churn not found");
  auto version = registry_->GetModelVersion("attrition", 2);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->name, "attrition");
  EXPECT_EQ(version->last_updated_timestamp, 1'700'000'000'010);
  ASSERT_EQ(version->tags.size(), 1u);
  EXPECT_EQ(version->tags[0].key, "validated");
  EXPECT_THAT(version->aliases, ElementsAre("champion"));
  auto champion = registry_->Resolve("models:/attrition@champion");
  ASSERT_TRUE(champion.ok()) << champion.status().ToString();
  EXPECT_EQ(champion->version, 2);
  // Numbering continues under the new name.
  EXPECT_EQ(MustCreateVersion("attrition").version, 3);
}

TEST_P(ModelRegistryTest, RenameToTakenNameIsRejected) {
  MustCreateModel("a");
  MustCreateModel("b");
  EXPECT_ERROR(registry_->RenameRegisteredModel("a", "b"), StatusCode::kAlreadyExists,
               "Registered Model (name=b) already exists.");
  EXPECT_ERROR(registry_->RenameRegisteredModel("missing", "c"), StatusCode::kNotFound,
               "Registered Model with name=missing not found");
  auto empty = registry_->RenameRegisteredModel("a", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), StartsWith("Missing value for required parameter 'new_name'."));
  EXPECT_TRUE(registry_->RenameRegisteredModel("a", "a").ok());
}

TEST_P(ModelRegistryTest, DeleteModelRemovesVersionsTagsAndAliases) {
  MustCreateModel("churn");
  ASSERT_TRUE(registry_->SetRegisteredModelTag("churn", "team", "risk").ok());
  MustCreateVersion("churn");
  ASSERT_TRUE(registry_->SetModelVersionTag("churn", 1, "k", "v").ok());
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 1).ok());
  ASSERT_TRUE(registry_->DeleteRegisteredModel("churn").ok());

  EXPECT_ERROR(registry_->GetModelVersion("churn", 1), StatusCode::kNotFound,
               "Registered Model with name=churn not found");
  // A model created again under the name starts from scratch.
  RegisteredModel again = MustCreateModel("churn");
  EXPECT_THAT(again.tags, IsEmpty());
  EXPECT_THAT(again.aliases, IsEmpty());
  ModelVersion first = MustCreateVersion("churn");
  EXPECT_EQ(first.version, 1);
  EXPECT_THAT(first.tags, IsEmpty());
  EXPECT_THAT(first.aliases, IsEmpty());
}

TEST_P(ModelRegistryTest, ModelTagsUpsertAndDelete) {
  MustCreateModel("churn");
  ASSERT_TRUE(registry_->SetRegisteredModelTag("churn", "team", "risk").ok());
  ASSERT_TRUE(registry_->SetRegisteredModelTag("churn", "team", "pricing").ok());
  auto model = registry_->GetRegisteredModel("churn");
  ASSERT_EQ(model->tags.size(), 1u);
  EXPECT_EQ(model->tags[0].value, "pricing");
  ASSERT_TRUE(registry_->DeleteRegisteredModelTag("churn", "team").ok());
  ASSERT_TRUE(registry_->DeleteRegisteredModelTag("churn", "team").ok());  // absent: fine
  EXPECT_THAT(registry_->GetRegisteredModel("churn")->tags, IsEmpty());
}

TEST_P(ModelRegistryTest, BadTagsAreRejected) {
  MustCreateModel("churn");
  auto bad_character = registry_->SetRegisteredModelTag("churn", "a*b", "v");
  ASSERT_FALSE(bad_character.ok());
  EXPECT_THAT(bad_character.message(), HasSubstr("Invalid value \"a*b\" for parameter 'key' supplied"));
  auto bad_path = registry_->SetRegisteredModelTag("churn", "a/../b", "v");
  ASSERT_FALSE(bad_path.ok());
  EXPECT_THAT(bad_path.message(), HasSubstr("This name would resolve to 'b'"));
  EXPECT_ERROR(registry_->SetRegisteredModelTag("churn", "k", std::string(5001, 'x')),
               StatusCode::kInvalidArgument, "'value' exceeds the maximum length of 5000 characters");
  auto bad_create = registry_->CreateRegisteredModel("other", {{"", "v"}}, std::nullopt);
  ASSERT_FALSE(bad_create.ok());
  EXPECT_EQ(bad_create.status().code(), StatusCode::kInvalidArgument);
  EXPECT_ERROR(registry_->GetRegisteredModel("other"), StatusCode::kNotFound,
               "Registered Model with name=other not found");
}

// --- Model versions ---

TEST_P(ModelRegistryTest, VersionsAreNumberedAndNeverReused) {
  MustCreateModel("churn");
  EXPECT_EQ(MustCreateVersion("churn").version, 1);
  EXPECT_EQ(MustCreateVersion("churn").version, 2);
  EXPECT_EQ(MustCreateVersion("churn").version, 3);
  ASSERT_TRUE(registry_->DeleteModelVersion("churn", 3).ok());
  EXPECT_EQ(MustCreateVersion("churn").version, 4);
  ASSERT_TRUE(registry_->DeleteModelVersion("churn", 1).ok());
  EXPECT_EQ(MustCreateVersion("churn").version, 5);
  EXPECT_ERROR(registry_->GetModelVersion("churn", 3), StatusCode::kNotFound,
               "Model Version (name=churn, version=3) not found");
}

TEST_P(ModelRegistryTest, NewVersionIsReadyWithItsFields) {
  MustCreateModel("churn");
  clock_.Advance(7);
  NewModelVersion request{.name = "churn",
                          .source = "mlflow-artifacts:/0/abc/artifacts/model",
                          .tags = {{"framework", "xgboost"}},
                          .run_link = "http://elsewhere/run/1",
                          .description = std::string("first"),
                          .user_id = "ana"};
  auto version = registry_->CreateModelVersion(request);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->status, "READY");
  EXPECT_EQ(version->current_stage, "None");
  EXPECT_EQ(version->source, "mlflow-artifacts:/0/abc/artifacts/model");
  EXPECT_EQ(version->storage_location, "mlflow-artifacts:/0/abc/artifacts/model");
  EXPECT_EQ(version->run_id, std::nullopt);
  EXPECT_EQ(version->run_link, "http://elsewhere/run/1");
  EXPECT_EQ(version->description, "first");
  EXPECT_EQ(version->user_id, "ana");
  EXPECT_EQ(version->creation_timestamp, 1'700'000'000'007);
  ASSERT_EQ(version->tags.size(), 1u);
  EXPECT_EQ(version->tags[0].value, "xgboost");
  EXPECT_EQ(registry_->GetRegisteredModel("churn")->last_updated_timestamp, 1'700'000'000'007);

  auto uri = registry_->GetModelVersionDownloadUri("churn", 1);
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(*uri, "mlflow-artifacts:/0/abc/artifacts/model");
}

TEST_P(ModelRegistryTest, RunsSourceResolvesAgainstTheRunsArtifactUri) {
  MustCreateModel("churn");
  tracking::Run run = MustCreateRun();
  ASSERT_FALSE(run.info.artifact_uri.empty());
  NewModelVersion request{.name = "churn", .source = "runs:/" + run.info.run_id + "/model"};
  auto version = registry_->CreateModelVersion(request);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->source, "runs:/" + run.info.run_id + "/model");
  EXPECT_EQ(version->run_id, run.info.run_id);
  EXPECT_EQ(version->storage_location, run.info.artifact_uri + "/model");
  EXPECT_EQ(*registry_->GetModelVersionDownloadUri("churn", 1), run.info.artifact_uri + "/model");

  // The run's artifact URI plus a path, with the run id given separately.
  NewModelVersion direct{.name = "churn", .source = run.info.artifact_uri + "/model", .run_id = run.info.run_id};
  auto second = registry_->CreateModelVersion(direct);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->run_id, run.info.run_id);
  EXPECT_EQ(second->storage_location, run.info.artifact_uri + "/model");
}

TEST_P(ModelRegistryTest, SourcesNamingUnknownRunsOrEscapingAreRejected) {
  MustCreateModel("churn");
  tracking::Run run = MustCreateRun();
  auto unknown = registry_->CreateModelVersion({.name = "churn", .source = "runs:/0123456789abcdef/model"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("0123456789abcdef"));

  auto unknown_run_id = registry_->CreateModelVersion(
      {.name = "churn", .source = "mlflow-artifacts:/0/x/model", .run_id = "0123456789abcdef"});
  EXPECT_EQ(unknown_run_id.status().code(), StatusCode::kNotFound);

  EXPECT_ERROR(registry_->CreateModelVersion({.name = "churn", .source = "runs:/"}), StatusCode::kInvalidArgument,
               "Invalid model version source: 'runs:/'. Expected runs:/<run_id>/<path>.");
  EXPECT_ERROR(registry_->CreateModelVersion(
                   {.name = "churn", .source = "runs:/" + run.info.run_id + "/model", .run_id = "other"}),
               StatusCode::kInvalidArgument,
               "Invalid model version source: 'runs:/" + run.info.run_id + "/model' names run " + run.info.run_id +
                   " but run_id is other.");
  auto escaping = registry_->CreateModelVersion({.name = "churn", .source = "mlflow-artifacts:/0/x/../../etc"});
  ASSERT_FALSE(escaping.ok());
  EXPECT_THAT(escaping.status().message(),
              StartsWith("Invalid model version source: 'mlflow-artifacts:/0/x/../../etc'. If supplying a source"));
  auto encoded = registry_->CreateModelVersion({.name = "churn", .source = "mlflow-artifacts:/0/%2E%2E/secrets"});
  EXPECT_EQ(encoded.status().code(), StatusCode::kInvalidArgument);
  auto missing = registry_->CreateModelVersion({.name = "churn", .source = ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), StartsWith("Missing value for required parameter 'source'."));
  // Nothing was registered by the failures.
  EXPECT_THAT(registry_->GetRegisteredModel("churn")->latest_versions, IsEmpty());
}

TEST_P(ModelRegistryTest, LocalSourcesMustLieInsideTheRunsArtifacts) {
  MustCreateModel("churn");
  const std::string local_message =
      "Invalid model version source: '/srv/models/churn'. To use a local path as a model version source, the "
      "run_id request parameter has to be specified and the local path has to be contained within the artifact "
      "directory of the run specified by the run_id.";
  EXPECT_ERROR(registry_->CreateModelVersion({.name = "churn", .source = "/srv/models/churn"}),
               StatusCode::kInvalidArgument, local_message);

  auto experiment = tracking_->CreateExperiment("local", "/srv/artifacts", {});
  ASSERT_TRUE(experiment.ok()) << experiment.status().ToString();
  tracking::Run run = MustCreateRun(*experiment);
  ASSERT_THAT(run.info.artifact_uri, StartsWith("/srv/artifacts"));
  auto inside = registry_->CreateModelVersion(
      {.name = "churn", .source = run.info.artifact_uri + "/model", .run_id = run.info.run_id});
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  EXPECT_ERROR(registry_->CreateModelVersion(
                   {.name = "churn", .source = "/srv/models/churn", .run_id = run.info.run_id}),
               StatusCode::kInvalidArgument, local_message);
  auto sneaky = registry_->CreateModelVersion(
      {.name = "churn", .source = run.info.artifact_uri + "/../../other", .run_id = run.info.run_id});
  EXPECT_EQ(sneaky.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ModelRegistryTest, ModelsSourceCopiesTheStorageLocation) {
  MustCreateModel("churn");
  MustCreateModel("churn-eu");
  MustCreateVersion("churn", "mlflow-artifacts:/0/abc/artifacts/model");
  auto copy = registry_->CreateModelVersion({.name = "churn-eu", .source = "models:/churn/1"});
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(copy->source, "models:/churn/1");
  EXPECT_EQ(copy->storage_location, "mlflow-artifacts:/0/abc/artifacts/model");
  EXPECT_ERROR(registry_->CreateModelVersion({.name = "churn-eu", .source = "models:/churn/9"}),
               StatusCode::kNotFound, "Model Version (name=churn, version=9) not found");
}

TEST_P(ModelRegistryTest, UnknownVersionsAreNotFound) {
  MustCreateModel("churn");
  const std::string message = "Model Version (name=churn, version=9) not found";
  EXPECT_ERROR(registry_->GetModelVersion("churn", 9), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->UpdateModelVersion("churn", 9, std::nullopt), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->DeleteModelVersion("churn", 9), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->SetModelVersionTag("churn", 9, "k", "v"), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->DeleteModelVersionTag("churn", 9, "k"), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "champion", 9), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->GetModelVersionDownloadUri("churn", 9), StatusCode::kNotFound, message);
  EXPECT_ERROR(registry_->TransitionModelVersionStage("churn", 9, "Production", false), StatusCode::kNotFound,
               message);
}

TEST_P(ModelRegistryTest, VersionNumbersParseAsMlflowDoes) {
  EXPECT_EQ(*ParseModelVersionNumber("12"), 12);
  EXPECT_EQ(*ParseModelVersionNumber(" 3 "), 3);
  EXPECT_ERROR(ParseModelVersionNumber("abc"), StatusCode::kInvalidArgument,
               "Parameter 'version' must be an integer, got 'abc'.");
  EXPECT_ERROR(ParseModelVersionNumber(""), StatusCode::kInvalidArgument,
               "Parameter 'version' must be an integer, got ''.");
  EXPECT_ERROR(ParseModelVersionNumber("1.5"), StatusCode::kInvalidArgument,
               "Parameter 'version' must be an integer, got '1.5'.");
}

TEST_P(ModelRegistryTest, UpdateVersionAndVersionTags) {
  MustCreateModel("churn");
  MustCreateVersion("churn");
  clock_.Advance(3);
  auto updated = registry_->UpdateModelVersion("churn", 1, std::string("calibrated"));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->description, "calibrated");
  EXPECT_EQ(updated->last_updated_timestamp, 1'700'000'000'003);
  ASSERT_TRUE(registry_->SetModelVersionTag("churn", 1, "auc", "0.81").ok());
  ASSERT_TRUE(registry_->SetModelVersionTag("churn", 1, "auc", "0.83").ok());
  ASSERT_TRUE(registry_->SetModelVersionTag("churn", 1, "data", "2024-05").ok());
  auto version = registry_->GetModelVersion("churn", 1);
  ASSERT_EQ(version->tags.size(), 2u);
  EXPECT_EQ(version->tags[0].key, "auc");
  EXPECT_EQ(version->tags[0].value, "0.83");
  ASSERT_TRUE(registry_->DeleteModelVersionTag("churn", 1, "auc").ok());
  ASSERT_TRUE(registry_->DeleteModelVersionTag("churn", 1, "auc").ok());
  EXPECT_EQ(registry_->GetModelVersion("churn", 1)->tags.size(), 1u);
}

// --- Stages (deprecated) ---

TEST_P(ModelRegistryTest, StagesAndLatestVersions) {
  MustCreateModel("churn");
  for (int i = 0; i < 4; ++i) MustCreateVersion("churn");
  ASSERT_TRUE(registry_->TransitionModelVersionStage("churn", 1, "production", false).ok());
  auto staged = registry_->TransitionModelVersionStage("churn", 2, "Staging", false);
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->current_stage, "Staging");

  auto model = registry_->GetRegisteredModel("churn");
  ASSERT_TRUE(model.ok());
  ASSERT_EQ(model->latest_versions.size(), 3u);  // Production 1, Staging 2, None 4
  EXPECT_EQ(model->latest_versions[0].version, 1);
  EXPECT_EQ(model->latest_versions[0].current_stage, "Production");
  EXPECT_EQ(model->latest_versions[1].version, 2);
  EXPECT_EQ(model->latest_versions[2].version, 4);
  EXPECT_EQ(model->latest_versions[2].current_stage, "None");

  auto production = registry_->GetLatestVersions("churn", {"PRODUCTION"});
  ASSERT_TRUE(production.ok());
  ASSERT_EQ(production->size(), 1u);
  EXPECT_EQ((*production)[0].version, 1);
  EXPECT_EQ(registry_->GetLatestVersions("churn", {})->size(), 3u);
  EXPECT_ERROR(registry_->GetLatestVersions("churn", {"Live"}), StatusCode::kInvalidArgument,
               "Invalid Model Version stage: Live. Value must be one of None, Staging, Production, Archived.");

  // Promoting 3 with archive_existing_versions archives 1.
  auto promoted = registry_->TransitionModelVersionStage("churn", 3, "Production", true);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(registry_->GetModelVersion("churn", 1)->current_stage, "Archived");
  EXPECT_EQ(registry_->GetModelVersion("churn", 2)->current_stage, "Staging");
  auto resolved = registry_->Resolve("models:/churn/Production");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->version, 3);

  EXPECT_ERROR(registry_->TransitionModelVersionStage("churn", 4, "Archived", true), StatusCode::kInvalidArgument,
               "Model version transition cannot archive existing model versions because 'Archived' is not an "
               "Active stage. Valid stages are ['Staging', 'Production']");
  EXPECT_ERROR(registry_->TransitionModelVersionStage("churn", 4, "Deleted_Internal", false),
               StatusCode::kInvalidArgument,
               "Invalid Model Version stage: Deleted_Internal. Value must be one of None, Staging, Production, "
               "Archived.");
}

// --- Aliases ---

TEST_P(ModelRegistryTest, AliasesPointMoveAndDisappear) {
  MustCreateModel("churn");
  MustCreateVersion("churn");
  MustCreateVersion("churn");
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 1).ok());
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "challenger", 2).ok());
  auto champion = registry_->GetModelVersionByAlias("churn", "champion");
  ASSERT_TRUE(champion.ok());
  EXPECT_EQ(champion->version, 1);
  EXPECT_THAT(champion->aliases, ElementsAre("champion"));

  // Setting an alias again moves it.
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 2).ok());
  EXPECT_EQ(registry_->GetModelVersionByAlias("churn", "champion")->version, 2);
  EXPECT_THAT(registry_->GetModelVersion("churn", 2)->aliases, ElementsAre("challenger", "champion"));
  EXPECT_THAT(registry_->GetModelVersion("churn", 1)->aliases, IsEmpty());
  auto model = registry_->GetRegisteredModel("churn");
  ASSERT_EQ(model->aliases.size(), 2u);
  EXPECT_EQ(model->aliases[0].alias, "challenger");
  EXPECT_EQ(model->aliases[1].alias, "champion");
  EXPECT_EQ(model->aliases[1].version, 2);

  ASSERT_TRUE(registry_->DeleteRegisteredModelAlias("churn", "challenger").ok());
  ASSERT_TRUE(registry_->DeleteRegisteredModelAlias("churn", "challenger").ok());  // absent: fine
  EXPECT_ERROR(registry_->GetModelVersionByAlias("churn", "challenger"), StatusCode::kNotFound,
               "Registered model alias challenger not found.");
  EXPECT_ERROR(registry_->GetModelVersionByAlias("nope", "champion"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->DeleteRegisteredModelAlias("nope", "champion"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
}

TEST_P(ModelRegistryTest, DeletingAVersionRemovesItsAliasesOnly) {
  MustCreateModel("churn");
  MustCreateVersion("churn");
  MustCreateVersion("churn");
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 1).ok());
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "shadow", 1).ok());
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "challenger", 2).ok());
  ASSERT_TRUE(registry_->DeleteModelVersion("churn", 1).ok());
  auto model = registry_->GetRegisteredModel("churn");
  ASSERT_EQ(model->aliases.size(), 1u);
  EXPECT_EQ(model->aliases[0].alias, "challenger");
  EXPECT_ERROR(registry_->GetModelVersionByAlias("churn", "champion"), StatusCode::kNotFound,
               "Registered model alias champion not found.");
}

TEST_P(ModelRegistryTest, AliasNamesFollowMlflowRules) {
  MustCreateModel("churn");
  MustCreateVersion("churn");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "", 1), StatusCode::kInvalidArgument,
               "Registered model alias name cannot be empty.");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "best model", 1), StatusCode::kInvalidArgument,
               "Invalid alias name: 'best model'. Names may only contain alphanumerics, underscores (_), and "
               "dashes (-).");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "a.b", 1), StatusCode::kInvalidArgument,
               "Invalid alias name: 'a.b'. Names may only contain alphanumerics, underscores (_), and dashes (-).");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "latest", 1), StatusCode::kInvalidArgument,
               "'latest' alias name (case insensitive) is reserved.");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "LaTeSt", 1), StatusCode::kInvalidArgument,
               "'latest' alias name (case insensitive) is reserved.");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "v1", 1), StatusCode::kInvalidArgument,
               "Version alias name 'v1' is reserved.");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", "V42", 1), StatusCode::kInvalidArgument,
               "Version alias name 'V42' is reserved.");
  EXPECT_ERROR(registry_->SetRegisteredModelAlias("churn", std::string(256, 'a'), 1), StatusCode::kInvalidArgument,
               "'Registered model alias name' exceeds the maximum length of 255 characters");
  for (const char* good : {"champion", "v1-candidate", "vX", "canary_2", "Prod-EU"}) {
    EXPECT_TRUE(registry_->SetRegisteredModelAlias("churn", good, 1).ok()) << good;
  }
}

// --- models:/ URIs ---

TEST_P(ModelRegistryTest, ResolveEveryModelsUriForm) {
  MustCreateModel("churn");
  for (int i = 0; i < 3; ++i) MustCreateVersion("churn");
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 2).ok());
  ASSERT_TRUE(registry_->TransitionModelVersionStage("churn", 1, "Staging", false).ok());

  EXPECT_EQ(registry_->Resolve("models:/churn/3")->version, 3);
  EXPECT_EQ(registry_->Resolve("models:/churn@champion")->version, 2);
  EXPECT_EQ(registry_->Resolve("models:/churn/latest")->version, 3);
  EXPECT_EQ(registry_->Resolve("models:/churn/staging")->version, 1);
  EXPECT_EQ(registry_->Resolve("models:/churn/None")->version, 3);

  // Names may hold '/' and '@'; the last separator wins.
  MustCreateModel("team/churn@eu");
  MustCreateVersion("team/churn@eu");
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("team/churn@eu", "champion", 1).ok());
  EXPECT_EQ(registry_->Resolve("models:/team/churn@eu/1")->name, "team/churn@eu");
  EXPECT_EQ(registry_->Resolve("models:/team/churn@eu@champion")->version, 1);
}

TEST_P(ModelRegistryTest, ResolveErrorsNameTheWrongPart) {
  MustCreateModel("churn");
  MustCreateModel("empty");
  MustCreateVersion("churn");
  const std::string forms =
      "; expected models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest or "
      "models:/<name>/<stage>";
  EXPECT_ERROR(registry_->Resolve("runs:/abc/model"), StatusCode::kInvalidArgument,
               "invalid model URI 'runs:/abc/model': it does not start with 'models:/'" + forms);
  EXPECT_ERROR(registry_->Resolve("churn/1"), StatusCode::kInvalidArgument,
               "invalid model URI 'churn/1': it does not start with 'models:/'" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/': the model name is empty" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/churn"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/churn': no version, stage, 'latest' or @alias follows the model name "
               "'churn'" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/churn/"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/churn/': the version after 'churn/' is empty" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/churn/Live"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/churn/Live': 'Live' is not a version number, 'latest' or a stage (None, "
               "Staging, Production, Archived)" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/@champion"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/@champion': the model name before '@' is empty" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/churn@"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/churn@': the alias after '@' is empty" + forms);
  EXPECT_ERROR(registry_->Resolve("models:/churn@v1"), StatusCode::kInvalidArgument,
               "invalid model URI 'models:/churn@v1': bad alias: Version alias name 'v1' is reserved." + forms);
  EXPECT_ERROR(registry_->Resolve("models://host/churn/1"), StatusCode::kInvalidArgument,
               "invalid model URI 'models://host/churn/1': a host part (models://host/...) is not supported" + forms);

  EXPECT_ERROR(registry_->Resolve("models:/nope/1"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->Resolve("models:/nope@champion"), StatusCode::kNotFound,
               "Registered Model with name=nope not found");
  EXPECT_ERROR(registry_->Resolve("models:/churn/7"), StatusCode::kNotFound,
               "Model Version (name=churn, version=7) not found");
  EXPECT_ERROR(registry_->Resolve("models:/churn@champion"), StatusCode::kNotFound,
               "Registered model alias champion not found.");
  EXPECT_ERROR(registry_->Resolve("models:/empty/latest"), StatusCode::kNotFound,
               "Registered Model with name=empty has no versions");
  EXPECT_ERROR(registry_->Resolve("models:/churn/Production"), StatusCode::kNotFound,
               "Registered Model with name=churn has no version in stage Production");
}

// --- Search ---

TEST_P(ModelRegistryTest, SearchRegisteredModelsPagesThroughResults) {
  for (const char* name : {"churn-eu", "churn-us", "fraud", "churn-apac"}) MustCreateModel(name);
  MustCreateVersion("churn-us");
  auto first = registry_->SearchRegisteredModels("name LIKE 'churn%'", 2, {}, "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->models.size(), 2u);
  EXPECT_EQ(first->models[0].name, "churn-apac");
  EXPECT_EQ(first->models[1].name, "churn-eu");
  ASSERT_FALSE(first->next_page_token.empty());
  auto second = registry_->SearchRegisteredModels("name LIKE 'churn%'", 2, {}, first->next_page_token);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->models.size(), 1u);
  EXPECT_EQ(second->models[0].name, "churn-us");
  EXPECT_EQ(second->models[0].latest_versions.size(), 1u);
  EXPECT_TRUE(second->next_page_token.empty());

  auto all = registry_->SearchRegisteredModels("", 0, {"name DESC"}, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->models.size(), 4u);
  EXPECT_EQ(all->models[0].name, "fraud");
  EXPECT_EQ(registry_->SearchRegisteredModels("", 1001, {}, "").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ModelRegistryTest, SearchModelVersionsByNameAndRun) {
  MustCreateModel("churn");
  MustCreateModel("fraud");
  tracking::Run run = MustCreateRun();
  MustCreateVersion("churn");
  ASSERT_TRUE(registry_->CreateModelVersion({.name = "churn", .source = "runs:/" + run.info.run_id + "/m"}).ok());
  MustCreateVersion("fraud");
  ASSERT_TRUE(registry_->SetRegisteredModelAlias("churn", "champion", 2).ok());

  auto by_name = registry_->SearchModelVersions("name = 'churn'", 0, {}, "");
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  ASSERT_EQ(by_name->versions.size(), 2u);
  std::set<int64_t> numbers;
  for (const ModelVersion& version : by_name->versions) numbers.insert(version.version);
  EXPECT_EQ(numbers, (std::set<int64_t>{1, 2}));

  auto by_run = registry_->SearchModelVersions("run_id = '" + run.info.run_id + "'", 0, {}, "");
  ASSERT_TRUE(by_run.ok()) << by_run.status().ToString();
  ASSERT_EQ(by_run->versions.size(), 1u);
  EXPECT_EQ(by_run->versions[0].version, 2);
  EXPECT_THAT(by_run->versions[0].aliases, ElementsAre("champion"));

  auto paged = registry_->SearchModelVersions("", 2, {"name ASC", "version_number ASC"}, "");
  ASSERT_TRUE(paged.ok()) << paged.status().ToString();
  ASSERT_EQ(paged->versions.size(), 2u);
  EXPECT_EQ(paged->versions[0].version, 1);
  EXPECT_EQ(paged->versions[1].version, 2);
  auto rest = registry_->SearchModelVersions("", 2, {"name ASC", "version_number ASC"}, paged->next_page_token);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->versions.size(), 1u);
  EXPECT_EQ(rest->versions[0].name, "fraud");
  EXPECT_TRUE(rest->next_page_token.empty());
}

// --- Concurrency ---

TEST_P(ModelRegistryTest, ConcurrentRegistrationsGetDistinctNumbers) {
  MustCreateModel("churn");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> numbers(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto version = registry_->CreateModelVersion({.name = "churn", .source = "mlflow-artifacts:/0/x"});
        if (version.ok()) numbers[t].push_back(version->version);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<int64_t> all;
  for (const auto& list : numbers) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kPerThread);
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelRegistryTest, testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace kiln::tracking
