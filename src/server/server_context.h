// What every route handler shares: the ledger, catalog, manager, scheduler, metrics and the
// server's limits. Built by `seer serve` (or a test), then handed to HttpServer.
//
//   ServerContext ctx{.ledger = ledger, .catalog = *catalog, .manager = manager,
//                     .scheduler = scheduler, .metrics = metrics, .limits = {}};
//   HttpServer server(ctx, {.host = "127.0.0.1", .port = 2020});
//
// The referenced objects must outlive the HttpServer. All of them are thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "memory/ledger.h"
#include "runtime/model_catalog.h"
#include "runtime/model_manager.h"
#include "runtime/scheduler/scheduler.h"
#include "server/metrics.h"

namespace seer {

struct ServerLimits {
  uint64_t max_body_bytes = 256ull << 20;   // whole request (413 above; httplib enforces it)
  uint64_t max_image_bytes = 32ull << 20;   // one decoded image
  int max_images = 256;                     // per batch request
};

struct ServerContext {
  MemoryLedger& ledger;
  ModelCatalog& catalog;
  ModelManager& manager;
  Scheduler& scheduler;
  Metrics& metrics;
  ServerLimits limits;
};

}  // namespace seer
