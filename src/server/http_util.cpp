#include "server/http_util.h"

#include <algorithm>

namespace seer {

void reply_json(httplib::Response& res, const OrderedJson& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, const Status& status) {
  const Status s = status.ok() ? Status::internal("an error without a code") : status;
  if (s.code() == StatusCode::kUnavailable) res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
  reply_json(res, error_body(s), http_status(s.code()));
}

StatusOr<ModelDescriptor> resolve_model(ServerContext& ctx, const std::string& requested,
                                        std::initializer_list<ModelKind> kinds, const char* route) {
  auto allowed = [&](ModelKind k) { return std::find(kinds.begin(), kinds.end(), k) != kinds.end(); };
  std::string kind_names;
  for (ModelKind k : kinds) kind_names += (kind_names.empty() ? "" : " or ") + std::string(to_string(k));
  if (!requested.empty()) {
    std::optional<ModelDescriptor> d = ctx.catalog.find(requested);
    if (!d) return Status::not_found("unknown model '{}' (GET /v1/models lists them)", requested);
    if (!allowed(d->kind)) {
      return Status::invalid_argument("model '{}' is a {}; {} needs a {}", requested, to_string(d->kind), route,
                                      kind_names);
    }
    return *d;
  }
  std::optional<ModelInfo> best;
  for (ModelInfo& m : ctx.manager.models()) {
    if (!allowed(m.descriptor.kind)) continue;
    if (m.state == ModelState::kReady && (!best || best->state != ModelState::kReady || m.last_used > best->last_used)) {
      best = std::move(m);
    } else if (!best) {
      best = std::move(m);
    }
  }
  if (!best) return Status::not_found("no {} model under the models dir; {} needs one", kind_names, route);
  return best->descriptor;
}

}  // namespace seer
