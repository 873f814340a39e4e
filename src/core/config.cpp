#include "core/config.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/units.h"

extern char** environ;

namespace seer {

namespace {

StatusOr<int> parse_int(const std::string& v, int lo, int hi) {
  int out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size() || out < lo || out > hi) {
    return Status::invalid_argument("'{}' is not an integer in [{}, {}]", v, lo, hi);
  }
  return out;
}

using Setter = std::function<Status(Config&, const std::string&)>;

Setter int_field(int Config::*field, int lo, int hi) {
  return [=](Config& c, const std::string& v) -> Status {
    SEER_ASSIGN_OR_RETURN(c.*field, parse_int(v, lo, hi));
    return {};
  };
}
Setter string_field(std::string Config::*field) {
  return [=](Config& c, const std::string& v) -> Status {
    c.*field = v;
    return {};
  };
}
Setter choice_field(std::string Config::*field, std::vector<std::string> choices) {
  return [=](Config& c, const std::string& v) -> Status {
    for (const auto& ch : choices) {
      if (ch == v) {
        c.*field = v;
        return {};
      }
    }
    return Status::invalid_argument("'{}' is not one of {}", v, fmt::join(choices, "|"));
  };
}

// The one table of settings: key -> parser. Order is the documented order.
const std::vector<std::pair<std::string, Setter>>& fields() {
  static const std::vector<std::pair<std::string, Setter>> kFields = {
      {"host", string_field(&Config::host)},
      {"port", int_field(&Config::port, 0, 65535)},
      {"models_dir", string_field(&Config::models_dir)},
      {"memory_budget",
       [](Config& c, const std::string& v) -> Status {
         SEER_ASSIGN_OR_RETURN(c.memory_budget, parse_bytes(v));
         return {};
       }},
      {"max_queue", int_field(&Config::max_queue, 1, 1 << 20)},
      {"max_batch", int_field(&Config::max_batch, 0, 4096)},
      {"batch_delay_ms", int_field(&Config::batch_delay_ms, 0, 60000)},
      {"keep_alive",
       [](Config& c, const std::string& v) -> Status {
         SEER_ASSIGN_OR_RETURN(c.keep_alive_s, parse_duration_seconds(v));
         return {};
       }},
      {"api_key", string_field(&Config::api_key)},
      {"log_level", choice_field(&Config::log_level, {"trace", "debug", "info", "warn", "error", "off"})},
      {"threads", int_field(&Config::threads, 0, 1024)},
      {"precision", choice_field(&Config::precision, {"fp32", "bf16"})},
      {"weights", choice_field(&Config::weights, {"packed", "mapped"})},
      {"pack_cache", string_field(&Config::pack_cache)},
      {"ghost_threshold",
       [](Config& c, const std::string& v) -> Status {
         SEER_ASSIGN_OR_RETURN(c.ghost_threshold, parse_bytes(v));
         return {};
       }},
  };
  return kFields;
}

std::string env_name(const std::string& key) {
  std::string out = "SEER_";
  for (char ch : key) out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string home_dir() {
  const char* home = std::getenv("HOME");
  return home && *home ? home : "/root";
}

Status apply_file(Config& config, const std::string& path, bool must_exist) {
  std::ifstream in(path);
  if (!in) {
    if (must_exist) return Status::not_found("config file '{}' cannot be read", path);
    return {};
  }
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::invalid_argument("config file '{}' is not a JSON object", path);
  }
  for (auto& [key, value] : j.items()) {
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_number() || value.is_boolean()) text = value.dump();
    else return Status::invalid_argument("config file '{}': key '{}' must be a string or number", path, key);
    SEER_RETURN_IF_ERROR(set_config_value(config, key, text, "config file '" + path + "'"));
  }
  return {};
}

}  // namespace

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> kKeys = [] {
    std::vector<std::string> keys;
    for (const auto& [k, setter] : fields()) keys.push_back(k);
    return keys;
  }();
  return kKeys;
}

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

std::string default_config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const std::string base = xdg && *xdg ? xdg : home_dir() + "/.config";
  return base + "/seer/config.json";
}

std::string default_models_dir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const std::string base = xdg && *xdg ? xdg : home_dir() + "/.local/share";
  return base + "/seer/models";
}

std::string default_pack_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string base = xdg && *xdg ? xdg : home_dir() + "/.cache";
  return base + "/seer/packed";
}

Status set_config_value(Config& config, const std::string& key, const std::string& value,
                        const std::string& source) {
  for (const auto& [k, setter] : fields()) {
    if (k == key) return setter(config, value).with_context(fmt::format("{}: {}", source, key));
  }
  return Status::invalid_argument("{}: unknown setting '{}' (known: {})", source, key,
                                  fmt::join(config_keys(), ", "));
}

StatusOr<Config> load_config(const ConfigSources& sources) {
  Config config;
  config.models_dir = default_models_dir();
  config.pack_cache = default_pack_cache_dir();

  std::string file = default_config_path();
  bool must_exist = false;
  if (sources.file) {
    file = *sources.file;
    must_exist = true;
  } else if (auto it = sources.env.find("SEER_CONFIG"); it != sources.env.end() && !it->second.empty()) {
    file = it->second;
    must_exist = true;
  }
  SEER_RETURN_IF_ERROR(apply_file(config, file, must_exist));

  for (const auto& key : config_keys()) {
    if (auto it = sources.env.find(env_name(key)); it != sources.env.end()) {
      SEER_RETURN_IF_ERROR(set_config_value(config, key, it->second, "environment " + env_name(key)));
    }
  }
  for (const auto& [key, value] : sources.flags) {
    std::string dashed = key;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    SEER_RETURN_IF_ERROR(set_config_value(config, key, value, "flag --" + dashed));
  }
  return config;
}

}  // namespace seer
