#pragma once
// API tokens for bearer authentication. A token's secret
// ("kiln_<token_id>_<64 hex>") is returned once, by Create; the store keeps
// only its SHA-256 (table api_tokens, migration server/0001; format in
// docs/formats/tokens.md) and looks tokens up by that hash.
//
// Ownership: TokenStore borrows the Database, Clock and IdGenerator, which
// must outlive it; TokenAuthenticator borrows the TokenStore.
// Thread safety: both are thread-safe (all state is in the database).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/http_server.h"
#include "server/http_types.h"
#include "storage/database.h"

namespace kiln::server {

// Returned once by Create; `secret` is what a client sends as
// "Authorization: Bearer <secret>".
struct CreatedToken {
  std::string token_id;
  std::string secret;
  Role role = Role::kNone;
};

// A token as listed; never carries the secret.
struct TokenInfo {
  std::string token_id;
  Role role = Role::kNone;
  std::string description;
  int64_t created_millis = 0;
  std::optional<int64_t> last_used_millis;  // updated at most once a minute
  std::optional<int64_t> revoked_millis;
};

// Who a valid secret belongs to.
struct TokenIdentity {
  std::string token_id;
  Role role = Role::kNone;
};

class TokenStore {
 public:
  // Version of the table and secret layout (docs/formats/tokens.md).
  static constexpr int kFormatVersion = 1;

  // `ids` names tokens; secrets come from OpenSSL's CSPRNG, never from `ids`.
  TokenStore(storage::Database& database, Clock& clock, IdGenerator& ids);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Errors: kInvalidArgument for kNone or a description over 1000 bytes.
  Result<CreatedToken> Create(Role role, std::string_view description);
  // Oldest first; revoked tokens only when `include_revoked`.
  Result<std::vector<TokenInfo>> List(bool include_revoked = false);
  // Revoking a revoked token is a no-op. Errors: kNotFound.
  Status Revoke(std::string_view token_id);
  // The token a secret belongs to, recording its use. Errors:
  // kUnauthenticated "invalid or revoked token" for a malformed, unknown or
  // revoked secret (one message, so callers learn nothing from it).
  Result<TokenIdentity> Lookup(std::string_view secret);

 private:
  storage::Database& database_;
  Clock& clock_;
  IdGenerator& ids_;
};

// Authenticates "Authorization: Bearer <secret>" against a TokenStore. No
// header: Role::kNone (the router then answers 401 where a role is needed).
// Sets request.user to "token:<token_id>".
class TokenAuthenticator : public Authenticator {
 public:
  explicit TokenAuthenticator(TokenStore& tokens) : tokens_(tokens) {}
  // Errors: kUnauthenticated for another scheme or a malformed, unknown or
  // revoked token.
  Status Authenticate(HttpRequest& request) override;

 private:
  TokenStore& tokens_;
};

}  // namespace kiln::server
