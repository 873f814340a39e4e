#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace seer {

namespace {
const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10,   30};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128};

std::string fmt_double(double v) { return fmt::format("{}", v); }
}  // namespace

std::string prometheus_escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}

void Histogram::observe(double v) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      buckets_[i]++;
      break;
    }
  }
  sum_ += v;
  count_++;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, fmt_double(bounds_[i]), cumulative);
  }
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, fmt_double(sum_));
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, count_);
}

void Metrics::observe_request(const std::string& route, const std::string& model, int code, double seconds) {
  std::lock_guard lock(mu_);
  requests_[{route, model, code}]++;
  latency_.try_emplace({route, model}, kLatencyBounds).first->second.observe(seconds);
}

void Metrics::set_http_threads(uint64_t alive, uint64_t peak, uint64_t max) {
  std::lock_guard lock(mu_);
  http_threads_ = {alive, peak, max};
}

HttpThreads Metrics::http_threads() const {
  std::lock_guard lock(mu_);
  return http_threads_;
}

void Metrics::observe_batch(const std::string& model, int size, double run_ms) {
  std::lock_guard lock(mu_);
  batch_size_.try_emplace(model, kBatchBounds).first->second.observe(size);
  batch_time_.try_emplace(model, kLatencyBounds).first->second.observe(run_ms / 1000.0);
  batch_sizes_exact_[model][size]++;
}

uint64_t Metrics::batches_at_least(const std::string& model, int size) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  auto it = batch_sizes_exact_.find(model);
  if (it == batch_sizes_exact_.end()) return 0;
  for (const auto& [s, c] : it->second) {
    if (s >= size) n += c;
  }
  return n;
}

std::string Metrics::render(const MetricsGauges& g) const {
  std::string out;
  auto esc = prometheus_escape;
  std::lock_guard lock(mu_);
  out += "# HELP seer_requests_total HTTP requests by route, model and status code.\n"
         "# TYPE seer_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, model, code] = key;
    out += fmt::format("seer_requests_total{{route=\"{}\",model=\"{}\",code=\"{}\"}} {}\n", esc(route), esc(model),
                       code, n);
  }
  out += "# HELP seer_request_duration_seconds Request latency by route and model.\n"
         "# TYPE seer_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    h.render(out, "seer_request_duration_seconds",
             fmt::format("route=\"{}\",model=\"{}\"", esc(key.first), esc(key.second)));
  }
  out += "# HELP seer_batch_size Requests per executed batch.\n# TYPE seer_batch_size histogram\n";
  for (const auto& [model, h] : batch_size_) h.render(out, "seer_batch_size", fmt::format("model=\"{}\"", esc(model)));
  out += "# HELP seer_batch_duration_seconds Time to run one batch.\n"
         "# TYPE seer_batch_duration_seconds histogram\n";
  for (const auto& [model, h] : batch_time_) {
    h.render(out, "seer_batch_duration_seconds", fmt::format("model=\"{}\"", esc(model)));
  }
  out += "# HELP seer_queue_depth Requests waiting per model.\n# TYPE seer_queue_depth gauge\n";
  for (const auto& [model, d] : g.queue_depth) {
    out += fmt::format("seer_queue_depth{{model=\"{}\"}} {}\n", esc(model), d);
  }
  out += "# HELP seer_memory_bytes Ledger bytes by device, owner and tag.\n# TYPE seer_memory_bytes gauge\n";
  for (const auto& m : g.memory) {
    out += fmt::format("seer_memory_bytes{{device=\"{}\",model=\"{}\",tag=\"{}\"}} {}\n", esc(m.device),
                       esc(m.model), esc(m.tag), m.bytes);
  }
  out += "# HELP seer_memory_budget_bytes Memory budget per device.\n# TYPE seer_memory_budget_bytes gauge\n";
  for (const auto& [dev, b] : g.budget_bytes) {
    out += fmt::format("seer_memory_budget_bytes{{device=\"{}\"}} {}\n", esc(dev), b);
  }
  auto scalar = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
  };
  scalar("seer_ghost_bytes", "gauge", "Resident bytes the ledger does not account for (RSS - baseline - ledger).",
         g.ghost_bytes);
  scalar("seer_process_resident_bytes", "gauge", "Resident set size of the process.", g.rss_bytes);
  scalar("seer_model_loads_total", "counter", "Successful model loads.", g.loads);
  scalar("seer_model_load_failures_total", "counter", "Failed model loads.", g.load_failures);
  scalar("seer_model_evictions_total", "counter", "Models evicted to make room.", g.evictions);
  scalar("seer_model_unloads_total", "counter", "Model unloads (any reason).", g.unloads);
  scalar("seer_rejections_total", "counter", "Requests refused because a queue was full or the server drained.",
         g.rejections);
  scalar("seer_catalog_scans_total", "counter", "Full scans of the models dir.", g.scans);
  scalar("seer_jobs_cancelled_total", "counter",
         "Queued jobs dropped without running because their client closed the connection.", g.jobs_cancelled);
  scalar("seer_jobs_expired_total", "counter", "Queued jobs dropped without running because their timeout passed.",
         g.jobs_expired);
  scalar("seer_ghost_events_total", "counter", "Ghost memory checks that found more than the threshold.",
         g.ghost_events);
  scalar("seer_ghost_trims_total", "counter", "Allocator trims triggered by ghost memory.", g.trims);
  const HttpThreads& h = http_threads_;  // mu_ is held
  scalar("seer_http_connection_threads", "gauge", "HTTP threads alive (one per open connection, some idle).",
         h.alive);
  scalar("seer_http_connection_threads_peak", "gauge", "The most HTTP threads alive at once.", h.peak);
  scalar("seer_http_connection_threads_max", "gauge", "Open connections served at once; more wait unread.", h.max);
  return out;
}

}  // namespace seer
