#include "cli/engine_choice.h"

namespace seer::cli {

StatusOr<engine::EngineChoice> engine_choice(const Config& config) {
  SEER_ASSIGN_OR_RETURN(engine::EngineChoice choice, engine::EngineChoice::parse(config.precision, config.weights));
  if (config.pack_cache != "off") choice.pack_cache_dir = config.pack_cache;
  return choice;
}

}  // namespace seer::cli
