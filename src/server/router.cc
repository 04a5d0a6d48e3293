#include "server/router.h"

#include <exception>

#include "server/api_error.h"

namespace kiln::server {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string>* captures) {
  auto want = Segments(pattern);
  auto have = Segments(path);
  for (size_t i = 0; i < want.size(); ++i) {
    std::string_view w = want[i];
    bool capture = w.size() > 2 && w.front() == '{' && w.back() == '}';
    if (capture && w.size() > 5 && w.substr(w.size() - 4) == "...}") {
      // The rest of the path, slashes included (may be empty).
      std::string rest;
      for (size_t j = i; j < have.size(); ++j) {
        if (!rest.empty()) rest += '/';
        rest += have[j];
      }
      (*captures)[std::string(w.substr(1, w.size() - 5))] = rest;
      return true;
    }
    if (i >= have.size()) return false;
    if (capture) {
      (*captures)[std::string(w.substr(1, w.size() - 2))] = std::string(have[i]);
    } else if (w != have[i]) {
      return false;
    }
  }
  return want.size() == have.size();
}

}  // namespace

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

void Router::AddEach(const std::vector<std::string>& prefixes, const std::string& method,
                     const std::string& pattern, Role role, Handler handler) {
  for (const std::string& prefix : prefixes) {
    Add(Route{method, prefix + pattern, role, false, handler});
  }
}

const Route* Router::Match(HttpRequest& request, bool* method_mismatch) const {
  *method_mismatch = false;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> captures;
    if (!MatchPattern(route.pattern, request.path, &captures)) continue;
    if (route.method != request.method && !(route.method == "GET" && request.method == "HEAD")) {
      *method_mismatch = true;
      continue;
    }
    request.path_params = std::move(captures);
    return &route;
  }
  return nullptr;
}

Status Router::Authorize(const Route& route, const HttpRequest& request) {
  if (request.role >= route.required_role) return Status::Ok();
  std::string needed(RoleName(route.required_role));
  if (request.role == Role::kNone) {
    return Unauthenticated("authentication required: send 'Authorization: Bearer <token>' with a " +
                           needed + " token (create one with 'kiln tokens create --role " + needed + "')");
  }
  return PermissionDenied(request.method + " " + request.path + " needs the " + needed + " role; this token has " +
                          std::string(RoleName(request.role)));
}

HttpResponse Router::Invoke(const Route& route, HttpRequest& request) {
  try {
    return route.handler(request);
  } catch (const std::exception& error) {
    return ErrorResponse(Internal(std::string("unexpected error: ") + error.what()));
  }
}

HttpResponse Router::Dispatch(HttpRequest& request) const {
  bool method_mismatch = false;
  const Route* route = Match(request, &method_mismatch);
  if (route == nullptr) return NoRouteResponse(request, method_mismatch);
  Status allowed = Authorize(*route, request);
  if (!allowed.ok()) return ErrorResponse(allowed);
  return Invoke(*route, request);
}

HttpResponse Router::NoRouteResponse(const HttpRequest& request, bool method_mismatch) {
  if (method_mismatch) {
    HttpResponse response = ErrorResponse(
        Status(StatusCode::kInvalidArgument, "method " + request.method + " is not allowed for " + request.path)
            .WithApiCode("BAD_REQUEST"));
    response.status = 405;
    return response;
  }
  return ErrorResponse(Status(StatusCode::kNotFound, "no API endpoint " + request.method + " " + request.path)
                           .WithApiCode("ENDPOINT_NOT_FOUND"));
}

}  // namespace kiln::server
