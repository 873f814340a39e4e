#include "server/http_server.h"

#include <arpa/inet.h>

#include <chrono>

#include "core/log.h"
#include "memory/probes.h"
#include "server/http_util.h"
#include "server/routes_web.h"

namespace seer {

namespace {

using Clock = std::chrono::steady_clock;
// Handlers of one request run on one httplib thread, from pre-routing to post-routing.
thread_local Clock::time_point t_request_start;

constexpr uint64_t kMiB = 1 << 20;

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Known routes keep their path as the metrics label; anything else is "other" (no label explosion).
std::string route_label(const std::string& path) {
  static const char* kRoutes[] = {"/health", "/metrics", "/v1/models", "/v1/models/load", "/v1/models/unload",
                                  "/v1/models/switch", "/v1/models/refresh", "/v1/system/unload", "/v1/status",
                                  "/v1/caption", "/v1/vision/batch-caption", "/v1/batch-caption", "/v1/tag", "/v1/classify",
                                  "/v1/chat/completions"};
  for (const char* r : kRoutes) {
    if (path == r) return path;
  }
  return "other";
}

void add_memory_headers(ServerContext& ctx, httplib::Response& res) {
  // No accelerator yet: the "VRAM" figures are the CPU device's budget and ledger (documented).
  uint64_t used = 0, total = 0;
  if (auto u = ctx.ledger.device_usage(ctx.manager.options().device); u.ok()) {
    used = u->used_bytes + u->reserved_bytes;
    total = u->budget_bytes;
  }
  const SystemMemory sys = read_system_memory();
  const ProcessMemory proc = read_process_memory();
  res.set_header("X-VRAM-Used", std::to_string(used / kMiB));
  res.set_header("X-VRAM-Total", std::to_string(total / kMiB));
  res.set_header("X-RAM-Used", std::to_string(proc.rss_bytes / kMiB));
  res.set_header("X-RAM-Total", std::to_string(sys.total_bytes / kMiB));
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

HttpServer::HttpServer(ServerContext& ctx, HttpOptions options)
    : ctx_(ctx), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::install_routes() {
  httplib::Server& http = *http_;
  const int threads = options_.threads > 0 ? options_.threads : 64;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(ctx_.limits.max_body_bytes);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK add ~40 ms to every small response.
  http.set_tcp_nodelay(true);
  http.set_read_timeout(60);
  http.set_write_timeout(60);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    // The status page's files are public (they hold no data); the data routes it calls are not.
    if (options_.api_key.empty() || req.path == "/health" || is_public_web_path(req.path)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) == 0 && constant_time_equal(auth.substr(prefix.size()), options_.api_key)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    reply_error(res, Status::unauthenticated("this server needs 'Authorization: Bearer <api key>'"));
    return httplib::Server::HandlerResponse::Handled;
  });

  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // a handler's own error
    Status s = res.status == 413 ? Status::payload_too_large("the request body is over the limit")
             : res.status == 404 ? Status::not_found("no route {} {}", req.method, req.path)
             : res.status == 405 ? Status::not_found("method {} not allowed on {}", req.method, req.path)
                                 : Status::invalid_argument("bad request ({})", res.status);
    const int code = res.status;
    reply_error(res, s);
    res.status = code;
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::error("handler threw: {}", what);
    reply_error(res, Status::internal("{}", what));
  });

  http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    add_memory_headers(ctx_, res);
    const double s = std::chrono::duration<double>(Clock::now() - t_request_start).count();
    ctx_.metrics.observe_request(route_label(req.path), res.get_header_value(kModelHeader), res.status, s);
  });

  register_system_routes(http, ctx_);
  register_model_routes(http, ctx_);
  register_inference_routes(http, ctx_);
  register_classify_routes(http, ctx_);
}

Status HttpServer::bind() {
  if (!is_loopback_host(options_.host) && options_.api_key.empty() && !options_.insecure) {
    return Status::invalid_argument(
        "refusing to listen on non-loopback address {} without --api-key (or --insecure to accept the risk)",
        options_.host);
  }
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) return Status::unavailable("cannot bind {} to any port", options_.host);
  } else {
    if (!http_->bind_to_port(options_.host, options_.port)) {
      return Status::unavailable("cannot bind {}:{} (in use, or not an address of this machine)", options_.host,
                                 options_.port);
    }
    port_ = options_.port;
  }
  log::info("listening on http://{}:{}{}", options_.host, port_, options_.api_key.empty() ? "" : " (API key required)");
  return {};
}

void HttpServer::run() { http_->listen_after_bind(); }

bool HttpServer::running() const { return http_ && http_->is_running(); }

void HttpServer::stop() {
  if (http_ && http_->is_running()) http_->stop();
}

}  // namespace seer
