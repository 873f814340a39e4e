// `seer classify [options] PATH...`: classify images and folders with an image classifier
// (issue 8: nsfwjs TF.js folders, Hugging Face ViT classifier folders).
//
//   seer classify ~/photos -r --model nsfwjs/mobilenet_v2 --jsonl - > nsfw.jsonl
//   seer classify ~/photos -r --db nsfw.db --jsonl nsfw.jsonl      # resumable
//
// The same pipeline, progress and resume behaviour as `seer tag` (models/batch/image_pipeline.h):
// decode on a pool overlapped with batched inference, --db FILE keeps an SQLite index (every
// class score of each image, the top label as its text) so a re-run skips unchanged images and a
// run killed with SIGKILL resumes. No sidecars. One JSONL record per image (tag_record_json.h):
// {"path", "label", "score", "predictions": [all classes, score descending]} or {"path", "error"}.
// Exit code: 0 all images classified or skipped, 1 some image failed, 2 usage (bad flag, no model).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/batch_progress.h"
#include "cli/commands.h"
#include "cli/engine_choice.h"
#include "cli/tag_record_json.h"
#include "core/config.h"
#include "core/log.h"
#include "memory/ledger.h"
#include "models/batch/image_pipeline.h"
#include "models/batch/tag_index.h"
#include "models/classifier/classifier.h"

namespace seer::cli {
namespace {

namespace fs = std::filesystem;

// Used when --model is not given: nsfwjs's MobileNetV2, as `make models` installs it.
constexpr const char* kDefaultClassifier = "nsfwjs/mobilenet_v2";

struct ClassifyArgs {
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

// A loaded classifier and its execution context as the shared pipeline's model.
class ClassifierBatchModel final : public BatchModel<ClassifyResult> {
 public:
  ClassifierBatchModel(const Classifier& c, ClassifierContext& ctx) : c_(c), ctx_(ctx) {}
  const PreprocessSpec& preprocess() const override { return c_.preprocess(); }
  int max_batch() const override { return c_.max_batch(); }
  StatusOr<std::vector<ClassifyResult>> run(std::span<const Tile* const> tiles) override {
    return c_.classify(ctx_, tiles);
  }
  std::vector<std::string> caption(const ClassifyResult&) const override { return {}; }
  // Every class with its probability (category kClassCategory); the text is the top label.
  IndexEntry index_entry(const ClassifyResult& r) const override {
    IndexEntry e;
    if (!r.predictions.empty()) e.text = r.predictions.front().label;
    for (const ClassScore& p : r.predictions) e.scores.push_back({kClassCategory, p.label, p.score});
    return e;
  }

