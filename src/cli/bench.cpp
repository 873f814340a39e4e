#include "cli/commands.h"

namespace seer::cli {

void register_bench(CLI::App& app, CliContext& ctx) {
  add_pending_command(app, ctx, "bench", "benchmark a model's inference speed", "the engine benchmark: issue 4");
}

}  // namespace seer::cli
