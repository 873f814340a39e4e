#include "cli/batch_progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace seer::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

BatchProgress::BatchProgress(std::string command, size_t total, bool enabled)
    : command_(std::move(command)), total_(total), enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

void BatchProgress::update(size_t done, size_t failed) {
  if (!enabled_) return;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = el > 0 ? static_cast<double>(done) / el : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1;
  if (tty_) {
    if (done != total_ && el - last_draw_ < 0.1) return;
    last_draw_ = el;
    constexpr int kWidth = 30;
    const int fill = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu %.1f img/s ETA %s failed %zu\x1b[K",
                 std::string(fill, '#').c_str(), std::string(kWidth - fill, '.').c_str(), done,
                 total_, rate, format_duration(eta).c_str(), failed);
    if (done == total_) std::fputc('\n', stderr);
  } else {
    const size_t step = std::max<size_t>(1, total_ / 20);
    if (done != total_ && done < next_line_) return;
    next_line_ = done + step;
    std::fprintf(stderr, "%s: %zu/%zu images, %.1f img/s, ETA %s, %zu failed\n", command_.c_str(),
                 done, total_, rate, format_duration(eta).c_str(), failed);
  }
}

void BatchProgress::message(const std::string& line) {
  if (tty_ && enabled_) std::fputs("\r\x1b[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
}

StatusOr<JsonlOutput> JsonlOutput::open(const std::string& path) {
  JsonlOutput o;
  if (path == "-") {
    o.out_ = &std::cout;
  } else if (!path.empty()) {
    o.file_ = std::make_unique<std::ofstream>(path, std::ios::out | std::ios::trunc);
    if (!*o.file_) return Status::invalid_argument("cannot write {}", path);
    o.out_ = o.file_.get();
  }
  return o;
}

std::vector<WalkedFile> walk_images(const std::vector<std::string>& paths, WalkOptions options) {
  std::vector<std::filesystem::path> roots(paths.begin(), paths.end());
  ImageFileWalker walker(roots, options);
  std::vector<WalkedFile> files;
  while (auto f = walker.next()) files.push_back(std::move(*f));
  return files;
}

std::string model_id_of(const std::filesystem::path& dir) {
  const std::filesystem::path p = dir.lexically_normal();
  return p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
}

void print_run_summary(const std::string& command, const char* done_verb, const RunSummary& s) {
  const double rate = s.seconds > 0 ? static_cast<double>(s.done) / s.seconds : 0;
  const double pure = s.inference_seconds > 0 ? static_cast<double>(s.done) / s.inference_seconds : 0;
  std::fprintf(stderr,
               "%s: %zu images: %zu %s, %zu skipped, %zu failed in %s (%.2f img/s; "
               "inference alone %.2f img/s, pipeline efficiency %.2f)\n",
               command.c_str(), s.total, s.done, done_verb, s.skipped, s.failed, format_duration(s.seconds).c_str(),
               rate, pure, pure > 0 ? rate / pure : 0.0);
}

}  // namespace seer::cli
