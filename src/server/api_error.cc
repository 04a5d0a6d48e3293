#include "server/api_error.h"

namespace kiln::server {

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 400;  // MLflow: RESOURCE_ALREADY_EXISTS is a 400
    case StatusCode::kFailedPrecondition: return 400;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string ApiErrorCode(const Status& status) {
  if (!status.api_code().empty()) return status.api_code();
  switch (status.code()) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "INVALID_PARAMETER_VALUE";
    case StatusCode::kNotFound: return "RESOURCE_DOES_NOT_EXIST";
    case StatusCode::kAlreadyExists: return "RESOURCE_ALREADY_EXISTS";
    case StatusCode::kFailedPrecondition: return "INVALID_STATE";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kUnavailable: return "TEMPORARILY_UNAVAILABLE";
    case StatusCode::kInternal: return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

HttpResponse ErrorResponse(const Status& status) {
  return HttpResponse::FromJson({{"error_code", ApiErrorCode(status)}, {"message", status.message()}},
                                HttpStatusFor(status));
}

}  // namespace kiln::server
