// `seer tag [options] PATH...`: tag images and folders with a WD14 tagger (issue 6).
//
//   seer tag ~/photos -r --model wd-vit-tagger-v3                 # <stem>.txt next to each image
//   seer tag ~/photos -r --db tags.db --jsonl - --mcut > tags.jsonl
//
// Outputs: sidecars (default; --skip-existing, --overwrite, --append, --no-sidecar), --jsonl FILE
// (`-` = stdout; one record per image, tag_record_json.h), --db FILE (tag index: re-runs skip
// unchanged images, a killed run resumes). The pipeline is models/tagger/tag_pipeline.h.
// Progress goes to stderr: a bar on a TTY, plain lines otherwise; then a summary.
// Exit code: 0 all images tagged or skipped, 1 some image failed, 2 usage (bad flag, no model).
#include <unistd.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/batch_progress.h"
#include "cli/commands.h"
#include "cli/engine_choice.h"
#include "cli/tag_record_json.h"
#include "core/config.h"
#include "core/log.h"
#include "memory/ledger.h"
#include "models/batch/tag_index.h"
#include "models/tagger/tag_pipeline.h"
#include "models/tagger/wd14_tagger.h"

namespace seer::cli {
namespace {

namespace fs = std::filesystem;

struct TagArgs {
  std::vector<std::string> paths;
  std::string model;
  bool recursive = false;
  bool hidden = false;
  bool overwrite = false;
  bool append = false;
  bool skip_existing = false;
  bool no_sidecar = false;
  std::string caption_ext = ".txt";
  std::string jsonl;
  std::string db;
  double threshold = 0.35;
  double character_threshold = 0.85;
  bool mcut = false;
  bool mcut_general = false;
  bool mcut_character = false;
  std::string characters = "omit";
  std::string rating_tag = "omit";
  std::string exclude;
  bool no_escape = false;
  bool keep_underscores = false;
  int batch = 8;
  bool fast = false;
  int decode_nice = 10;
  bool retry_failed = true;
  bool no_progress = false;
};

StatusOr<TextPlacement> parse_placement(const std::string& s, const char* flag) {
  if (s == "omit" || s == "none") return TextPlacement::kOmit;
  if (s == "first") return TextPlacement::kFirst;
  if (s == "last") return TextPlacement::kLast;
  return Status::invalid_argument("{} must be omit, first or last, not '{}'", flag, s);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" \t") != std::string::npos) out.push_back(item);
  }
  return out;
}

// --model: a folder holding model.onnx + selected_tags.csv, or an id under the models dir.
StatusOr<fs::path> resolve_model(const std::string& model, const std::string& models_dir) {
  if (model.empty()) {
    return Status::invalid_argument("--model is required (a WD14 folder, or an id under {})",
                                    models_dir);
  }
  if (Wd14Tagger::is_model_dir(model)) return fs::path(model);
  fs::path under = fs::path(models_dir) / model;
  if (Wd14Tagger::is_model_dir(under)) return under;
  return Status::not_found("model '{}': neither a folder with {} + {} nor an id under {}", model,
                           Wd14Tagger::kModelFile, Wd14Tagger::kTagsFile, models_dir);
}

