// Helpers shared by the route files: JSON replies, error replies (the one Status -> HTTP path),
// and choosing the model a request names (or, when it names none, a suitable one).
// Internal to src/server/. Thread-safe.
#pragma once

#include <httplib.h>

#include <initializer_list>
#include <string>

#include "runtime/model_backend.h"
#include "server/api_json.h"
#include "server/server_context.h"

namespace seer {

void reply_json(httplib::Response& res, const OrderedJson& body, int status = 200);
// Status -> http_status(code), {"error": {...}}, and Retry-After on 503.
void reply_error(httplib::Response& res, const Status& status);
// The header that carries the model id to the metrics (set by handlers that use a model).
inline constexpr const char* kModelHeader = "X-Seer-Model";
inline constexpr int kRetryAfterSeconds = 1;

// The catalog model a request asks for, checked against the kinds the route serves. With no
// `requested` id: the most recently used ready model of those kinds, else the first in the
// catalog, else NotFound.
StatusOr<ModelDescriptor> resolve_model(ServerContext& ctx, const std::string& requested,
                                        std::initializer_list<ModelKind> kinds, const char* route);

void register_system_routes(httplib::Server& http, ServerContext& ctx);
void register_model_routes(httplib::Server& http, ServerContext& ctx);
void register_inference_routes(httplib::Server& http, ServerContext& ctx);
void register_classify_routes(httplib::Server& http, ServerContext& ctx);  // routes_classify.cpp

}  // namespace seer
