// The `seer` command line: one file per subcommand, each exposing a register_* function that
// adds its CLI11 subcommand and callback. main() (src/main.cpp) calls run_cli().
//
// A subcommand's callback returns an exit code through `CliContext::exit_code`:
//   0 success, 1 the job ran but something failed (e.g. some images), 2 usage / not built.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace seer::cli {

struct CliContext {
  std::string config_file;                   // --config
  std::map<std::string, std::string> flags;  // config keys given as flags (see core/config.h)
  int exit_code = 0;
};

int run_cli(int argc, char** argv);

// Adds --<key> flags (dashes for underscores) for the given config keys; values land in
// ctx.flags only when given, so the precedence defaults < file < env < flags holds.
void add_config_flags(CLI::App* cmd, CliContext& ctx, const std::vector<std::string>& keys);
// For subcommands a later milestone fills: prints "<name>: not built yet (<what>)", exit 2.
void add_pending_command(CLI::App& app, CliContext& ctx, const std::string& name,
                         const std::string& description, const std::string& what);

void register_serve(CLI::App& app, CliContext& ctx);
void register_tag(CLI::App& app, CliContext& ctx);
void register_classify(CLI::App& app, CliContext& ctx);
void register_models(CLI::App& app, CliContext& ctx);
void register_bench(CLI::App& app, CliContext& ctx);
void register_onnx_run(CLI::App& app, CliContext& ctx);
void register_preprocess(CLI::App& app, CliContext& ctx);

}  // namespace seer::cli
