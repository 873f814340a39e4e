#include "server/http_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/log.h"
#include "memory/probes.h"
#include "server/connection_pool.h"
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
  // One thread per open connection, started when a connection arrives and none is idle: with
  // httplib's fixed pool, connection N+1 waited unread until one of the N closed (a keep-alive
  // client holds its thread between requests too).
  const size_t max_threads = static_cast<size_t>(options_.max_connections > 0 ? options_.max_connections : 1024);
  Metrics* metrics = &ctx_.metrics;
  http.new_task_queue = [max_threads, metrics] {
    ConnectionPoolOptions o;
    o.max_threads = max_threads;
    o.on_threads = [metrics, max_threads](size_t alive, size_t peak) {
      metrics->set_http_threads(alive, peak, max_threads);
    };
    return new ConnectionPool(std::move(o));
  };
  metrics->set_http_threads(0, 0, max_threads);
  // httplib 0.11 closes a connection after 5 requests (Connection: close), which makes every
  // keep-alive client reconnect and go through the listen queue again; with a thread per
  // connection there is no fairness to buy with that.
  http.set_keep_alive_max_count(static_cast<size_t>(std::max(1, options_.keep_alive_requests)));
  http.set_keep_alive_timeout(options_.keep_alive_idle_s);
  // The hook runs on the listening socket before bind (httplib's default would set SO_REUSEADDR
  // and SO_REUSEPORT; without SO_REUSEPORT a second server on the same port fails to bind instead
  // of silently sharing it). bind() then raises the listen backlog on this socket.
  http.set_socket_options([this](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (listen_fd_ < 0) listen_fd_ = fd;
  });
  http.set_payload_max_length(ctx_.limits.max_body_bytes);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK add ~40 ms to every small response.
  http.set_tcp_nodelay(true);
  // Reading a request / writing a response, not the time a request waits for inference.
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
  // httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
  // library): a burst of clients overflows it and the kernel drops their SYNs, each costing the
  // client a 1 s (then 3 s, 7 s) retransmit. listen() on a listening socket only changes the
  // backlog (Linux); the kernel caps it at net.core.somaxconn.
  int accepting = 0;
  socklen_t len = sizeof accepting;
  if (listen_fd_ >= 0 && ::getsockopt(listen_fd_, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting) {
    if (::listen(listen_fd_, std::max(1, options_.listen_backlog)) != 0) {
      log::warn("cannot raise the listen backlog to {}: {}", options_.listen_backlog, std::strerror(errno));
    }
  } else {
    log::warn("listening socket not found: the listen backlog stays httplib's 5");
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
