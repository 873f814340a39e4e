// End to end: what a hostile or clumsy client gets from the real `seer serve`.
// - Bad inputs of every kind get the right 4xx with a JSON error naming the problem, and the
//   request after each is served normally.
// - SIGTERM while requests are in flight: they are all answered, then the process exits 0.
// - --api-key: every route but /health needs the key; a non-loopback bind without a key is
//   refused (exit 2), with a key it serves.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util/serve_process.h"
#include "test_util/temp_dir.h"

namespace {

using nlohmann::json;
using seer::test::fixture_image_b64;

uint32_t crc32(const std::string& bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string png_chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

// A 60 000 x 60 000 grayscale PNG in ~60 bytes: a decompression bomb's header (3.6 gigapixels).
std::string bomb_png() {
  const std::string ihdr = be32(60000) + be32(60000) + std::string("\x08\x00\x00\x00\x00", 5);
  const std::string idat("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);  // an empty zlib stream
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) +
         png_chunk("IEND", "");
}

class ServeErrors : public ::testing::Test {
 protected:
  void SetUp() override { seer::test::copy_fixture_model("tagger-tiny", models(), "tagger-tiny"); }
  std::filesystem::path models() const { return tmp_.path() / "models"; }
  std::string good_body() const {
    static const std::string image = fixture_image_b64("small_97x61.png");
    return json{{"image", image}, {"model", "tagger-tiny"}}.dump();
  }

  seer::test::TempDir tmp_{"seer-serve-errors"};
  seer::test::ServeProcess serve_;
};

TEST_F(ServeErrors, BadInputsGetTheRight4xxAndTheNextRequestIsServed) {
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string()})) << serve_.log();
  httplib::Client c = serve_.client();
  std::string corrupt = "\xFF\xD8\xFF\xE0";
  for (int i = 0; i < 500; ++i) corrupt.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
  const std::string png_magic_then_garbage = std::string("\x89PNG\r\n\x1a\n", 8) + "garbage-garbage-garbage";

  struct Case {
    const char* what;
    const char* method;
    const char* path;
    std::string body;
    int want;
    const char* code;  // the error code in the JSON body
  };
  const std::vector<Case> cases = {
      {"bad JSON", "POST", "/v1/tag", "{\"image\": ", 400, "InvalidArgument"},
      {"JSON that is not an object", "POST", "/v1/tag", "[1, 2]", 400, "InvalidArgument"},
      {"broken base64", "POST", "/v1/tag", json{{"image", "@@@not base64@@@"}}.dump(), 400, "InvalidArgument"},
      {"broken data URI", "POST", "/v1/tag", json{{"image", "data:image/png;base64"}}.dump(), 400, "InvalidArgument"},
      {"corrupt JPEG", "POST", "/v1/tag", json{{"image", seer::base64_encode(corrupt)}}.dump(), 0, nullptr},
      {"PNG magic then garbage", "POST", "/v1/tag", json{{"image", seer::base64_encode(png_magic_then_garbage)}}.dump(),
       0, nullptr},
      {"not an image at all", "POST", "/v1/tag", json{{"image", seer::base64_encode("hello, world")}}.dump(), 0,
       nullptr},
      {"decompression bomb PNG", "POST", "/v1/tag", json{{"image", seer::base64_encode(bomb_png())}}.dump(), 413,
       "PayloadTooLarge"},
      {"unknown model", "POST", "/v1/tag",
       json{{"image", fixture_image_b64("small_97x61.png")}, {"model", "no-such-model"}}.dump(), 404, "NotFound"},
      {"a path as the model", "POST", "/v1/tag",
       json{{"image", fixture_image_b64("small_97x61.png")}, {"model", "../../../etc/passwd"}}.dump(), 404,
       "NotFound"},
      {"missing image", "POST", "/v1/tag", json{{"model", "tagger-tiny"}}.dump(), 400, "InvalidArgument"},
      {"image of the wrong type", "POST", "/v1/tag", json{{"image", 42}}.dump(), 400, "InvalidArgument"},
      {"threshold out of range", "POST", "/v1/tag",
       json{{"image", fixture_image_b64("small_97x61.png")}, {"general_threshold", 7}}.dump(), 400,
       "InvalidArgument"},
      {"empty images list", "POST", "/v1/vision/batch-caption", json{{"images", json::array()}}.dump(), 400,
       "InvalidArgument"},
      {"missing images", "POST", "/v1/vision/batch-caption", "{}", 400, "InvalidArgument"},
      {"chat without an image", "POST", "/v1/chat/completions",
       json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump(), 400, "InvalidArgument"},
      {"load without a model", "POST", "/v1/models/load", "{}", 400, "InvalidArgument"},
      {"unload of an unknown model", "POST", "/v1/models/unload", json{{"model", "nope"}}.dump(), 404, "NotFound"},
      {"wrong method", "GET", "/v1/tag", "", 404, "NotFound"},
      {"unknown route", "POST", "/v1/nothing-here", "{}", 404, "NotFound"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    auto r = std::string(k.method) == "GET" ? c.Get(k.path) : c.Post(k.path, k.body, "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    if (k.want) {
      EXPECT_EQ(r->status, k.want) << r->body;
    } else {  // a bad image: 400 (cannot decode) or 415 (a format seer does not read)
      EXPECT_TRUE(r->status == 400 || r->status == 415) << r->status << " " << r->body;
    }
    const json body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body.contains("error")) << r->body;
    if (k.code) {
      EXPECT_EQ(body["error"]["code"], k.code) << r->body;
    }
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    EXPECT_FALSE(r->get_header_value("X-RAM-Used").empty()) << "errors carry the memory headers too";
    auto ok = c.Post("/v1/tag", good_body(), "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << "the request after '" << k.what << "' failed: " << ok->body;
  }

  // A body over the 256 MiB limit, streamed (the client never holds it): 413, then served.
  const size_t kOver = (256u << 20) + 1;
  auto r = c.Post(
      "/v1/tag", kOver,
      [](size_t offset, size_t length, httplib::DataSink& sink) {
        static const std::string chunk(1 << 16, 'x');
        (void)offset;
        return sink.write(chunk.data(), std::min(length, chunk.size()));
      },
      "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413) << r->body;
  auto ok = serve_.client().Post("/v1/tag", good_body(), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(serve_.stop(SIGTERM), 0) << serve_.log();
}

TEST_F(ServeErrors, SigtermWhileBusyDrainsInFlightRequests) {
  // A 2 s batch window keeps the requests queued (in flight) when the signal arrives.
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--batch-delay-ms", "2000",
                                         "--max-batch", "64"}))
      << serve_.log();
  ASSERT_EQ(serve_.client().Post("/v1/models/load", R"({"model": "tagger-tiny"})", "application/json")->status, 200);
  constexpr int kClients = 8;
  std::atomic<int> started{0}, ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      httplib::Client c = serve_.client();
      started++;
      auto r = c.Post("/v1/tag", good_body(), "application/json");
      (r && r->status == 200 ? ok : failed)++;
    });
  }
  // Wait until all of them hold the model (decoding or queued; the batch is still open), then signal.
  httplib::Client probe = serve_.client();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int in_flight = 0;
  while (in_flight < kClients && std::chrono::steady_clock::now() < deadline) {
    auto st = probe.Get("/v1/status");
    if (st && st->status == 200) {
      const json loaded = json::parse(st->body)["loaded"];
      in_flight = loaded.empty() ? 0 : loaded[0].value("jobs", 0);
    }
    if (in_flight < kClients) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(in_flight, kClients) << "the requests did not all reach the model";
  ASSERT_EQ(::kill(serve_.pid(), SIGTERM), 0);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients) << failed << " in-flight requests were not answered\n" << serve_.log();
  EXPECT_EQ(serve_.stop(SIGTERM), 0) << serve_.log();
  EXPECT_NE(serve_.log().find("draining"), std::string::npos);
}

