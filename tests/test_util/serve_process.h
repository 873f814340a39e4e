// The real `seer serve` binary on a free loopback port, for end-to-end tests.
//
//   seer::test::TempDir tmp("seer-e2e");
//   seer::test::ServeProcess serve;
//   ASSERT_TRUE(serve.start(tmp.path(), {"--models-dir", models, "--max-queue", "4"})) << serve.log();
//   httplib::Client c = serve.client();                    // 127.0.0.1:<port>, 30 s timeouts
//   auto r = c.Get("/health");
//   EXPECT_EQ(serve.stop(SIGTERM), 0);                     // exit status (-1: killed by a signal)
//
// start() forks and execs build/seer with XDG_CACHE_HOME and XDG_CONFIG_HOME under `work_dir`
// (so no user config or catalog cache leaks in), stdout+stderr to work_dir/serve-<n>.log, and
// waits until GET /health answers (or the process exits). The destructor SIGKILLs a server
// still running. Not thread-safe (one test thread drives it; clients may run on many).
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.h"

namespace seer::test {

inline const std::filesystem::path kSeerSource = SEER_SOURCE_DIR;
inline const std::filesystem::path kSeerBinary = std::filesystem::path(SEER_BINARY_DIR) / "seer";

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fixture image (tests/fixtures/images/<name>) as base64.
inline std::string fixture_image_b64(const std::string& name) {
  return base64_encode(read_file(kSeerSource / "tests/fixtures/images" / name));
}

// A loopback port nobody listens on right now (the kernel's choice).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Copies a committed model folder (tests/fixtures/models/<fixture>) to models_dir/<id>, only the
// files a server reads (model.onnx, selected_tags.csv, config.json, labels.txt, seer.json).
inline void copy_fixture_model(const std::string& fixture, const std::filesystem::path& models_dir,
                               const std::string& id) {
  namespace fs = std::filesystem;
  const fs::path from = kSeerSource / "tests/fixtures/models" / fixture;
  const fs::path to = models_dir / id;
  fs::create_directories(to);
  for (const char* f : {"model.onnx", "selected_tags.csv", "config.json", "labels.txt", "seer.json"}) {
    if (fs::exists(from / f)) fs::copy_file(from / f, to / f, fs::copy_options::overwrite_existing);
  }
}

// The value of one Prometheus series in GET /metrics text, e.g.
// metric_value(text, "seer_batch_size_count{model=\"tagger-tiny\"}"); -1 when absent.
inline double metric_value(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess() { kill_now(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts `seer serve --port <free> <args...>` (add "--host" yourself to override 127.0.0.1).
  // True once /health answers 200; false when the process exited or did not come up in time
  // (then exit_status() tells how it ended, log() what it said).
  bool start(const std::filesystem::path& work_dir, const std::vector<std::string>& args,
             std::chrono::seconds wait = std::chrono::seconds(20)) {
    namespace fs = std::filesystem;
    kill_now();
    fs::create_directories(work_dir / "cache");
    fs::create_directories(work_dir / "config");
    log_ = work_dir / ("serve-" + std::to_string(++starts_) + ".log");
    port_ = free_loopback_port();
    if (port_ <= 0) return false;
    std::vector<std::string> argv_s = {kSeerBinary.string(), "serve", "--port", std::to_string(port_)};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      ::setenv("XDG_CACHE_HOME", (work_dir / "cache").c_str(), 1);
      ::setenv("XDG_CONFIG_HOME", (work_dir / "config").c_str(), 1);
      if (std::freopen(log_.c_str(), "w", stdout) == nullptr) ::_exit(126);
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& s : argv_s) argv.push_back(s.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    httplib::Client c = client();
    c.set_connection_timeout(1);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = c.Get("/health"); r && r->status == 200) return true;
      if (exited_now()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    return false;
  }

  // Sends `sig` and waits for the exit: the exit code, or -1 when a signal ended it (or it
  // did not end within `timeout`, after which it is killed).
  int stop(int sig = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return exit_status_;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (exited_now()) return exit_status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill_now();
    return -1;
  }

  // True (and exit_status() set) once the process has ended; does not block.
  bool exited_now() {
    if (pid_ <= 0) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
    exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    pid_ = -1;
    return true;
  }

  httplib::Client client(int timeout_s = 30) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(timeout_s, 0);
    c.set_write_timeout(timeout_s, 0);
    return c;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  int exit_status() const { return exit_status_; }
  std::string log() const { return read_file(log_); }

 private:
  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
  int starts_ = 0;
  std::filesystem::path log_;
};

}  // namespace seer::test
