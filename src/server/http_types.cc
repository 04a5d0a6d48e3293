#include "server/http_types.h"

namespace kiln::server {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone: return "none";
    case Role::kReader: return "reader";
    case Role::kWriter: return "writer";
    case Role::kAdmin: return "admin";
  }
  return "none";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "writer") return Role::kWriter;
  if (name == "admin") return Role::kAdmin;
  return InvalidArgument("unknown role '" + std::string(name) + "': expected reader, writer or admin");
}

const std::string* HttpRequest::Header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? nullptr : &it->second;
}

std::optional<std::string> HttpRequest::QueryParam(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

HttpResponse HttpResponse::FromJson(const Json& json, int status) {
  HttpResponse response;
  response.status = status;
  response.body = json.dump(-1, ' ', false, Json::error_handler_t::replace);
  return response;
}

HttpResponse HttpResponse::Text(std::string text, int status, std::string content_type) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(text);
  return response;
}

Result<Json> RequestMessage(const HttpRequest& request) {
  Json message = Json::object();
  if (!request.body.empty()) {
    KILN_ASSIGN_OR_RETURN(message, ParseJsonObject(request.body));
  }
  for (auto it = request.query.begin(); it != request.query.end();) {
    auto range = request.query.equal_range(it->first);
    if (!message.contains(it->first)) {
      if (std::next(range.first) == range.second) {
        message[it->first] = range.first->second;
      } else {
        Json values = Json::array();
        for (auto v = range.first; v != range.second; ++v) values.push_back(v->second);
        message[it->first] = std::move(values);
      }
    }
    it = range.second;
  }
  return message;
}

}  // namespace kiln::server