int run_tag(const TagArgs& a, CliContext& ctx) {
  auto fail = [](const Status& s, int code) {
    std::fprintf(stderr, "seer tag: %s\n", s.to_string().c_str());
    return code;
  };
  ConfigSources src;
  if (!ctx.config_file.empty()) src.file = ctx.config_file;
  src.env = environment_map();
  src.flags = ctx.flags;
  auto cfg = load_config(src);
  if (!cfg.ok()) return fail(cfg.status(), 2);

  TagPipelineOptions opt;
  TagOptions& t = opt.tag;
  t.general_threshold = a.threshold;
  t.character_threshold = a.character_threshold;
  t.general_mcut = a.mcut || a.mcut_general;
  t.character_mcut = a.mcut || a.mcut_character;
  auto chars = parse_placement(a.characters, "--characters");
  auto rating = parse_placement(a.rating_tag, "--rating-tag");
  if (!chars.ok()) return fail(chars.status(), 2);
  if (!rating.ok()) return fail(rating.status(), 2);
  t.characters_in_text = *chars;
  t.rating_in_text = *rating;
  t.exclude = split_commas(a.exclude);
  t.escape_parentheses = !a.no_escape;
  t.replace_underscores = !a.keep_underscores;
  if (static_cast<int>(a.overwrite) + static_cast<int>(a.append) + static_cast<int>(a.skip_existing) > 1) {
    return fail(Status::invalid_argument("--skip-existing, --overwrite and --append exclude each other"), 2);
  }
  if (!a.no_sidecar) {
    SidecarOptions so;
    so.mode = a.overwrite ? SidecarMode::kOverwrite
                          : a.append ? SidecarMode::kAppend : SidecarMode::kSkipExisting;
    so.extension = a.caption_ext;
    opt.sidecar = so;
  }
  opt.batch = a.batch;
  opt.decode_threads = cfg->threads;
  opt.fast_decode = a.fast;
  opt.decode_nice = std::clamp(a.decode_nice, 0, 19);
  opt.retry_failed = a.retry_failed;

  auto model_dir = resolve_model(a.model, cfg->models_dir.empty() ? default_models_dir() : cfg->models_dir);
  if (!model_dir.ok()) return fail(model_dir.status(), 2);
  const std::string model_id = model_id_of(*model_dir);

  // The file list (sorted per folder, in walk order).
  const std::vector<WalkedFile> files =
      walk_images(a.paths, {.recursive = a.recursive, .include_hidden = a.hidden});
  if (files.empty()) {
    std::fprintf(stderr, "seer tag: no images found%s\n", a.recursive ? "" : " (folders are read with --recursive for subfolders)");
    return 0;
  }

  MemoryLedger ledger;
  TaggerLoadOptions lo;
  lo.ledger = &ledger;
  lo.owner = model_id;
  lo.max_batch = std::max(1, a.batch);
  auto choice = engine_choice(*cfg);
  if (!choice.ok()) return fail(choice.status(), 2);
  lo.engine = *choice;
  auto tagger = Wd14Tagger::load(*model_dir, lo);
  if (!tagger.ok()) return fail(tagger.status(), 2);
  auto tctx = (*tagger)->create_context();
  if (!tctx.ok()) return fail(tctx.status(), 1);
  log::info("tag: {} ({} classes, input {}x{}, batch {}), {} files", model_id,
            (*tagger)->num_classes(), (*tagger)->preprocess().width,
            (*tagger)->preprocess().height, (*tagger)->max_batch(), files.size());

  std::unique_ptr<TagIndex> index;
  if (!a.db.empty()) {
    TagRunSettings rs{.model_id = model_id,
                      .general_threshold = t.general_threshold,
                      .character_threshold = t.character_threshold,
                      .general_mcut = t.general_mcut,
                      .character_mcut = t.character_mcut};
    auto idx = TagIndex::open(a.db, rs);
    if (!idx.ok()) return fail(idx.status(), 2);
    index = std::move(idx).value();
    opt.index = index.get();
  }

  auto jsonl_out = JsonlOutput::open(a.jsonl);
  if (!jsonl_out.ok()) return fail(jsonl_out.status(), 2);
  std::ostream* jsonl = jsonl_out->stream();

  Wd14TileTagger model(**tagger, **tctx);
  TagPipeline pipeline(model, ledger, opt);
  auto summary = run_with_progress<TagResult>(
      "seer tag", pipeline, files, jsonl, !a.no_progress,
      [](const std::string& path, const TagResult& r) { return tag_record_json(path, r); });
  if (!summary.ok()) return fail(summary.status(), 1);
  print_run_summary("seer tag", "tagged", *summary);
  return summary->failed > 0 ? 1 : 0;
}

}  // namespace

void register_tag(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<TagArgs>();
  CLI::App* cmd = app.add_subcommand("tag", "tag images or folders with a WD14 tagger");
  cmd->add_option("paths", a->paths, "image files and folders")->required();
  cmd->add_option("--model,-m", a->model, "WD14 folder (model.onnx + selected_tags.csv) or an id under --models-dir");
  cmd->add_flag("--recursive,-r", a->recursive, "descend into subfolders");
  cmd->add_flag("--hidden", a->hidden, "include names starting with '.'");
  cmd->add_flag("--skip-existing", a->skip_existing, "keep images whose sidecar exists untouched (default)");
  cmd->add_flag("--overwrite", a->overwrite, "replace existing sidecars");
  cmd->add_flag("--append", a->append, "add missing tags to existing sidecars");
  cmd->add_flag("--no-sidecar", a->no_sidecar, "write no sidecar files");
  cmd->add_option("--caption-ext", a->caption_ext, "sidecar extension")->capture_default_str();
  cmd->add_option("--jsonl", a->jsonl, "write one JSON record per image to FILE (- = stdout)");
  cmd->add_option("--db", a->db, "SQLite tag index: skip unchanged images, resume after a crash");
  cmd->add_option("--threshold", a->threshold, "general tag threshold (p > t)")->capture_default_str();
  cmd->add_option("--character-threshold", a->character_threshold, "character tag threshold")->capture_default_str();
  cmd->add_flag("--mcut", a->mcut, "MCut thresholds for general and character tags (character floor 0.15)");
  cmd->add_flag("--mcut-general", a->mcut_general, "MCut for general tags only");
  cmd->add_flag("--mcut-character", a->mcut_character, "MCut for character tags only");
  cmd->add_option("--characters", a->characters, "character tags in the text: omit | first | last")->capture_default_str();
  cmd->add_option("--rating-tag", a->rating_tag, "the top rating as a tag: omit | first | last")->capture_default_str();
  cmd->add_option("--exclude", a->exclude, "comma-separated tags to leave out (CSV or display names)");
  cmd->add_flag("--no-escape", a->no_escape, "do not escape ( and ) in the text");
  cmd->add_flag("--keep-underscores", a->keep_underscores, "keep the CSV names (no _ -> space)");
  cmd->add_option("--batch", a->batch, "images per engine call")->capture_default_str();
  cmd->add_flag("--fast", a->fast, "shrink-on-load for big JPEG/WebP (faster, not bit-exact)");
  cmd->add_option("--decode-nice", a->decode_nice,
                  "niceness of the decode threads (0-19): they yield the cores to inference")
      ->capture_default_str();
  cmd->add_flag("!--no-retry-failed", a->retry_failed, "with --db: skip images that failed before and did not change");
  cmd->add_flag("--no-progress", a->no_progress, "no progress output");
  add_config_flags(cmd, ctx, {"models_dir", "precision", "weights", "pack_cache", "threads"});
  cmd->callback([&ctx, a] { ctx.exit_code = run_tag(*a, ctx); });
}

}  // namespace seer::cli