TEST_F(ServeErrors, ApiKeyIsEnforcedExceptHealth) {
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--api-key", "s3cret"})) << serve_.log();
  httplib::Client c = serve_.client();
  EXPECT_EQ(c.Get("/health")->status, 200);
  for (const char* path : {"/v1/models", "/v1/status", "/metrics"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "Unauthenticated") << path;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
    r = c.Get(path, {{"Authorization", "Bearer wrong"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    r = c.Get(path, {{"Authorization", "Bearer s3cret"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
  }
  auto r = c.Post("/v1/tag", good_body(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = c.Post("/v1/tag", {{"Authorization", "Bearer s3cret"}}, good_body(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(ServeErrors, NonLoopbackBindNeedsAKey) {
  EXPECT_FALSE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--host", "0.0.0.0"}));
  EXPECT_TRUE(serve_.exited_now());
  EXPECT_EQ(serve_.exit_status(), 2) << serve_.log();
  EXPECT_NE(serve_.log().find("--api-key"), std::string::npos) << serve_.log();
  // With a key it serves (and still needs the key).
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--host", "0.0.0.0", "--api-key", "k"}))
      << serve_.log();
  httplib::Client c = serve_.client();
  EXPECT_EQ(c.Get("/v1/models")->status, 401);
  EXPECT_EQ(c.Get("/v1/models", {{"Authorization", "Bearer k"}})->status, 200);
}

}  // namespace
