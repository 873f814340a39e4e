// Shared by the folder commands (`seer tag`, `seer classify`): progress on stderr, the JSONL
// output stream and the file walk.
//
//   std::vector<WalkedFile> files = walk_images(paths, {.recursive = true});
//   SEER_ASSIGN_OR_RETURN(JsonlOutput jsonl, JsonlOutput::open(path));   // "" none, "-" stdout
//   BatchProgress progress("seer tag", files.size(), /*enabled=*/true);
//   ... per outcome: progress.update(done, failed); on error progress.message(line);
//
// Progress: a redrawn bar on a TTY (done/total, images/s, ETA, failures), a plain line every 5 %
// otherwise. Not thread-safe: one thread (the pipeline's writer) updates it.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "cli/tag_record_json.h"
#include "core/status.h"
#include "models/batch/image_file_walker.h"
#include "models/batch/image_pipeline.h"

namespace seer::cli {

// "42s", "3m07s", "1h05m"; "--" for a negative or infinite time.
std::string format_duration(double seconds);

class BatchProgress {
 public:
  BatchProgress(std::string command, size_t total, bool enabled);
  void update(size_t done, size_t failed);
  // Prints a line (a per-image error) without it being drawn over by the bar.
  void message(const std::string& line);

 private:
  std::string command_;
  size_t total_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_;
  double last_draw_ = -1;
  size_t next_line_ = 0;
};

// The --jsonl destination: none, stdout ("-") or a file (truncated).
class JsonlOutput {
 public:
  static StatusOr<JsonlOutput> open(const std::string& path);
  std::ostream* stream() { return out_; }  // nullptr: no JSONL

 private:
  std::unique_ptr<std::ofstream> file_;
  std::ostream* out_ = nullptr;
};

// Runs a folder command's pipeline with the progress bar, one JSONL record per image
// (`record(path, result)` or the {"path", "error"} record) and per-image error lines; the caller
// prints the summary (print_run_summary) and picks the exit code.
template <class Result, class Pipeline, class Record>
StatusOr<RunSummary> run_with_progress(const std::string& command, Pipeline& pipeline,
                                       std::span<const WalkedFile> files, std::ostream* jsonl,
                                       bool show_progress, Record record) {
  BatchProgress progress(command, files.size(), show_progress);
  size_t done = 0, failed = 0;
  auto summary = pipeline.run(files, [&](const Outcome<Result>& o) {
    ++done;
    const std::string path = o.file->path.string();
    if (o.kind == OutcomeKind::kFailed) {
      ++failed;
      progress.message(command + ": " + path + ": " + o.error.to_string());
      if (jsonl) *jsonl << tag_error_json(path, o.error.to_string()) << '\n';
    } else if (o.kind == OutcomeKind::kDone && jsonl) {
      *jsonl << record(path, *o.result) << '\n';
    }
    progress.update(done, failed);
  });
  if (jsonl) jsonl->flush();
  return summary;
}

// "seer tag: 10 images: 8 tagged, 1 skipped, 1 failed in 3s (...)" on stderr.
void print_run_summary(const std::string& command, const char* done_verb, const RunSummary& s);

// Every file the walk yields, in walk order.
std::vector<WalkedFile> walk_images(const std::vector<std::string>& paths, WalkOptions options);

// A model id for logs and the index: the folder's name ("models/wd-vit/" -> "wd-vit").
std::string model_id_of(const std::filesystem::path& dir);

}  // namespace seer::cli
