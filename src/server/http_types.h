#pragma once
// Transport-neutral HTTP request and response, shared by the HTTP server,
// the router, every handler and the in-process dispatcher the CLI uses.
// Handlers never see Boost types.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace kiln::server {

// Roles are ordered: each one includes the rights of those before it.
enum class Role { kNone = 0, kReader = 1, kWriter = 2, kAdmin = 3 };
std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query string
  std::multimap<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;       // lower-case names
  std::string body;                                 // when the route buffers bodies
  std::string body_file;  // when the route streams its body to a temporary file
  std::map<std::string, std::string> path_params;   // {name} captures of the route
  // Set by authentication before the handler runs.
  Role role = Role::kNone;
  std::string user;

  const std::string* Header(const std::string& lower_case_name) const;
  std::optional<std::string> QueryParam(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When non-empty the body is this file's contents, streamed from disk.
  std::string file_path;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse FromJson(const Json& json, int status = 200);
  static HttpResponse Text(std::string text, int status = 200,
                           std::string content_type = "text/plain; charset=utf-8");
};

// The request as one JSON message, as MLflow's server reads it: the JSON body
// (POST/PATCH/DELETE) merged with query parameters (GET, and any method), a
// parameter given once becoming a string and given several times an array.
// Errors: kInvalidArgument for malformed JSON.
Result<Json> RequestMessage(const HttpRequest& request);

}  // namespace kiln::server
