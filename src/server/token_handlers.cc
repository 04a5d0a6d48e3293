// Routes of the admin-only token API: create, list and revoke bearer tokens
// (TokenStore). The secret appears in exactly one response: create's.

#include "server/api.h"
#include "server/api_error.h"
#include "server/token_store.h"

namespace kiln::server {
namespace {

Json TokenJson(const TokenInfo& token) {
  Json out = {{"token_id", token.token_id},
              {"role", RoleName(token.role)},
              {"description", token.description},
              {"created_time", token.created_millis}};
  if (token.last_used_millis) out["last_used_time"] = *token.last_used_millis;
  if (token.revoked_millis) out["revoked_time"] = *token.revoked_millis;
  return out;
}

// POST /api/kiln/tokens/create {role, description} -> {token_id, token, role}
HttpResponse CreateToken(TokenStore& tokens, HttpRequest& request) {
  auto message = RequestMessage(request);
  if (!message.ok()) return ErrorResponse(message.status());
  JsonFields fields(*message);
  auto role_name = fields.RequiredString("role");
  if (!role_name.ok()) return ErrorResponse(role_name.status());
  auto role = ParseRole(*role_name);
  if (!role.ok()) return ErrorResponse(role.status());
  auto description = fields.OptionalString("description");
  if (!description.ok()) return ErrorResponse(description.status());
  auto created = tokens.Create(*role, description->value_or(""));
  if (!created.ok()) return ErrorResponse(created.status());
  return HttpResponse::FromJson(
      {{"token_id", created->token_id}, {"token", created->secret}, {"role", RoleName(created->role)}});
}

// GET /api/kiln/tokens/list[?include_revoked=true] -> {tokens: [...]}
HttpResponse ListTokens(TokenStore& tokens, HttpRequest& request) {
  bool include_revoked = request.QueryParam("include_revoked").value_or("false") == "true";
  auto listed = tokens.List(include_revoked);
  if (!listed.ok()) return ErrorResponse(listed.status());
  Json out = Json::array();
  for (const TokenInfo& token : *listed) out.push_back(TokenJson(token));
  return HttpResponse::FromJson({{"tokens", std::move(out)}});
}

// POST /api/kiln/tokens/revoke {token_id} -> {}
HttpResponse RevokeToken(TokenStore& tokens, HttpRequest& request) {
  auto message = RequestMessage(request);
  if (!message.ok()) return ErrorResponse(message.status());
  auto token_id = JsonFields(*message).RequiredString("token_id");
  if (!token_id.ok()) return ErrorResponse(token_id.status());
  Status revoked = tokens.Revoke(*token_id);
  if (!revoked.ok()) return ErrorResponse(revoked);
  return HttpResponse::FromJson(Json::object());
}

}  // namespace

void RegisterTokenRoutes(Router& router, const ApiServices& services) {
  TokenStore* tokens = services.tokens;
  if (tokens == nullptr) return;
  router.Add({"POST", "/api/kiln/tokens/create", Role::kAdmin, false,
              [tokens](HttpRequest& request) { return CreateToken(*tokens, request); }});
  router.Add({"GET", "/api/kiln/tokens/list", Role::kAdmin, false,
              [tokens](HttpRequest& request) { return ListTokens(*tokens, request); }});
  router.Add({"POST", "/api/kiln/tokens/revoke", Role::kAdmin, false,
              [tokens](HttpRequest& request) { return RevokeToken(*tokens, request); }});
}

}  // namespace kiln::server
