// The engine choice (precision, weights mode, pack cache folder) from the config, for the
// commands that load models (serve, tag, classify); `seer bench` and `seer onnx-run` build
// theirs from their own flags with engine::EngineChoice::parse.
//
//   SEER_ASSIGN_OR_RETURN(engine::EngineChoice choice, cli::engine_choice(cfg));
#pragma once

#include "core/config.h"
#include "core/status.h"
#include "engine/model.h"

namespace seer::cli {

// Config keys `precision`, `weights` and `pack_cache` ("off" disables the cache).
StatusOr<engine::EngineChoice> engine_choice(const Config& config);

}  // namespace seer::cli
