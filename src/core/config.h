// seer's settings and where they come from. Later sources win:
//   built-in defaults < config file < environment (SEER_*) < command-line flags
//
// The config file is JSON: `--config FILE`, else $SEER_CONFIG, else ~/.config/seer/config.json
// (absent is fine). Keys are the snake_case names below; values are strings or numbers:
//   {"port": 2021, "memory_budget": "8GiB", "keep_alive": "10m", "models_dir": "/data/models"}
// Each key `k` has the environment variable SEER_<K> (SEER_MEMORY_BUDGET=8GiB) and the flag --k
// with dashes (--memory-budget 8GiB). An unknown key in the file, or a bad value anywhere, is an
// InvalidArgument that names the source.
//
//   ConfigSources src{.file = flag_config_path, .env = environ_map(), .flags = parsed_flags};
//   SEER_ASSIGN_OR_RETURN(Config cfg, load_config(src));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace seer {

struct Config {
  std::string host = "127.0.0.1";
  int port = 2020;
  std::string models_dir;        // default: $XDG_DATA_HOME/seer/models or ~/.local/share/seer/models
  uint64_t memory_budget = 0;    // bytes for models on the CPU device; 0 = 80% of MemTotal
  int max_queue = 256;           // per model
  int max_batch = 0;             // 0 = the largest the budget allows
  int batch_delay_ms = 2;
  int64_t keep_alive_s = 300;    // -1 = never unload, 0 = unload after each request
  std::string api_key;
  std::string log_level = "info";
  int threads = 0;               // 0 = all cores
  std::string precision = "fp32";
  std::string weights = "packed";  // packed | mapped (fp32 MatMul weights read in place from the file)
  // Folder where packed weights are kept between loads; "off": packed at every load.
  // Default: $XDG_CACHE_HOME/seer/packed or ~/.cache/seer/packed.
  std::string pack_cache;
  uint64_t ghost_threshold = 256ull << 20;  // RSS the ledger does not explain above this: log, count, trim
};

// The keys, in the order `seer --help` documents them.
const std::vector<std::string>& config_keys();

struct ConfigSources {
  std::optional<std::string> file;             // explicit --config path (must exist)
  std::map<std::string, std::string> env;      // SEER_* variables (others are ignored)
  std::map<std::string, std::string> flags;    // key (snake_case) -> value, only flags given
};

// The environment of this process as a map (for ConfigSources::env).
std::map<std::string, std::string> environment_map();
// ~/.config/seer/config.json (or $XDG_CONFIG_HOME/seer/config.json).
std::string default_config_path();
std::string default_models_dir();
std::string default_pack_cache_dir();

StatusOr<Config> load_config(const ConfigSources& sources);
// Sets one key from its text form; `source` goes into the error message.
Status set_config_value(Config& config, const std::string& key, const std::string& value,
                        const std::string& source);

}  // namespace seer
