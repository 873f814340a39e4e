// The run shared by the folder commands (`seer tag`, `seer classify`) and the flags they have in
// common. A command derives from BatchCommand<Model, Result> and supplies only what is its own;
// run() does the rest in this order, and at the first failure prints "seer <name>: <error>" on
// stderr and returns the exit code on the right:
//   1. the config (defaults < file < env < flags)                                        2
//   2. prepare(): the command's own flags, into the pipeline options                     2
//   3. resolve_model(): --model (or the command's default) -> the model's folder and id  2
//   4. the file walk; no image: "seer <name>: no images found", exit 0
//   5. Model::load in a fresh ledger with cli::engine_choice(config)                     2
//      and Model::create_context()                                                       1
//   6. --db: the SQLite index, valid for index_settings()                                2
//   7. --jsonl: the record stream (- = stdout)                                           2
//   8. the pipeline over batch_model(), with progress and one record() per image;
//      a run error (the index could not be written)                                      1
//   9. the summary "seer <name>: N images: ..."; exit 1 when an image failed, else 0.
//
//   class ClassifyCommand final : public BatchCommand<Classifier, ClassifyResult> { ... };
//   auto args = std::make_shared<BatchArgs>();   // tag: TagArgs, a BatchArgs with its own flags
//   add_batch_input_flags(cmd, *args, "classifier folder or an id under --models-dir");
//   add_batch_output_flags(cmd, *args, "SQLite index: skip unchanged images, resume after a crash");
//   add_batch_run_flags(cmd, *args, ctx);
//   cmd->callback([&ctx, args] { ctx.exit_code = ClassifyCommand(*args).run(ctx); });
//
// Model is an image model family (models/image_model_context.h): Model::load(dir,
// ImageModelLoadOptions), create_context(), preprocess(), max_batch(), num_classes().
// A BatchCommand runs once, on the calling thread; the args must outlive it.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/batch_progress.h"
#include "cli/commands.h"
#include "cli/engine_choice.h"
#include "core/config.h"
#include "core/log.h"
#include "core/status.h"
#include "memory/ledger.h"
#include "models/batch/image_pipeline.h"
#include "models/batch/tag_index.h"
#include "models/image_model_context.h"

namespace seer::cli {

// The flags every folder command has.
struct BatchArgs {
  std::vector<std::string> paths;
  std::string model;
  bool recursive = false;
  bool hidden = false;
  std::string jsonl;
  std::string db;
  int batch = 8;
  bool fast = false;
  int decode_nice = 10;
  bool retry_failed = true;
  bool no_progress = false;
};

// The shared flags in three groups, so that a command puts its own between them (the --help
// order). `args` must outlive `cmd`.
// PATHS..., --model/-m, --recursive/-r, --hidden.
void add_batch_input_flags(CLI::App* cmd, BatchArgs& args, const std::string& model_help);
// --jsonl, --db.
void add_batch_output_flags(CLI::App* cmd, BatchArgs& args, const std::string& db_help);
// --batch, --fast, --decode-nice, --no-retry-failed, --no-progress and the config keys
// models_dir, precision, weights, pack_cache, threads.
void add_batch_run_flags(CLI::App* cmd, BatchArgs& args, CliContext& ctx);

// The folder --model names and the id the ledger, the log and the index know it by.
struct ModelFolder {
  std::filesystem::path dir;
  std::string id;
};

// The non-template parts of BatchCommand::run() (batch_command.cpp).
namespace batch_detail {
StatusOr<Config> load_command_config(const CliContext& ctx);
// The config's models_dir, or default_models_dir() when it is empty.
std::string models_dir_of(const Config& config);
// What the shared flags and the config's threads set.
PipelineOptions pipeline_options(const BatchArgs& args, const Config& config);
// "<command>: no images found" on stderr (with a hint about --recursive when it was not given).
void print_no_images(const std::string& command, const BatchArgs& args);
// "<command>: <s>" on stderr; returns exit_code.
int fail(const std::string& command, const Status& s, int exit_code);
}  // namespace batch_detail

template <class Model, class Result>
class BatchCommand {
 public:
  // `name`: "tag" (errors, progress and the summary say "seer tag", the log line "tag");
  // `done_verb`: the summary's word for a done image ("tagged").
  BatchCommand(std::string name, const char* done_verb, const BatchArgs& args)
      : name_(std::move(name)), command_("seer " + name_), done_verb_(done_verb), args_(args) {}
  virtual ~BatchCommand() = default;
  BatchCommand(const BatchCommand&) = delete;
  BatchCommand& operator=(const BatchCommand&) = delete;

