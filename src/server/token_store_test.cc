#include "server/token_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "common/hashing.h"
#include "server/api.h"
#include "server/api_error.h"
#include "server/migrations.h"

namespace kiln::server {
namespace {

namespace fs = std::filesystem;

enum class Backend { kSqlite, kPostgres };

class TokenStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kiln-tokens-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    storage::DatabaseOptions options;
    if (GetParam() == Backend::kPostgres) {
      const char* uri = std::getenv("KILN_TEST_POSTGRES_URI");
      if (uri == nullptr || *uri == '\0') GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set";
      // A schema of its own, recreated for every test, so other test binaries
      // sharing the server are not disturbed.
      constexpr const char* kSchema = "kiln_token_store_test";
      {
        auto admin = storage::Database::Open({.uri = uri, .pool_size = 1});
        ASSERT_TRUE(admin.ok()) << admin.status().ToString();
        auto connection = (*admin)->Acquire();
        ASSERT_TRUE(connection.ok());
        ASSERT_TRUE((*connection)
                        ->ExecuteScript(std::string("DROP SCHEMA IF EXISTS ") + kSchema +
                                        " CASCADE; CREATE SCHEMA " + kSchema)
                        .ok());
      }
      options.uri = std::string(uri) + (std::string(uri).find('?') == std::string::npos ? "?" : "&") +
                    "options=-csearch_path%3D" + kSchema;
    } else {
      options.data_dir = dir_;
    }
    auto database = storage::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    Status migrated = database_->Migrate({&Migrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.ToString();
    tokens_ = std::make_unique<TokenStore>(*database_, clock_, ids_);
    authenticator_ = std::make_unique<TokenAuthenticator>(*tokens_);

    services_.database = database_.get();
    services_.tokens = tokens_.get();
    RegisterSystemRoutes(router_, services_);
    RegisterTokenRoutes(router_, services_);
    router_.Add({"GET", "/api/test/read", Role::kReader, false, [](HttpRequest&) {
                   return HttpResponse::FromJson({{"read", true}});
                 }});
    router_.Add({"POST", "/api/test/write", Role::kWriter, false, [](HttpRequest&) {
                   return HttpResponse::FromJson({{"written", true}});
                 }});
  }

  void TearDown() override {
    authenticator_.reset();
    tokens_.reset();
    database_.reset();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string NewSecret(Role role) {
    auto created = tokens_->Create(role, "test " + std::string(RoleName(role)));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->secret : std::string();
  }

  // What the HTTP server does for each request: authenticate, then dispatch.
  HttpResponse Send(const std::string& method, const std::string& path, const std::string& authorization,
                    const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.body = body;
    if (!authorization.empty()) request.headers["authorization"] = authorization;
    Status authenticated = authenticator_->Authenticate(request);
    if (!authenticated.ok()) return ErrorResponse(authenticated);
    return router_.Dispatch(request);
  }

  std::string dir_;
  FakeClock clock_;
  IdGenerator ids_{11};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<TokenAuthenticator> authenticator_;
  ApiServices services_;
  Router router_;
};

TEST_P(TokenStoreTest, CreateLookupRevoke) {
  auto created = tokens_->Create(Role::kWriter, "CI pipeline");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(std::regex_match(created->secret, std::regex("kiln_[0-9a-f]{16}_[0-9a-f]{64}")))
      << created->secret;
  EXPECT_EQ(created->secret.substr(5, 16), created->token_id);
  EXPECT_EQ(created->role, Role::kWriter);

  auto found = tokens_->Lookup(created->secret);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->role, Role::kWriter);
  EXPECT_EQ(found->token_id, created->token_id);

  ASSERT_TRUE(tokens_->Revoke(created->token_id).ok());
  auto revoked = tokens_->Lookup(created->secret);
  EXPECT_EQ(revoked.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(revoked.status().message(), "invalid or revoked token");
  EXPECT_TRUE(tokens_->Revoke(created->token_id).ok()) << "revoking twice is a no-op";
  Status unknown = tokens_->Revoke("0000000000000000");
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "token '0000000000000000' does not exist");

  auto none = tokens_->Create(Role::kNone, "");
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(), "a token needs a role: reader, writer or admin");
}

TEST_P(TokenStoreTest, OnlyTheSecretsHashIsStored) {
  auto created = tokens_->Create(Role::kAdmin, "ops");
  ASSERT_TRUE(created.ok());
  auto connection = database_->Acquire();
  ASSERT_TRUE(connection.ok());
  auto rows = (*connection)
                  ->Query(
                      "SELECT token_id, secret_sha256, role, description, created_time, last_used_time, "
                      "revoked_time FROM api_tokens");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  const std::string random_part = created->secret.substr(created->secret.rfind('_') + 1);
  for (size_t column = 0; column < (*rows)[0].size(); ++column) {
    std::string value = (*rows)[0].String(column);
    EXPECT_EQ(value.find(random_part), std::string::npos) << "column " << column << " holds the secret";
  }
  EXPECT_EQ((*rows)[0].String(1), Sha256Hex(created->secret));
}

TEST_P(TokenStoreTest, MalformedAndUnknownSecretsGetOneMessage) {
  std::string valid = NewSecret(Role::kReader);
  std::string unknown = valid;
  unknown.back() = unknown.back() == '0' ? '1' : '0';
  std::string upper = valid;
  upper[upper.size() - 1] = 'A';
  for (const std::string& secret :
       {std::string(), std::string("kiln_"), std::string("garbage"), unknown, upper, valid + "0",
        "kiln_0000000000000000_" + valid.substr(valid.rfind('_') + 1)}) {
    auto found = tokens_->Lookup(secret);
    EXPECT_EQ(found.status().code(), StatusCode::kUnauthenticated) << secret;
    EXPECT_EQ(found.status().message(), "invalid or revoked token") << secret;
  }
}

TEST_P(TokenStoreTest, ListShowsTokensWithoutSecrets) {
  auto reader = tokens_->Create(Role::kReader, "dashboards");
  clock_.Advance(1000);
  auto writer = tokens_->Create(Role::kWriter, "training");
  ASSERT_TRUE(reader.ok() && writer.ok());
  clock_.Advance(1000);
  ASSERT_TRUE(tokens_->Lookup(reader->secret).ok());
  ASSERT_TRUE(tokens_->Revoke(writer->token_id).ok());

  auto active = tokens_->List();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].token_id, reader->token_id);
  EXPECT_EQ((*active)[0].role, Role::kReader);
  EXPECT_EQ((*active)[0].description, "dashboards");
  EXPECT_EQ((*active)[0].created_millis, clock_.NowMillis() - 2000);
  EXPECT_EQ((*active)[0].last_used_millis, clock_.NowMillis());

  auto all = tokens_->List(/*include_revoked=*/true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].token_id, writer->token_id);
  EXPECT_EQ((*all)[1].revoked_millis, clock_.NowMillis());
  EXPECT_FALSE((*all)[1].last_used_millis.has_value());
}

