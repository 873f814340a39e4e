// GET /health, GET /v1/status, GET /metrics: what the server is and what holds the memory.
#include "memory/probes.h"
#include "server/http_util.h"
#include "server/routes_web.h"

namespace seer {

namespace {

MetricsGauges gather_gauges(ServerContext& ctx) {
  MetricsGauges g;
  g.queue_depth = ctx.scheduler.queue_depths();
  for (const auto& e : ctx.ledger.entries()) {
    g.memory.push_back({e.device.to_string(), e.owner, std::string(to_string(e.tag)), e.bytes});
  }
  for (const auto& d : ctx.ledger.devices()) g.budget_bytes[d.device.id.to_string()] = d.budget_bytes;
  const ManagerCounters c = ctx.manager.counters();
  g.ghost_bytes = c.ghost_bytes;
  g.loads = c.loads;
  g.load_failures = c.load_failures;
  g.evictions = c.evictions;
  g.unloads = c.unloads;
  g.trims = c.trims;
  g.ghost_events = c.ghost_events;
  g.rejections = ctx.scheduler.rejections();
  g.jobs_cancelled = ctx.scheduler.dropped_cancelled();
  g.jobs_expired = ctx.scheduler.dropped_expired();
  g.scans = ctx.catalog.scan_count();
  g.rss_bytes = read_process_memory().rss_bytes;
  return g;
}

OrderedJson status_json(ServerContext& ctx) {
  OrderedJson o;
  o["server"] = "seer";
  o["version"] = SEER_VERSION;
  OrderedJson devices = OrderedJson::array();
  for (const auto& d : ctx.ledger.devices()) {
    devices.push_back({{"id", d.device.id.to_string()},
                       {"name", d.device.name},
                       {"capacity_bytes", d.device.capacity_bytes},
                       {"budget_bytes", d.budget_bytes},
                       {"used_bytes", d.used_bytes},
                       {"reserved_bytes", d.reserved_bytes},
                       {"available_bytes", d.available_bytes()},
                       {"peak_bytes", d.peak_bytes}});
  }
  o["devices"] = std::move(devices);
  o["memory_budget_bytes"] = ctx.ledger.device_usage(ctx.manager.options().device).ok()
                                 ? ctx.ledger.device_usage(ctx.manager.options().device)->budget_bytes
                                 : 0;
  // The ledger by model x tag: who holds what, from the buffers themselves.
  OrderedJson ledger = OrderedJson::object();
  for (const auto& e : ctx.ledger.entries()) {
    ledger[e.owner][std::string(to_string(e.tag))] = e.bytes;
  }
  o["ledger"] = std::move(ledger);
  o["ledger_total_bytes"] = ctx.ledger.total_bytes();
  const ProcessMemory proc = read_process_memory();
  const SystemMemory sys = read_system_memory();
  o["process"] = {{"rss_bytes", proc.rss_bytes}, {"peak_rss_bytes", read_peak_rss_bytes()}};
  o["system"] = {{"total_bytes", sys.total_bytes},
                 {"available_bytes", sys.available_bytes},
                 {"used_percent", sys.used_percent()}};
  const ManagerCounters c = ctx.manager.counters();
  o["ghost"] = {{"bytes", c.ghost_bytes},
                {"threshold_bytes", ctx.manager.options().ghost_threshold_bytes},
                {"baseline_rss_bytes", c.baseline_rss_bytes},
                {"checks", c.ghost_checks},
                {"events", c.ghost_events},
                {"trims", c.trims}};
  OrderedJson queues = OrderedJson::object();
  for (const auto& [m, d] : ctx.scheduler.queue_depths()) queues[m] = d;
  o["queues"] = std::move(queues);
  o["max_queue"] = ctx.scheduler.max_queue();
  const HttpThreads h = ctx.metrics.http_threads();
  o["http"] = {{"connection_threads", h.alive}, {"peak_connection_threads", h.peak}, {"max_connection_threads", h.max}};
  o["rejections"] = ctx.scheduler.rejections();
  OrderedJson loaded = OrderedJson::array();
  for (const ModelInfo& m : ctx.manager.models()) {
    if (m.state == ModelState::kLoading || m.state == ModelState::kReady || m.state == ModelState::kUnloading) {
      loaded.push_back({{"id", m.descriptor.id},
                        {"state", std::string(to_string(m.state))},
                        {"max_batch", m.max_batch},
                        {"planned_bytes", m.planned_bytes},
                        {"jobs", m.leases},
                        {"pinned", m.pinned}});
    }
  }
  o["loaded"] = std::move(loaded);
  o["counters"] = {{"loads", c.loads},
                   {"load_failures", c.load_failures},
                   {"unloads", c.unloads},
                   {"evictions", c.evictions},
                   {"catalog_scans", ctx.catalog.scan_count()}};
  return o;
}

}  // namespace

void register_system_routes(httplib::Server& http, ServerContext& ctx) {
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    OrderedJson o;
    o["status"] = "ok";
    o["server"] = "seer";
    o["version"] = SEER_VERSION;
    reply_json(res, o);
  });
  register_web_routes(http);  // GET / and /status: the status page (routes_web.cpp)
  http.Get("/v1/status", [&ctx](const httplib::Request&, httplib::Response& res) { reply_json(res, status_json(ctx)); });
  http.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx.metrics.render(gather_gauges(ctx)), "text/plain; version=0.0.4");
  });
}

}  // namespace seer
