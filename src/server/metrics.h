// Prometheus metrics of the server: counters and histograms recorded as requests and batches
// happen, plus gauges read at scrape time from the ledger, manager and scheduler.
//
//   metrics.observe_request("/v1/tag", "wd14", 200, 0.012);
//   metrics.observe_batch("wd14", 8, 35.0);
//   std::string text = metrics.render(gauges);   // text/plain; version=0.0.4
//
// Series (all prefixed seer_): requests_total{route,model,code},
// request_duration_seconds{route,model} (histogram), batch_size{model} (histogram),
// batch_duration_seconds{model} (histogram), and from MetricsGauges: queue_depth{model},
// memory_bytes{device,model,tag}, memory_budget_bytes{device}, ghost_bytes,
// model_loads_total, model_load_failures_total, model_evictions_total, model_unloads_total,
// rejections_total, catalog_scans_total, ghost_events_total, ghost_trims_total, process_resident_bytes,
// http_connection_threads, http_connection_threads_peak, http_connection_threads_max,
// jobs_cancelled_total (client gone: dropped from the queue, never run), jobs_expired_total.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace seer {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Appends name_bucket{labels,le=..}, name_sum, name_count lines.
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // cumulative at render
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct MetricsGauges {
  std::map<std::string, int> queue_depth;  // by model
  struct Memory {
    std::string device, model, tag;
    uint64_t bytes = 0;
  };
  std::vector<Memory> memory;
  std::map<std::string, uint64_t> budget_bytes;  // by device
  uint64_t ghost_bytes = 0;
  uint64_t loads = 0, load_failures = 0, evictions = 0, unloads = 0, rejections = 0, scans = 0, trims = 0;
  uint64_t jobs_cancelled = 0, jobs_expired = 0;
  uint64_t rss_bytes = 0;
  uint64_t ghost_events = 0;  // checks that found ghost memory above the threshold
};

// The HTTP server's connection threads (one per open connection; see connection_pool.h).
struct HttpThreads {
  uint64_t alive = 0, peak = 0, max = 0;
};

class Metrics {
 public:
  void observe_request(const std::string& route, const std::string& model, int code, double seconds);
  void observe_batch(const std::string& model, int size, double run_ms);
  std::string render(const MetricsGauges& gauges) const;
  // Set by the HTTP server's connection pool as threads start and exit.
  void set_http_threads(uint64_t alive, uint64_t peak, uint64_t max);
  HttpThreads http_threads() const;
  // For tests: the number of batches of exactly/at least this size seen for a model.
  uint64_t batches_at_least(const std::string& model, int size) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, Histogram> batch_size_;
  std::map<std::string, Histogram> batch_time_;
  std::map<std::string, std::map<int, uint64_t>> batch_sizes_exact_;
  HttpThreads http_threads_;
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string prometheus_escape(const std::string& value);

}  // namespace seer
