#include "cli/commands.h"

namespace seer::cli {

void register_models(CLI::App& app, CliContext& ctx) {
  add_pending_command(app, ctx, "models", "list the models found under the models dir", "the model catalog: issue 7");
}

}  // namespace seer::cli
