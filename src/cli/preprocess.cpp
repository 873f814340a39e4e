#include "cli/commands.h"

namespace seer::cli {

void register_preprocess(CLI::App& app, CliContext& ctx) {
  add_pending_command(app, ctx, "preprocess", "decode and preprocess an image into a model's input tensor (.npy)", "image decode and preprocessing: issue 5");
}

}  // namespace seer::cli
