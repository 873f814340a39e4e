// `seer serve`: the HTTP API. Wires the ledger, catalog, manager, scheduler and HTTP server
// together, serves until SIGINT/SIGTERM, then drains (in-flight requests finish) and exits 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "cli/commands.h"
#include "cli/engine_choice.h"
#include "core/config.h"
#include "core/log.h"
#include "memory/probes.h"
#include "runtime/classifier_backend.h"
#include "runtime/model_catalog.h"
#include "runtime/model_manager.h"
#include "runtime/scheduler/scheduler.h"
#include "runtime/tagger_backend.h"
#include "server/http_server.h"

namespace seer::cli {

namespace {

int serve(CliContext& ctx, bool insecure) {
  ConfigSources src;
  if (!ctx.config_file.empty()) src.file = ctx.config_file;
  src.env = environment_map();
  src.flags = ctx.flags;
  auto cfg = load_config(src);
  if (!cfg.ok()) {
    log::error("{}", cfg.status().message());
    return 2;
  }

  // Signals are taken by one thread with sigwait: block them here, before any thread starts,
  // so that every thread inherits the mask.
  // A handler (not SIG_IGN, which a background launch may have inherited) keeps the signals
  // pending for sigtimedwait.
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  MemoryLedger ledger;
  const DeviceId cpu{};
  uint64_t budget = cfg->memory_budget;
  if (budget == 0) budget = read_system_memory().total_bytes / 5 * 4;  // 80 % of RAM
  if (Status s = ledger.set_budget(cpu, budget); !s.ok()) {
    log::error("{}", s.message());
    return 2;
  }

  // Model families register here as they are built (src/models/<family>); until then the
  // catalog lists recognised folders that cannot load yet.
  ModelFamilyRegistry families = default_family_registry();
  auto choice = engine_choice(*cfg);
  if (!choice.ok()) {
    log::error("{}", choice.status().message());
    return 2;
  }
  families.add(tagger_family(ledger, *choice));
  families.add(classifier_family(ledger, *choice));
  CatalogOptions catalog_opt;
  catalog_opt.models_dir = cfg->models_dir;
  auto catalog = ModelCatalog::open(catalog_opt, families);
  if (!catalog.ok()) {
    log::error("{}", catalog.status().message());
    return 1;
  }
  ManagerOptions manager_opt;
  manager_opt.device = cpu;
  manager_opt.max_batch = cfg->max_batch;
  manager_opt.keep_alive_s = cfg->keep_alive_s;
  manager_opt.ghost_threshold_bytes = cfg->ghost_threshold;
  ModelManager manager(ledger, **catalog, families, manager_opt);
  SchedulerOptions scheduler_opt;
  scheduler_opt.max_queue = cfg->max_queue;
  scheduler_opt.batch_delay = std::chrono::microseconds(int64_t{cfg->batch_delay_ms} * 1000);
  Scheduler scheduler(scheduler_opt);
  Metrics metrics;
  scheduler.set_batch_observer([&metrics](const BatchEvent& e) { metrics.observe_batch(e.model, e.size, e.run_ms); });
  ServerContext sctx{ledger, **catalog, manager, scheduler, metrics, ServerLimits{}};
  HttpOptions http_opt;
  http_opt.host = cfg->host;
  http_opt.port = cfg->port;
  http_opt.api_key = cfg->api_key;
  http_opt.insecure = insecure;
  HttpServer server(sctx, http_opt);
  if (Status s = server.bind(); !s.ok()) {
    log::error("{}", s.message());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  log_ram("serve start", ledger);
  log::info("models dir {}: {} models; memory budget {}", (*catalog)->models_dir().string(),
            (*catalog)->list().size(), format_bytes(budget));

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        log::info("signal {}: draining (no new connections; in-flight requests finish)", sig);
        server.stop();
        return;
      }
    }
  });
  server.run();  // returns after stop(), once in-flight requests are answered
  done = true;
  signal_thread.join();
  scheduler.drain();
  manager.shutdown();
  log_ram("serve end", ledger);
  return 0;
}

}  // namespace

void register_serve(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand("serve", "serve the HTTP API (Moondream Station compatible, port 2020)");
  add_config_flags(cmd, ctx,
                   {"host", "port", "models_dir", "memory_budget", "max_queue", "max_batch", "batch_delay_ms",
                    "keep_alive", "api_key", "threads", "precision", "weights", "pack_cache", "ghost_threshold"});
  auto insecure = std::make_shared<bool>(false);
  cmd->add_flag("--insecure", *insecure, "allow a non-loopback --host without --api-key");
  cmd->callback([&ctx, insecure] { ctx.exit_code = serve(ctx, *insecure); });
}

}  // namespace seer::cli
