// End to end: the real `seer serve` binary with the tiny WD14 tagger (tests/fixtures/models/
// tagger-tiny) answering /v1/tag, /v1/caption and /v1/vision/batch-caption. The expected records
// are tests/fixtures/tagger/e2e/expected_default.jsonl (tools/gen_tagger_fixtures.py: Pillow
// preprocessing, ONNX Runtime, an independent Python post-processing), i.e. what
// `seer tag --jsonl` must print; the HTTP record is the same without "path".
// Also: errors (bad base64, unknown model, corrupt image) do not poison the next request, and
// SIGTERM ends the server with exit 0.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kSource = SEER_SOURCE_DIR;
const fs::path kBinary = fs::path(SEER_BINARY_DIR) / "seer";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string b64_of(const std::string& bytes) { return seer::base64_encode(bytes); }

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The expected record of `image` (its "path" in the JSONL).
json expected_record(const std::string& image) {
  std::ifstream in(kSource / "tests/fixtures/tagger/e2e/expected_default.jsonl");
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j.at("path") == image) return j;
  }
  ADD_FAILURE() << "no expected record for " << image;
  return json::object();
}

void expect_tags_near(const json& got, const json& want, const std::string& what) {
  ASSERT_TRUE(got.is_array()) << what;
  ASSERT_EQ(got.size(), want.size()) << what << ": got " << got.dump() << "\nwant " << want.dump();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].at("tag"), want[i].at("tag")) << what << " #" << i;
    EXPECT_NEAR(got[i].at("score").get<double>(), want[i].at("score").get<double>(), 1e-4) << what << " #" << i;
  }
}

// The HTTP record must be the JSONL record without "path": same keys, same order.
void expect_record_matches(const json& got, const json& want, const std::string& what) {
  std::vector<std::string> keys;
  for (auto it = got.begin(); it != got.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(got.count("path"), 0u) << what;
  ASSERT_TRUE(got.contains("rating")) << what << ": " << got.dump();
  for (auto& [name, score] : want.at("rating").items()) {
    ASSERT_TRUE(got.at("rating").contains(name)) << what << " rating " << name;
    EXPECT_NEAR(got.at("rating").at(name).get<double>(), score.get<double>(), 1e-4) << what << " rating " << name;
  }
  EXPECT_EQ(got.at("rating").size(), want.at("rating").size()) << what;
  expect_tags_near(got.at("general"), want.at("general"), what + " general");
  expect_tags_near(got.at("character"), want.at("character"), what + " character");
  EXPECT_EQ(got.at("text"), want.at("text")) << what;
}

class ServeTagger : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary;
    char tmpl[] = "/tmp/seer-serve-tagger-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    const fs::path models = tmp_ / "models" / "tagger-tiny";
    fs::create_directories(models);
    for (const char* f : {"model.onnx", "selected_tags.csv"}) {
      fs::copy_file(kSource / "tests/fixtures/models/tagger-tiny" / f, models / f);
    }
    fs::create_directories(tmp_ / "cache");
    fs::create_directories(tmp_ / "config");
    port_ = free_port();
    ASSERT_GT(port_, 0);

    const std::string port = std::to_string(port_);
    const std::string models_dir = (tmp_ / "models").string();
    const std::string log = (tmp_ / "serve.log").string();
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::setenv("XDG_CACHE_HOME", (tmp_ / "cache").c_str(), 1);
      ::setenv("XDG_CONFIG_HOME", (tmp_ / "config").c_str(), 1);
      FILE* f = std::freopen(log.c_str(), "w", stdout);
      (void)f;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      ::execl(kBinary.c_str(), kBinary.c_str(), "serve", "--port", port.c_str(), "--models-dir",
              models_dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(15, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool up = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = client_->Get("/health"); r && r->status == 200) {
        up = true;
        break;
      }
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(up) << "seer serve did not come up; log:\n" << read_file(tmp_ / "serve.log");
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }

  httplib::Result post(const std::string& path, const json& body) {
    return client_->Post(path, body.dump(), "application/json");
  }

  std::string image_b64(const std::string& name) {
    return b64_of(read_file(kSource / "tests/fixtures/images" / name));
  }

  std::string log() { return read_file(tmp_ / "serve.log"); }

  fs::path tmp_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServeTagger, TagCaptionBatchErrorsAndSigterm) {
  const std::string a = "exact_448x300.jpg", b = "odd_449x301.png";
  const json want_a = expected_record(a), want_b = expected_record(b);

  // /v1/tag: the `seer tag --jsonl` record without "path".
  auto r = post("/v1/tag", {{"image", image_b64(a)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body << "\n" << log();
  json got = json::parse(r->body);
  expect_record_matches(got, want_a, a);
  EXPECT_FALSE(want_a.at("general").empty());  // the fixture exercises real tags

  // Data URI form, the PNG.
  r = post("/v1/tag", {{"image", "data:image/png;base64," + image_b64(b)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  expect_record_matches(json::parse(r->body), want_b, b);

  // /v1/caption: the tag text.
  r = post("/v1/caption", {{"image_url", "data:image/jpeg;base64," + image_b64(a)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body).at("caption"), want_a.at("text"));

  // /v1/vision/batch-caption with two images.
  r = post("/v1/vision/batch-caption", {{"images", {image_b64(a), image_b64(b)}}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json batch = json::parse(r->body);
  EXPECT_EQ(batch.at("count"), 2);
  ASSERT_EQ(batch.at("captions").size(), 2u) << r->body;
  EXPECT_EQ(batch.at("captions")[0].at("text"), want_a.at("text"));
  EXPECT_EQ(batch.at("captions")[1].at("text"), want_b.at("text"));

  // Bad base64 -> 400, then a good request still succeeds.
  r = post("/v1/tag", {{"image", "***not base64***"}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = post("/v1/tag", {{"image", image_b64(a)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  expect_record_matches(json::parse(r->body), want_a, a + " after bad base64");

  // Unknown model -> 404.
  r = post("/v1/tag", {{"image", image_b64(a)}, {"model", "no-such-model"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;

  // A corrupt image (JPEG magic, then garbage) -> 400 or 415, then the next request succeeds.
  std::string corrupt = "\xFF\xD8\xFF\xE0";
  for (int i = 0; i < 500; ++i) corrupt.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
  r = post("/v1/tag", {{"image", b64_of(corrupt)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status == 400 || r->status == 415) << r->status << " " << r->body;
  r = post("/v1/tag", {{"image", image_b64(b)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  expect_record_matches(json::parse(r->body), want_b, b + " after corrupt image");

  // SIGTERM -> exit 0.
  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  int st = 0;
  ASSERT_EQ(::waitpid(pid_, &st, 0), pid_);
  pid_ = -1;
  ASSERT_TRUE(WIFEXITED(st)) << log();
  EXPECT_EQ(WEXITSTATUS(st), 0) << log();
}

}  // namespace
