#pragma once
// Routes (method, path pattern) to handlers. Patterns are literal segments,
// {name} captures of one segment, and a final {name...} capturing the rest of
// the path. Each route names the role it requires and whether its body is
// streamed to a temporary file instead of buffered.
// Thread safety: routes are added before serving; Dispatch is then const and
// safe from any number of threads.

#include <functional>
#include <string>
#include <vector>

#include "server/http_types.h"

namespace kiln::server {

using Handler = std::function<HttpResponse(HttpRequest&)>;

struct Route {
  std::string method;
  std::string pattern;
  Role required_role = Role::kReader;
  bool stream_body = false;
  Handler handler;
};

class Router {
 public:
  void Add(Route route);
  // Convenience for JSON APIs: registers `pattern` under every prefix in
  // `prefixes` (e.g. "/api/2.0/mlflow" and "/ajax-api/2.0/mlflow").
  void AddEach(const std::vector<std::string>& prefixes, const std::string& method,
               const std::string& pattern, Role role, Handler handler);

  // Finds the route for a request, filling request.path_params. Returns
  // nullptr when none matches; `*method_mismatch` is set when the path
  // matched under another method (405 rather than 404).
  const Route* Match(HttpRequest& request, bool* method_mismatch) const;

  // Match + Authorize + Invoke, for callers that hold the whole request.
  HttpResponse Dispatch(HttpRequest& request) const;

  // OK when request.role is at least the route's role; otherwise
  // kUnauthenticated (no credentials) or kPermissionDenied naming both roles.
  static Status Authorize(const Route& route, const HttpRequest& request);
  // Runs the handler; an escaped exception becomes a 500 INTERNAL_ERROR.
  static HttpResponse Invoke(const Route& route, HttpRequest& request);
  // 404 ENDPOINT_NOT_FOUND, or 405 when only the method was wrong.
  static HttpResponse NoRouteResponse(const HttpRequest& request, bool method_mismatch);

 private:
  std::vector<Route> routes_;
};

}  // namespace kiln::server