  // Runs the command (steps above); returns its exit code.
  int run(const CliContext& ctx);

 protected:
  // Checks the command's own flags and sets its part of `options` (sidecars). Default: nothing.
  virtual Status prepare(PipelineOptions& options) {
    (void)options;
    return {};
  }
  // The folder and id of `model` (the --model flag, "" when not given) under `models_dir`.
  virtual StatusOr<ModelFolder> resolve_model(const std::string& model,
                                              const std::string& models_dir) const = 0;
  // The settings an indexed result holds for: a re-run with other settings redoes the image.
  virtual TagRunSettings index_settings(const std::string& model_id) const = 0;
  // The loaded model and its context as the pipeline's model. Called once; the adapter may
  // keep both references: they stay valid until run() returns.
  virtual BatchModel<Result>& batch_model(const Model& model, ImageModelContext& context) = 0;
  // The JSONL record of a done image (failed images get the shared {"path", "error"} record).
  virtual std::string record(const std::string& path, const Result& result) const = 0;

 private:
  int fail(const Status& s, int exit_code) const { return batch_detail::fail(command_, s, exit_code); }

  std::string name_;
  std::string command_;
  const char* done_verb_;
  const BatchArgs& args_;
};

// ---- implementation ----

template <class Model, class Result>
int BatchCommand<Model, Result>::run(const CliContext& ctx) {
  auto cfg = batch_detail::load_command_config(ctx);
  if (!cfg.ok()) return fail(cfg.status(), 2);
  PipelineOptions options = batch_detail::pipeline_options(args_, *cfg);
  if (Status s = prepare(options); !s.ok()) return fail(s, 2);
  auto folder = resolve_model(args_.model, batch_detail::models_dir_of(*cfg));
  if (!folder.ok()) return fail(folder.status(), 2);

  // The file list (sorted per folder, in walk order).
  const std::vector<WalkedFile> files =
      walk_images(args_.paths, {.recursive = args_.recursive, .include_hidden = args_.hidden});
  if (files.empty()) {
    batch_detail::print_no_images(command_, args_);
    return 0;
  }

  MemoryLedger ledger;
  auto choice = engine_choice(*cfg);
  if (!choice.ok()) return fail(choice.status(), 2);
  auto model = Model::load(folder->dir, {.ledger = &ledger,
                                         .owner = folder->id,
                                         .max_batch = std::max(1, args_.batch),
                                         .engine = *choice});
  if (!model.ok()) return fail(model.status(), 2);
  auto context = (*model)->create_context();
  if (!context.ok()) return fail(context.status(), 1);
  log::info("{}: {} ({} classes, input {}x{}, batch {}), {} files", name_, folder->id,
            (*model)->num_classes(), (*model)->preprocess().width, (*model)->preprocess().height,
            (*model)->max_batch(), files.size());

  std::unique_ptr<TagIndex> index;
  if (!args_.db.empty()) {
    auto idx = TagIndex::open(args_.db, index_settings(folder->id));
    if (!idx.ok()) return fail(idx.status(), 2);
    index = std::move(idx).value();
    options.index = index.get();
  }
  auto jsonl = JsonlOutput::open(args_.jsonl);
  if (!jsonl.ok()) return fail(jsonl.status(), 2);

  ImagePipeline<Result> pipeline(batch_model(**model, **context), ledger, std::move(options));
  auto summary = run_with_progress<Result>(
      command_, pipeline, files, jsonl->stream(), !args_.no_progress,
      [this](const std::string& path, const Result& r) { return record(path, r); });
  if (!summary.ok()) return fail(summary.status(), 1);
  print_run_summary(command_, done_verb_, *summary);
  return summary->failed > 0 ? 1 : 0;
}

}  // namespace seer::cli
