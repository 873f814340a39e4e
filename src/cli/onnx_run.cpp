#include "cli/commands.h"

namespace seer::cli {

void register_onnx_run(CLI::App& app, CliContext& ctx) {
  add_pending_command(app, ctx, "onnx-run", "run an ONNX graph on .npy inputs and write its outputs", "the ONNX engine: issue 4");
}

}  // namespace seer::cli
