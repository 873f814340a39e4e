#include <cstdio>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"

namespace seer::cli {

void add_config_flags(CLI::App* cmd, CliContext& ctx, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    std::string dashed = key;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    cmd->add_option_function<std::string>(
        "--" + dashed, [&ctx, key](const std::string& v) { ctx.flags[key] = v; },
        "config key '" + key + "' (env SEER_" + [&] {
          std::string up = key;
          for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return up;
        }() + ")");
  }
}

void add_pending_command(CLI::App& app, CliContext& ctx, const std::string& name,
                         const std::string& description, const std::string& what) {
  CLI::App* cmd = app.add_subcommand(name, description + " [not built yet]");
  cmd->allow_extras();
  cmd->callback([&ctx, name, what] {
    std::fprintf(stderr, "seer %s: not built yet (%s)\n", name.c_str(), what.c_str());
    ctx.exit_code = 2;
  });
}

int run_cli(int argc, char** argv) {
  CLI::App app{"seer: a local vision-model server and batch tagger (WD14 taggers, NSFW classifiers, Moondream 2)"};
  app.set_version_flag("--version", std::string("seer ") + SEER_VERSION);
  app.require_subcommand(1);
  CliContext ctx;
  std::string log_level;
  app.add_option("--config", ctx.config_file, "config file (JSON); default " + default_config_path());
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off (default info)");
  app.parse_complete_callback([&] {
    if (!log_level.empty()) ctx.flags["log_level"] = log_level;
    // Before any subcommand runs: the level from flags/env/config file (errors surface later).
    ConfigSources src;
    if (!ctx.config_file.empty()) src.file = ctx.config_file;
    src.env = environment_map();
    src.flags = ctx.flags;
    auto cfg = load_config(src);
    (void)log::set_level(cfg.ok() ? cfg->log_level : "info");
  });

  register_serve(app, ctx);
  register_tag(app, ctx);
  register_classify(app, ctx);
  register_models(app, ctx);
  register_bench(app, ctx);
  register_onnx_run(app, ctx);
  register_preprocess(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return ctx.exit_code;
}

}  // namespace seer::cli
