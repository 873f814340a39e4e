// Headless Chromium for the e2e tests (Debian's `chromium`, deps/debian.txt), two ways:
//
//   auto dom = dump_dom(url, profile_dir, log);   // the DOM after 5 s of virtual time
//
//   CdpSession s;                                 // DevTools protocol over --remote-debugging-pipe
//   ASSERT_TRUE(s.start(url, profile_dir, log));  // no WebSocket, no npm package
//   json v = s.evaluate("document.title");        // awaits promises, returns the value
//
// Header-only, for one test binary; a CdpSession is used from one thread.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace seer::test {

inline std::optional<std::string> find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::filesystem::path p = std::filesystem::path(dir) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
  }
  return std::nullopt;
}

inline std::vector<std::string> chromium_args(const std::string& chromium,
                                              const std::filesystem::path& profile) {
  return {chromium,
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          "--disable-extensions",
          "--disable-background-networking",
          "--user-data-dir=" + profile.string()};
}

inline void exec_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

// Chromium's --dump-dom of `url` after its scripts ran for 5 s of virtual time; stderr goes to
// `log`. nullopt if Chromium is missing or failed.
inline std::optional<std::string> dump_dom(const std::string& url,
                                           const std::filesystem::path& profile,
                                           const std::filesystem::path& log) {
  const auto chromium = find_chromium();
  if (!chromium) return std::nullopt;
  std::vector<std::string> argv = chromium_args(*chromium, profile);
  argv.push_back("--virtual-time-budget=5000");
  argv.push_back("--dump-dom");
  argv.push_back(url);
  int out[2];
  if (::pipe(out) != 0) return std::nullopt;
  const pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    exec_args(argv);
  }
  ::close(out[1]);
  std::string s;
  char buf[65536];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || s.empty()) return std::nullopt;
  return s;
}

// The Chrome DevTools protocol over --remote-debugging-pipe: Chromium reads commands from its
// fd 3 and writes replies and events to its fd 4, each a JSON text ended by '\0'.
class CdpSession {
 public:
  CdpSession() = default;
  CdpSession(const CdpSession&) = delete;
  CdpSession& operator=(const CdpSession&) = delete;
  ~CdpSession() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }

  // Starts Chromium on `url` and attaches to its page. False (with `error()`) on failure.
  bool start(const std::string& url, const std::filesystem::path& profile,
             const std::filesystem::path& log) {
    const auto chromium = find_chromium();
    if (!chromium) return fail("no chromium on PATH");
    std::vector<std::string> argv = chromium_args(*chromium, profile);
    argv.push_back("--remote-debugging-pipe");
    argv.push_back("about:blank");  // navigated once attached: no context is lost under us
    int to[2], from[2];
    if (::pipe(to) != 0 || ::pipe(from) != 0) return fail("pipe");
    pid_ = ::fork();
    if (pid_ < 0) return fail("fork");
    if (pid_ == 0) {
      // Move the ends Chromium keeps out of the way of 3 and 4 first.
      const int r = ::fcntl(to[0], F_DUPFD, 10), w = ::fcntl(from[1], F_DUPFD, 10);
      ::dup2(r, 3);
      ::dup2(w, 4);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0) {
        ::dup2(err, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
      }
      for (int fd = 5; fd < 64; ++fd) ::close(fd);
      exec_args(argv);
    }
    ::close(to[0]);
    ::close(from[1]);
    to_ = to[1];
    from_ = from[0];
    // The first page target may appear a moment after the browser answers.
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto targets = call("Target.getTargets", nlohmann::json::object());
      if (!targets) return false;
      for (const auto& t : targets->at("targetInfos")) {
        if (t.at("type") == "page") {
          auto attached =
              call("Target.attachToTarget", {{"targetId", t.at("targetId")}, {"flatten", true}});
          if (!attached) return false;
          session_ = attached->at("sessionId").get<std::string>();
          // Answers once the new document is committed; evaluate() then runs in it.
          return call("Page.navigate", {{"url", url}}, session_).has_value();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail("no page target");
  }

  // Evaluates `expression` in the page (awaiting a promise) and returns its JSON value, or
  // nullopt with `error()` (an exception in the page, or no reply within `timeout`).
  std::optional<nlohmann::json> evaluate(const std::string& expression,
                                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto r = call("Runtime.evaluate",
                  {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}},
                  session_, timeout);
    if (!r) return std::nullopt;
    if (r->contains("exceptionDetails")) return fail_v(r->at("exceptionDetails").dump());
    const auto& result = r->at("result");
    return result.contains("value") ? result.at("value") : nlohmann::json();
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& e) {
    error_ = e;
    return false;
  }
  std::optional<nlohmann::json> fail_v(const std::string& e) {
    error_ = e;
    return std::nullopt;
  }

  std::optional<nlohmann::json> call(const std::string& method, const nlohmann::json& params,
                                     const std::string& session = "",
                                     std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const int id = ++next_id_;
    nlohmann::json msg = {{"id", id}, {"method", method}, {"params", params}};
    if (!session.empty()) msg["sessionId"] = session;
    std::string text = msg.dump();
    text.push_back('\0');
    for (size_t off = 0; off < text.size();) {
      const ssize_t n = ::write(to_, text.data() + off, text.size() - off);
      if (n <= 0) return fail_v("write to chromium failed");
      off += static_cast<size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      // Replies and events share the pipe: skip events and other ids.
      for (size_t end; (end = buffer_.find('\0')) != std::string::npos;) {
        nlohmann::json m = nlohmann::json::parse(buffer_.substr(0, end), nullptr, false);
        buffer_.erase(0, end + 1);
        if (!m.is_object() || !m.contains("id") || m.at("id") != id) continue;
        if (m.contains("error")) return fail_v(method + ": " + m.at("error").dump());
        return m.value("result", nlohmann::json::object());
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return fail_v(method + ": no reply");
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::read(from_, buf, sizeof buf);
      if (n <= 0) return fail_v(method + ": chromium closed the pipe");
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  int next_id_ = 0;
  std::string session_;
  std::string buffer_;
  std::string error_;
};

}  // namespace seer::test
