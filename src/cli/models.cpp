// `seer models`: the catalog of --models-dir (from its persisted scan when the tree is unchanged).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "runtime/classifier_backend.h"
#include "runtime/model_catalog.h"
#include "runtime/tagger_backend.h"

namespace seer::cli {

void register_models(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand("models", "list the models found under the models dir");
  add_config_flags(cmd, ctx, {"models_dir"});
  auto json_out = std::make_shared<bool>(false);
  auto refresh = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json_out, "print JSON ({\"models\": [...]})");
  cmd->add_flag("--refresh", *refresh, "rescan the tree even if the persisted scan is current");
  cmd->callback([&ctx, json_out, refresh] {
    ConfigSources src;
    if (!ctx.config_file.empty()) src.file = ctx.config_file;
    src.env = environment_map();
    src.flags = ctx.flags;
    auto cfg = load_config(src);
    if (!cfg.ok()) {
      std::fprintf(stderr, "seer models: %s\n", cfg.status().message().c_str());
      ctx.exit_code = 2;
      return;
    }
    MemoryLedger ledger;  // the families' backends are never created here (listing only)
    ModelFamilyRegistry families = default_family_registry();
    families.add(tagger_family(ledger));
    families.add(classifier_family(ledger));
    CatalogOptions catalog_opt;
    catalog_opt.models_dir = cfg->models_dir;
    auto catalog = ModelCatalog::open(catalog_opt, families);
    if (!catalog.ok()) {
      std::fprintf(stderr, "seer models: %s\n", catalog.status().message().c_str());
      ctx.exit_code = 1;
      return;
    }
    if (*refresh) (void)(*catalog)->refresh();
    const auto models = (*catalog)->list();
    if (*json_out) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& m : models) {
        list.push_back({{"id", m.id}, {"alias", m.alias}, {"kind", std::string(to_string(m.kind))},
                        {"format", m.format}, {"size_bytes", m.size_bytes}, {"path", m.path.string()}});
      }
      std::printf("%s\n", nlohmann::ordered_json{{"models", list}}.dump(2).c_str());
      return;
    }
    std::printf("%-56s %-10s %-6s %10s  %s\n", "ID", "KIND", "FORMAT", "SIZE", "ALIAS");
    for (const auto& m : models) {
      std::printf("%-56s %-10s %-6s %10s  %s\n", m.id.c_str(), std::string(to_string(m.kind)).c_str(),
                  m.format.c_str(), format_bytes(m.size_bytes).c_str(), m.alias.c_str());
    }
    std::printf("%zu models under %s\n", models.size(), (*catalog)->models_dir().string().c_str());
  });
}

}  // namespace seer::cli
