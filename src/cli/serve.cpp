#include "cli/commands.h"

namespace seer::cli {

void register_serve(CLI::App& app, CliContext& ctx) {
  add_pending_command(app, ctx, "serve", "serve the HTTP API (Moondream Station compatible, port 2020)", "the server: issue 7");
}

}  // namespace seer::cli
