#include "cli/batch_command.h"

#include <cstdio>

namespace seer::cli {

void add_batch_input_flags(CLI::App* cmd, BatchArgs& a, const std::string& model_help) {
  cmd->add_option("paths", a.paths, "image files and folders")->required();
  cmd->add_option("--model,-m", a.model, model_help);
  cmd->add_flag("--recursive,-r", a.recursive, "descend into subfolders");
  cmd->add_flag("--hidden", a.hidden, "include names starting with '.'");
}

void add_batch_output_flags(CLI::App* cmd, BatchArgs& a, const std::string& db_help) {
  cmd->add_option("--jsonl", a.jsonl, "write one JSON record per image to FILE (- = stdout)");
  cmd->add_option("--db", a.db, db_help);
}

void add_batch_run_flags(CLI::App* cmd, BatchArgs& a, CliContext& ctx) {
  cmd->add_option("--batch", a.batch, "images per engine call")->capture_default_str();
  cmd->add_flag("--fast", a.fast, "shrink-on-load for big JPEG/WebP (faster, not bit-exact)");
  cmd->add_option("--decode-nice", a.decode_nice,
                  "niceness of the decode threads (0-19): they yield the cores to inference")
      ->capture_default_str();
  cmd->add_flag("!--no-retry-failed", a.retry_failed, "with --db: skip images that failed before and did not change");
  cmd->add_flag("--no-progress", a.no_progress, "no progress output");
  add_config_flags(cmd, ctx, {"models_dir", "precision", "weights", "pack_cache", "threads"});
}

namespace batch_detail {

StatusOr<Config> load_command_config(const CliContext& ctx) {
  ConfigSources src;
  if (!ctx.config_file.empty()) src.file = ctx.config_file;
  src.env = environment_map();
  src.flags = ctx.flags;
  return load_config(src);
}

std::string models_dir_of(const Config& config) {
  return config.models_dir.empty() ? default_models_dir() : config.models_dir;
}

PipelineOptions pipeline_options(const BatchArgs& args, const Config& config) {
  PipelineOptions opt;
  opt.batch = args.batch;
  opt.decode_threads = config.threads;
  opt.fast_decode = args.fast;
  opt.decode_nice = std::clamp(args.decode_nice, 0, 19);
  opt.retry_failed = args.retry_failed;
  return opt;
}

void print_no_images(const std::string& command, const BatchArgs& args) {
  std::fprintf(stderr, "%s: no images found%s\n", command.c_str(),
               args.recursive ? "" : " (folders are read with --recursive for subfolders)");
}

int fail(const std::string& command, const Status& s, int exit_code) {
  std::fprintf(stderr, "%s: %s\n", command.c_str(), s.to_string().c_str());
  return exit_code;
}

}  // namespace batch_detail

}  // namespace seer::cli
