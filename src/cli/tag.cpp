#include "cli/commands.h"

namespace seer::cli {

void register_tag(CLI::App& app, CliContext& ctx) {
  add_pending_command(app, ctx, "tag", "tag images or folders with a WD14 tagger", "the WD14 tagger and batch pipeline: issue 6");
}

}  // namespace seer::cli