TEST_P(TokenStoreTest, AuthenticatorReadsBearerTokens) {
  std::string secret = NewSecret(Role::kWriter);
  HttpRequest anonymous;
  ASSERT_TRUE(authenticator_->Authenticate(anonymous).ok());
  EXPECT_EQ(anonymous.role, Role::kNone);

  HttpRequest bearer;
  bearer.headers["authorization"] = "bearer  " + secret;
  ASSERT_TRUE(authenticator_->Authenticate(bearer).ok());
  EXPECT_EQ(bearer.role, Role::kWriter);
  EXPECT_EQ(bearer.user, "token:" + secret.substr(5, 16));

  HttpRequest basic;
  basic.headers["authorization"] = "Basic dXNlcjpwYXNz";
  Status basic_status = authenticator_->Authenticate(basic);
  EXPECT_EQ(basic_status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(basic_status.message(),
            "unsupported authorization scheme 'Basic': send 'Authorization: Bearer <token>'");

  HttpRequest junk;
  junk.headers["authorization"] = "Bearer junk";
  EXPECT_EQ(authenticator_->Authenticate(junk).message(), "invalid or revoked token");
  EXPECT_EQ(junk.role, Role::kNone);
}

TEST_P(TokenStoreTest, RouterAnswers401And403NamingTheRoleNeeded) {
  HttpResponse anonymous = Send("GET", "/api/test/read", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Json::parse(anonymous.body), Json::parse(R"json({"error_code": "UNAUTHENTICATED",
                                "message": "authentication required: send 'Authorization: Bearer <token>' with a reader token (create one with 'kiln tokens create --role reader')"})json"));
  EXPECT_EQ(Send("GET", "/health", "").status, 200) << "health needs no token";
  EXPECT_EQ(Send("GET", "/version", "").status, 200);

  const std::string reader = "Bearer " + NewSecret(Role::kReader);
  EXPECT_EQ(Send("GET", "/api/test/read", reader).status, 200);
  HttpResponse reader_write = Send("POST", "/api/test/write", reader);
  EXPECT_EQ(reader_write.status, 403);
  EXPECT_EQ(Json::parse(reader_write.body), Json::parse(R"({"error_code": "PERMISSION_DENIED",
                            "message": "POST /api/test/write needs the writer role; this token has reader"})"));

  const std::string writer = "Bearer " + NewSecret(Role::kWriter);
  EXPECT_EQ(Send("POST", "/api/test/write", writer).status, 200);
  HttpResponse writer_admin = Send("POST", "/api/kiln/tokens/create", writer, R"({"role": "reader"})");
  EXPECT_EQ(writer_admin.status, 403);
  EXPECT_EQ(Json::parse(writer_admin.body)["message"],
            "POST /api/kiln/tokens/create needs the admin role; this token has writer");
  EXPECT_EQ(Send("GET", "/api/kiln/tokens/list", writer).status, 403);

  HttpResponse forged = Send("GET", "/api/test/read", "Bearer kiln_0000000000000000_" + std::string(64, 'a'));
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(Json::parse(forged.body),
            Json::parse(R"({"error_code": "UNAUTHENTICATED", "message": "invalid or revoked token"})"));
}

TEST_P(TokenStoreTest, AdminTokenApiCreatesListsAndRevokes) {
  const std::string admin = "Bearer " + NewSecret(Role::kAdmin);
  clock_.Advance(1000);  // listings are ordered by creation time
  HttpResponse created =
      Send("POST", "/api/kiln/tokens/create", admin, R"({"role": "writer", "description": "ci"})");
  ASSERT_EQ(created.status, 200) << created.body;
  Json token = Json::parse(created.body);
  EXPECT_EQ(token["role"], "writer");
  const std::string secret = token["token"];
  const std::string token_id = token["token_id"];
  EXPECT_EQ(Send("POST", "/api/test/write", "Bearer " + secret).status, 200);

  HttpResponse listed = Send("GET", "/api/kiln/tokens/list", admin);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(secret.substr(secret.rfind('_') + 1)), std::string::npos)
      << "listings hold no secret";
  Json tokens = Json::parse(listed.body)["tokens"];
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[1]["token_id"], token_id);
  EXPECT_EQ(tokens[1]["description"], "ci");
  EXPECT_EQ(tokens[1]["role"], "writer");

  HttpResponse bad_role = Send("POST", "/api/kiln/tokens/create", admin, R"({"role": "root"})");
  EXPECT_EQ(bad_role.status, 400);
  EXPECT_EQ(Json::parse(bad_role.body)["message"], "unknown role 'root': expected reader, writer or admin");
  HttpResponse no_role = Send("POST", "/api/kiln/tokens/create", admin, "{}");
  EXPECT_EQ(no_role.status, 400);

  HttpResponse revoked =
      Send("POST", "/api/kiln/tokens/revoke", admin, "{\"token_id\": \"" + token_id + "\"}");
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Send("POST", "/api/test/write", "Bearer " + secret).status, 401);
  HttpResponse unknown =
      Send("POST", "/api/kiln/tokens/revoke", admin, R"({"token_id": "ffffffffffffffff"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json::parse(unknown.body)["message"], "token 'ffffffffffffffff' does not exist");
}

INSTANTIATE_TEST_SUITE_P(Backends, TokenStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace kiln::server