 private:
  const Classifier& c_;
  ClassifierContext& ctx_;
};

ClassifyOutput to_output(const ClassifyResult& r) {
  ClassifyOutput out;
  for (const ClassScore& c : r.predictions) out.predictions.push_back({c.label, c.score});
  if (!out.predictions.empty()) {
    out.label = out.predictions.front().label;
    out.score = out.predictions.front().score;
  }
  return out;
}

// --model: a classifier folder, or an id under the models dir (default kDefaultClassifier).
StatusOr<fs::path> resolve_model(const std::string& model, const std::string& models_dir) {
  const std::string id = model.empty() ? kDefaultClassifier : model;
  if (!model.empty() && Classifier::recognise(model)) return fs::path(model);
  fs::path under = fs::path(models_dir) / id;
  if (Classifier::recognise(under)) return under;
  if (model.empty()) {
    return Status::invalid_argument(
        "--model is required: no default classifier {} under {} (`make models` installs it)", id,
        models_dir);
  }
  return Status::not_found("model '{}': neither a classifier folder (nsfwjs TF.js or HF "
                           "model.onnx + config.json + preprocessor_config.json) nor an id under {}",
                           model, models_dir);
}

int run_classify(const ClassifyArgs& a, CliContext& ctx) {
  auto fail = [](const Status& s, int code) {
    std::fprintf(stderr, "seer classify: %s\n", s.to_string().c_str());
    return code;
  };
  ConfigSources src;
  if (!ctx.config_file.empty()) src.file = ctx.config_file;
  src.env = environment_map();
  src.flags = ctx.flags;
  auto cfg = load_config(src);
  if (!cfg.ok()) return fail(cfg.status(), 2);

  auto model_dir = resolve_model(a.model, cfg->models_dir.empty() ? default_models_dir() : cfg->models_dir);
  if (!model_dir.ok()) return fail(model_dir.status(), 2);
  const std::string model_id = a.model.empty() ? kDefaultClassifier : model_id_of(*model_dir);

  const std::vector<WalkedFile> files =
      walk_images(a.paths, {.recursive = a.recursive, .include_hidden = a.hidden});
  if (files.empty()) {
    std::fprintf(stderr, "seer classify: no images found%s\n",
                 a.recursive ? "" : " (folders are read with --recursive for subfolders)");
    return 0;
  }

  MemoryLedger ledger;
  ClassifierLoadOptions lo;
  lo.ledger = &ledger;
  lo.owner = model_id;
  lo.max_batch = std::max(1, a.batch);
  auto choice = engine_choice(*cfg);
  if (!choice.ok()) return fail(choice.status(), 2);
  lo.engine = *choice;
  auto classifier = Classifier::load(*model_dir, lo);
  if (!classifier.ok()) return fail(classifier.status(), 2);
  auto cctx = (*classifier)->create_context();
  if (!cctx.ok()) return fail(cctx.status(), 1);
  log::info("classify: {} ({} classes, input {}x{}, batch {}), {} files", model_id,
            (*classifier)->labels().size(), (*classifier)->preprocess().width,
            (*classifier)->preprocess().height, (*classifier)->max_batch(), files.size());

  PipelineOptions opt;
  opt.batch = a.batch;
  opt.decode_threads = cfg->threads;
  opt.fast_decode = a.fast;
  opt.decode_nice = std::clamp(a.decode_nice, 0, 19);
  opt.retry_failed = a.retry_failed;
  std::unique_ptr<TagIndex> index;
  if (!a.db.empty()) {
    // No thresholds: the settings that make a stored result stale are the model's alone.
    auto idx = TagIndex::open(a.db, {.model_id = model_id, .general_threshold = 0, .character_threshold = 0});
    if (!idx.ok()) return fail(idx.status(), 2);
    index = std::move(idx).value();
    opt.index = index.get();
  }
  auto jsonl_out = JsonlOutput::open(a.jsonl);
  if (!jsonl_out.ok()) return fail(jsonl_out.status(), 2);
  std::ostream* jsonl = jsonl_out->stream();

  ClassifierBatchModel model(**classifier, **cctx);
  ImagePipeline<ClassifyResult> pipeline(model, ledger, opt);
  auto summary = run_with_progress<ClassifyResult>(
      "seer classify", pipeline, files, jsonl, !a.no_progress,
      [](const std::string& path, const ClassifyResult& r) { return classify_record_json(path, to_output(r)); });
  if (!summary.ok()) return fail(summary.status(), 1);
  print_run_summary("seer classify", "classified", *summary);
  return summary->failed > 0 ? 1 : 0;
}

}  // namespace

void register_classify(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<ClassifyArgs>();
  CLI::App* cmd = app.add_subcommand("classify", "classify images or folders (NSFW and other image classifiers)");
  cmd->add_option("paths", a->paths, "image files and folders")->required();
  cmd->add_option("--model,-m", a->model,
                  std::string("classifier folder or an id under --models-dir (default ") + kDefaultClassifier + ")");
  cmd->add_flag("--recursive,-r", a->recursive, "descend into subfolders");
  cmd->add_flag("--hidden", a->hidden, "include names starting with '.'");
  cmd->add_option("--jsonl", a->jsonl, "write one JSON record per image to FILE (- = stdout)");
  cmd->add_option("--db", a->db, "SQLite index: skip unchanged images, resume after a crash");
  cmd->add_option("--batch", a->batch, "images per engine call")->capture_default_str();
  cmd->add_flag("--fast", a->fast, "shrink-on-load for big JPEG/WebP (faster, not bit-exact)");
  cmd->add_option("--decode-nice", a->decode_nice,
                  "niceness of the decode threads (0-19): they yield the cores to inference")
      ->capture_default_str();
  cmd->add_flag("!--no-retry-failed", a->retry_failed, "with --db: skip images that failed before and did not change");
  cmd->add_flag("--no-progress", a->no_progress, "no progress output");
  add_config_flags(cmd, ctx, {"models_dir", "precision", "weights", "pack_cache", "threads"});
  cmd->callback([&ctx, a] { ctx.exit_code = run_classify(*a, ctx); });
}

}  // namespace seer::cli
