// GET /v1/models, POST /v1/models/load|unload|switch|refresh, POST /v1/system/unload.
#include <ctime>

#include "core/units.h"
#include "memory/probes.h"
#include "server/http_util.h"

namespace seer {

namespace {

std::string iso8601(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

OrderedJson model_json(const ModelInfo& m) {
  OrderedJson o;
  o["id"] = m.descriptor.id;
  o["name"] = m.descriptor.alias.empty() ? m.descriptor.id : m.descriptor.alias;
  o["kind"] = std::string(to_string(m.descriptor.kind));
  o["format"] = m.descriptor.format;
  o["size_bytes"] = m.descriptor.size_bytes;
  o["state"] = std::string(to_string(m.state));
  o["reason"] = m.reason.empty() ? OrderedJson() : OrderedJson(m.reason);
  OrderedJson mem = OrderedJson::object();
  for (const auto& [tag, bytes] : m.memory) mem[std::string(to_string(tag))] = bytes;
  o["memory"] = std::move(mem);
  o["last_used"] = m.last_used ? OrderedJson(iso8601(*m.last_used)) : OrderedJson();
  o["keep_alive"] = m.keep_alive_s;
  o["pinned"] = m.pinned;
  o["max_batch"] = m.max_batch;
  o["loadable"] = m.has_backend;
  return o;
}

OrderedJson models_json(ServerContext& ctx) {
  OrderedJson list = OrderedJson::array();
  for (const ModelInfo& m : ctx.manager.models()) list.push_back(model_json(m));
  OrderedJson o;
  o["models"] = std::move(list);
  return o;
}

StatusOr<std::string> required_model(const nlohmann::json& body) {
  auto it = body.find("model");
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    return Status::invalid_argument("'model' (a model id from GET /v1/models) is required");
  }
  return it->get<std::string>();
}

StatusOr<ModelLoadOptions> load_options(const nlohmann::json& body) {
  ModelLoadOptions o;
  if (auto it = body.find("keep_alive"); it != body.end() && !it->is_null()) {
    if (it->is_number_integer()) {
      o.keep_alive_s = it->get<int64_t>() < 0 ? -1 : it->get<int64_t>();
    } else if (it->is_string()) {
      SEER_ASSIGN_OR_RETURN(int64_t s, parse_duration_seconds(it->get<std::string>()));
      o.keep_alive_s = s;
    } else {
      return Status::invalid_argument("'keep_alive' must be seconds or a duration such as \"5m\" (-1: never)");
    }
  }
  if (auto it = body.find("pin"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::invalid_argument("'pin' must be true or false");
    o.pin = it->get<bool>();
  }
  return o;
}

// Wraps a handler body that returns a Status-or-JSON into a reply.
template <typename F>
httplib::Server::Handler json_route(F f) {
  return [f](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_json_body(req.body);
    if (!body.ok()) return reply_error(res, body.status());
    StatusOr<OrderedJson> out = f(*body, res);
    if (!out.ok()) return reply_error(res, out.status());
    reply_json(res, *out);
  };
}

}  // namespace

void register_model_routes(httplib::Server& http, ServerContext& ctx) {
  http.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) { reply_json(res, models_json(ctx)); });

  http.Post("/v1/models/refresh", json_route([&ctx](const nlohmann::json&, httplib::Response&) -> StatusOr<OrderedJson> {
              SEER_RETURN_IF_ERROR(ctx.catalog.refresh());
              return models_json(ctx);
            }));

  http.Post("/v1/models/load", json_route([&ctx](const nlohmann::json& body, httplib::Response& res) -> StatusOr<OrderedJson> {
              SEER_ASSIGN_OR_RETURN(std::string id, required_model(body));
              SEER_ASSIGN_OR_RETURN(ModelLoadOptions opt, load_options(body));
              res.set_header(kModelHeader, id);
              SEER_RETURN_IF_ERROR(ctx.manager.load(id, opt));
              auto info = ctx.manager.info(id);
              if (!info) return Status::not_found("unknown model '{}'", id);
              OrderedJson o;
              o["status"] = "success";
              o["model"] = model_json(*info);
              return o;
            }));

  http.Post("/v1/models/unload", json_route([&ctx](const nlohmann::json& body, httplib::Response& res) -> StatusOr<OrderedJson> {
              SEER_ASSIGN_OR_RETURN(std::string id, required_model(body));
              res.set_header(kModelHeader, id);
              SEER_RETURN_IF_ERROR(ctx.manager.unload(id));
              OrderedJson o;
              o["status"] = "success";
              o["model"] = id;
              return o;
            }));

  http.Post("/v1/models/switch", json_route([&ctx](const nlohmann::json& body, httplib::Response& res) -> StatusOr<OrderedJson> {
              SEER_ASSIGN_OR_RETURN(std::string id, required_model(body));
              SEER_ASSIGN_OR_RETURN(ModelLoadOptions opt, load_options(body));
              res.set_header(kModelHeader, id);
              SEER_RETURN_IF_ERROR(ctx.manager.switch_to(id, opt));
              auto info = ctx.manager.info(id);
              if (!info) return Status::not_found("unknown model '{}'", id);
              uint64_t bytes = 0;
              for (const auto& [tag, b] : info->memory) bytes += b;
              // The fork's shape ({status, model, vram_mb, ram_mb}): here both are the ledger's bytes
              // for the model on its device (the CPU until accelerators exist).
              OrderedJson o;
              o["status"] = "success";
              o["model"] = info->descriptor.id;
              o["vram_mb"] = bytes >> 20;
              o["ram_mb"] = read_process_memory().rss_bytes >> 20;
              return o;
            }));

  http.Post("/v1/system/unload", json_route([&ctx](const nlohmann::json&, httplib::Response&) -> StatusOr<OrderedJson> {
              SEER_RETURN_IF_ERROR(ctx.manager.unload_all());
              OrderedJson o;
              o["status"] = "success";
              o["message"] = "All models unloaded";
              o["ledger_bytes"] = ctx.ledger.total_bytes();
              return o;
            }));
}

}  // namespace seer
