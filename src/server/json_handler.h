#pragma once
// JsonHandler: the shape most API handlers share — the request as one JSON
// message in (server/http_types.h RequestMessage), a body function over a
// service, the response JSON (or the Status as an API error) out.

#include <functional>
#include <utility>

#include "server/api_error.h"
#include "server/router.h"

namespace kiln::server {

template <typename Service>
using JsonBody = std::function<Result<Json>(Service&, const JsonFields&, const HttpRequest&)>;

// REQUIRES: `service` outlives the router.
template <typename Service>
Handler JsonHandler(Service* service, JsonBody<Service> body) {
  return [service, body = std::move(body)](HttpRequest& request) -> HttpResponse {
    auto message = RequestMessage(request);
    if (!message.ok()) return ErrorResponse(message.status());
    JsonFields fields(*message);
    auto response = body(*service, fields, request);
    if (!response.ok()) return ErrorResponse(response.status());
    return HttpResponse::FromJson(*response);
  };
}

}  // namespace kiln::server
