#include "server/token_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

#include "common/hashing.h"

namespace kiln::server {
namespace {

constexpr std::string_view kSecretPrefix = "kiln_";
constexpr size_t kTokenIdBytes = 8;        // 16 hex characters
constexpr size_t kSecretRandomBytes = 32;  // 64 hex characters, 256 bits
constexpr size_t kMaxDescriptionBytes = 1000;
constexpr int64_t kLastUsedResolutionMillis = 60'000;

Status InvalidToken() { return Unauthenticated("invalid or revoked token"); }

bool IsLowerHex(std::string_view text, size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Random bytes from OpenSSL's CSPRNG as lower-case hex.
Result<std::string> SecureRandomHex(size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) {
    return Internal("cannot draw random bytes for a token secret");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char byte : buffer) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xF]);
  }
  return out;
}

// The token id inside a well-formed secret "kiln_<16 hex>_<64 hex>", or "".
std::string_view TokenIdOf(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) != kSecretPrefix) return {};
  std::string_view rest = secret.substr(kSecretPrefix.size());
  size_t id_length = kTokenIdBytes * 2;
  if (rest.size() != id_length + 1 + kSecretRandomBytes * 2 || rest[id_length] != '_') return {};
  std::string_view id = rest.substr(0, id_length);
  if (!IsLowerHex(id, id_length) || !IsLowerHex(rest.substr(id_length + 1), kSecretRandomBytes * 2))
    return {};
  return id;
}

std::optional<int64_t> OptionalMillis(const storage::Row& row, size_t column) {
  if (row.IsNull(column)) return std::nullopt;
  return row.Int(column);
}

}  // namespace

TokenStore::TokenStore(storage::Database& database, Clock& clock, IdGenerator& ids)
    : database_(database), clock_(clock), ids_(ids) {}

Result<CreatedToken> TokenStore::Create(Role role, std::string_view description) {
  if (role == Role::kNone) return InvalidArgument("a token needs a role: reader, writer or admin");
  if (description.size() > kMaxDescriptionBytes) {
    return InvalidArgument("token description is " + std::to_string(description.size()) +
                           " bytes; the limit is " + std::to_string(kMaxDescriptionBytes));
  }
  KILN_ASSIGN_OR_RETURN(std::string random, SecureRandomHex(kSecretRandomBytes));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  // A 64-bit id collides practically never; retry a few times if it does.
  Status inserted;
  for (int attempt = 0; attempt < 3; ++attempt) {
    CreatedToken token{ids_.RandomHex(kTokenIdBytes), "", role};
    token.secret = std::string(kSecretPrefix) + token.token_id + "_" + random;
    auto result = connection->Execute(
        "INSERT INTO api_tokens (token_id, secret_sha256, role, description, created_time) VALUES (?, ?, ?, "
        "?, ?)",
        {token.token_id, Sha256Hex(token.secret), std::string(RoleName(role)), std::string(description),
         clock_.NowMillis()});
    if (result.ok()) return token;
    inserted = result.status();
    if (inserted.code() != StatusCode::kAlreadyExists) break;
  }
  return inserted;
}

Result<std::vector<TokenInfo>> TokenStore::List(bool include_revoked) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  std::string sql =
      "SELECT token_id, role, description, created_time, last_used_time, revoked_time FROM api_tokens";
  if (!include_revoked) sql += " WHERE revoked_time IS NULL";
  sql += " ORDER BY created_time, token_id";
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(sql));
  std::vector<TokenInfo> tokens;
  tokens.reserve(rows.size());
  for (const storage::Row& row : rows) {
    TokenInfo info;
    info.token_id = row.String(0);
    auto role = ParseRole(row.String(1));
    if (!role.ok())
      return Internal("token '" + info.token_id + "' has an unknown role '" + row.String(1) + "'");
    info.role = *role;
    info.description = row.String(2);
    info.created_millis = row.Int(3);
    info.last_used_millis = OptionalMillis(row, 4);
    info.revoked_millis = OptionalMillis(row, 5);
    tokens.push_back(std::move(info));
  }
  return tokens;
}

Status TokenStore::Revoke(std::string_view token_id) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(int64_t changed,
                        connection->Execute("UPDATE api_tokens SET revoked_time = ? WHERE token_id = ? AND "
                                            "revoked_time IS NULL",
                                            {clock_.NowMillis(), std::string(token_id)}));
  if (changed > 0) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query("SELECT 1 FROM api_tokens WHERE token_id = ?",
                                                              {std::string(token_id)}));
  if (rows.empty()) return NotFound("token '" + std::string(token_id) + "' does not exist");
  return Status::Ok();
}

Result<TokenIdentity> TokenStore::Lookup(std::string_view secret) {
  std::string_view token_id = TokenIdOf(secret);
  if (token_id.empty()) return InvalidToken();
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(
      storage::Rows rows,
      connection->Query("SELECT token_id, role, last_used_time, revoked_time FROM api_tokens "
                        "WHERE secret_sha256 = ?",
                        {Sha256Hex(secret)}));
  if (rows.empty() || rows[0].String(0) != token_id || !rows[0].IsNull(3)) return InvalidToken();
  auto role = ParseRole(rows[0].String(1));
  if (!role.ok()) return InvalidToken();
  // Bookkeeping only: at most one write a minute per token, and a failed
  // write does not fail the request.
  int64_t now = clock_.NowMillis();
  std::optional<int64_t> last_used = OptionalMillis(rows[0], 2);
  if (!last_used || now - *last_used >= kLastUsedResolutionMillis) {
    (void)connection->Execute("UPDATE api_tokens SET last_used_time = ? WHERE token_id = ?",
                              {now, std::string(token_id)});
  }
  return TokenIdentity{std::string(token_id), *role};
}

Status TokenAuthenticator::Authenticate(HttpRequest& request) {
  request.role = Role::kNone;
  request.user.clear();
  const std::string* header = request.Header("authorization");
  if (header == nullptr) return Status::Ok();
  std::string_view value = *header;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  size_t space = value.find(' ');
  std::string scheme(value.substr(0, space));
  std::string lower = scheme;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower != "bearer") {
    return Unauthenticated("unsupported authorization scheme '" + scheme.substr(0, 20) +
                           "': send 'Authorization: Bearer <token>'");
  }
  std::string_view secret = space == std::string_view::npos ? std::string_view() : value.substr(space + 1);
  while (!secret.empty() && secret.front() == ' ') secret.remove_prefix(1);
  while (!secret.empty() && secret.back() == ' ') secret.remove_suffix(1);
  KILN_ASSIGN_OR_RETURN(TokenIdentity identity, tokens_.Lookup(secret));
  request.role = identity.role;
  request.user = "token:" + identity.token_id;
  return Status::Ok();
}

}  // namespace kiln::server
