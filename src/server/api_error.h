#pragma once
// The one place that maps Status codes to HTTP statuses and MLflow-shaped
// error bodies: {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}.

#include "common/status.h"
#include "server/http_types.h"

namespace kiln::server {

int HttpStatusFor(const Status& status);
// MLflow's error_code string for a status (its api_code() when set).
std::string ApiErrorCode(const Status& status);
HttpResponse ErrorResponse(const Status& status);

}  // namespace kiln::server
