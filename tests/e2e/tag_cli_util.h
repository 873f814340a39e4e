// Helpers for the e2e tests of `seer tag` / `seer classify` (tag_resume_test.cpp,
// tag_memory_test.cpp, classify_cli_test.cpp): a folder of generated images, the real `seer`
// binary started as a child process, and small file readers.
//
//   test::TempDir dir("seer-tag-e2e");
//   auto names = make_images(dir.path() / "imgs", {.count = 300});
//   SeerProcess p = SeerProcess::start({"tag", (dir.path() / "imgs").string(), "--model", ...},
//                                      dir.path() / "run");
//   int status = p.wait();            // waitpid status
//   std::string err = p.stderr_text();
//
// Images are generated in-process with libvips (PNG and JPEG, or whatever `format` says), with
// pixels that depend on the image's index, so each image gets its own tags. The child is started
// with posix_spawn (no fork of a process whose libvips threads are running).
// Not thread-safe; one test at a time.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vips/vips.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "image/vips_runtime.h"

extern char** environ;

namespace seer::test {

namespace fs = std::filesystem;

inline const fs::path kSeerBinary = fs::path(SEER_BINARY_DIR) / "seer";
inline const fs::path kSourceDir = SEER_SOURCE_DIR;

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> read_lines(const fs::path& p) {
  std::istringstream in(slurp(p));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// Writes an RGB image of width × height whose pixels depend on `seed` (smooth gradients plus a
// seed-dependent pattern, so a tiny model gives different scores per image). The format comes
// from the extension (.png, .jpg, .webp). False on failure.
inline bool write_generated_image(const fs::path& path, int width, int height, uint32_t seed) {
  if (!ensure_vips_started().ok()) return false;
  std::vector<uint8_t> px(static_cast<size_t>(width) * height * 3);
  const uint32_t a = seed * 2654435761u;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const uint32_t v = (static_cast<uint32_t>(x) * (3 + (a >> (c * 3)) % 7) +
                            static_cast<uint32_t>(y) * (1 + (a >> (c * 5 + 9)) % 5) +
                            ((x / (4 + seed % 9)) ^ (y / (3 + seed % 7))) * 17 + (a >> 24) * c) & 255u;
        px[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(v);
      }
    }
  }
  VipsImage* im = vips_image_new_from_memory(px.data(), px.size(), width, height, 3, VIPS_FORMAT_UCHAR);
  if (im == nullptr) return false;
  const std::string ext = path.extension().string();
  int rc = 0;
  if (ext == ".png") {
    rc = vips_pngsave(im, path.c_str(), "compression", 1, nullptr);
  } else if (ext == ".webp") {
    rc = vips_webpsave(im, path.c_str(), "Q", 85, nullptr);
  } else {
    rc = vips_jpegsave(im, path.c_str(), "Q", 90, nullptr);
  }
  g_object_unref(im);
  return rc == 0;
}

struct ImageSetOptions {
  int count = 100;
  int min_side = 24;
  int max_side = 120;
  uint32_t seed = 1;
};

// count images img_0000.png, img_0001.jpg, ... (PNG and JPEG alternating), sides varying in
// [min_side, max_side]. Returns the file names in walk order.
inline std::vector<std::string> make_images(const fs::path& dir, const ImageSetOptions& o) {
  fs::create_directories(dir);
  std::vector<std::string> names;
  const int span = std::max(1, o.max_side - o.min_side + 1);
  for (int i = 0; i < o.count; ++i) {
    const uint32_t s = o.seed * 7919u + static_cast<uint32_t>(i);
    const int w = o.min_side + static_cast<int>((s * 37u) % static_cast<uint32_t>(span));
    const int h = o.min_side + static_cast<int>((s * 53u + 11u) % static_cast<uint32_t>(span));
    const std::string name = fmt::format("img_{:04d}.{}", i, i % 2 ? "jpg" : "png");
    EXPECT_TRUE(write_generated_image(dir / name, w, h, s)) << name;
    names.push_back(name);
  }
  return names;
}

// The real seer binary as a child: stdout and stderr go to <out_prefix>.stdout / .stderr.
class SeerProcess {
 public:
  static SeerProcess start(const std::vector<std::string>& args, const fs::path& out_prefix) {
    SeerProcess p;
    p.out_ = out_prefix.string() + ".stdout";
    p.err_ = out_prefix.string() + ".stderr";
    std::vector<std::string> argv_s{kSeerBinary.string()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p.out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, p.err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&p.pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_EQ(rc, 0) << "posix_spawn " << argv_s[0];
    if (rc != 0) p.pid_ = -1;
    return p;
  }

  SeerProcess() = default;
  SeerProcess(SeerProcess&& o) noexcept { *this = std::move(o); }
  SeerProcess& operator=(SeerProcess&& o) noexcept {
    std::swap(pid_, o.pid_);
    std::swap(out_, o.out_);
    std::swap(err_, o.err_);
    return *this;
  }
  ~SeerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }

  pid_t pid() const { return pid_; }
  // Blocks until the child ends; its waitpid status.
  int wait() {
    int st = 0;
    if (pid_ > 0 && ::waitpid(pid_, &st, 0) == pid_) pid_ = -1;
    return st;
  }
  // True (and *status set) when the child has ended.
  bool poll(int* status) {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  std::string stdout_text() const { return slurp(out_); }
  std::string stderr_text() const { return slurp(err_); }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
};

// "exit 1", "signal 9": for assertion messages.
inline std::string describe_status(int st) {
  if (WIFEXITED(st)) return fmt::format("exit {}", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return fmt::format("signal {}", WTERMSIG(st));
  return fmt::format("status {}", st);
}

}  // namespace seer::test
