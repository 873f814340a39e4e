// End to end: the real `seer serve` binary with the tiny WD14 tagger (tests/fixtures/models/
// tagger-tiny) answering /v1/tag, /v1/caption, /v1/vision/batch-caption and /v1/chat/completions
// (plain and streamed). The expected records
// are tests/fixtures/tagger/e2e/expected_default.jsonl (tools/gen_tagger_fixtures.py: Pillow
// preprocessing, ONNX Runtime, an independent Python post-processing), i.e. what
// `seer tag --jsonl` must print; the HTTP record is the same without "path".
// Also: errors (bad base64, unknown model, corrupt image) do not poison the next request, and
// SIGTERM ends the server with exit 0. /v1/caption also takes form and multipart bodies of real
// images (over cpp-httplib's 8 KiB form limit).
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util/serve_process.h"
#include "test_util/temp_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;
using seer::test::kSeerSource;

namespace {

const fs::path kSource = kSeerSource;

std::string b64_of(const std::string& bytes) { return seer::base64_encode(bytes); }

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
  std::vector<std::string> keys, want_keys;
  for (auto it = got.begin(); it != got.end(); ++it) keys.push_back(it.key());
  for (auto it = want.begin(); it != want.end(); ++it) {
    if (it.key() != "path") want_keys.push_back(it.key());
  }
  std::sort(keys.begin(), keys.end());
  std::sort(want_keys.begin(), want_keys.end());
  EXPECT_EQ(keys, want_keys) << what << ": the record's keys must be the JSONL record's, without path";
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
    seer::test::copy_fixture_model("tagger-tiny", tmp_.path() / "models", "tagger-tiny");
    ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", (tmp_.path() / "models").string()}))
        << "seer serve did not come up; log:\n" << serve_.log();
    client_ = std::make_unique<httplib::Client>(serve_.client(15));
  }

  httplib::Result post(const std::string& path, const json& body) {
    return client_->Post(path, body.dump(), "application/json");
  }

  std::string image_b64(const std::string& name) { return seer::test::fixture_image_b64(name); }

  std::string log() { return serve_.log(); }

  seer::test::TempDir tmp_{"seer-serve-tagger"};
  seer::test::ServeProcess serve_;
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

  // OpenAI chat completions with an image_url part: the reply is the tag text; streamed, the
  // deltas concatenate to the same text and the stream ends with [DONE].
  json chat = {{"model", "tagger-tiny"},
               {"messages", {{{"role", "user"},
                              {"content", {{{"type", "text"}, {"text", "Describe this image."}},
                                           {{"type", "image_url"},
                                            {"image_url", {{"url", "data:image/jpeg;base64," + image_b64(a)}}}}}}}}}};
  r = post("/v1/chat/completions", chat);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json completion = json::parse(r->body);
  EXPECT_EQ(completion.at("object"), "chat.completion");
  EXPECT_EQ(completion.at("choices")[0].at("message").at("role"), "assistant");
  EXPECT_EQ(completion.at("choices")[0].at("message").at("content"), want_a.at("text"));
  chat["stream"] = true;
  r = post("/v1/chat/completions", chat);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  std::string streamed;
  bool done = false;
  std::istringstream sse(r->body);
  for (std::string line; std::getline(sse, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    EXPECT_FALSE(done) << "a chunk after [DONE]";
    const json chunk = json::parse(data);
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    const json& delta = chunk.at("choices")[0].at("delta");
    if (delta.contains("content")) streamed += delta.at("content").get<std::string>();
  }
  EXPECT_TRUE(done) << r->body;
  EXPECT_EQ(streamed, want_a.at("text").get<std::string>()) << r->body;

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
  EXPECT_EQ(serve_.stop(SIGTERM), 0) << log();
}

// Percent-encoding of a form value (RFC 3986 unreserved characters stay).
std::string form_encode(const std::string& v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Moondream Station clients post /v1/caption as a form too. A real image in a form body is far
// over cpp-httplib 0.11's 8 KiB form limit (which answered 413); the route reads its own body.
TEST_F(ServeTagger, CaptionFromFormAndMultipartBodiesWithRealImages) {
  const std::string a = "exact_448x300.jpg", b = "odd_449x301.png";
  const json want_a = expected_record(a), want_b = expected_record(b);

  // application/x-www-form-urlencoded: 43 KiB of data URI, percent-encoded ('+', '/', '=', ':').
  const std::string form =
      "model=tagger-tiny&image_url=" + form_encode("data:image/jpeg;base64," + image_b64(a));
  ASSERT_GT(form.size(), 8192u);
  auto r = client_->Post("/v1/caption", form, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body << "\n" << log();
  EXPECT_EQ(json::parse(r->body).at("caption"), want_a.at("text"));

  // The same with a charset parameter and raw base64 (no data URI) of the 215 KiB PNG.
  r = client_->Post("/v1/caption", "image_url=" + form_encode(image_b64(b)) + "&model=tagger-tiny",
                    "application/x-www-form-urlencoded; charset=utf-8");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body).at("caption"), want_b.at("text"));

  // multipart/form-data: the image as a file part (raw bytes), the model as a field.
  std::ifstream in(kSource / "tests/fixtures/images" / a, std::ios::binary);
  const std::string jpeg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(jpeg.size(), 8192u);
  httplib::MultipartFormDataItems parts = {{"image", jpeg, a, "image/jpeg"}, {"model", "tagger-tiny", "", ""}};
  r = client_->Post("/v1/caption", parts);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body).at("caption"), want_a.at("text"));

  // A form without an image is still a 400 with a message, and JSON still works after it.
  r = client_->Post("/v1/caption", "model=tagger-tiny", "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = post("/v1/caption", {{"image_url", image_b64(b)}, {"model", "tagger-tiny"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body).at("caption"), want_b.at("text"));
}

}  // namespace

namespace {

// The weights of "tagger-tiny" as /v1/models reports them (after a request loaded it).
uint64_t weight_bytes_of(httplib::Client& c) {
  auto r = c.Get("/v1/models");
  if (!r || r->status != 200) {
    ADD_FAILURE() << "GET /v1/models: " << (r ? r->body : httplib::to_string(r.error()));
    return 0;
  }
  const json models = json::parse(r->body);
  for (const json& m : models.at("models"))
    if (m.at("id") == "tagger-tiny") return m.at("memory").value("weights", uint64_t{0});
  ADD_FAILURE() << "no tagger-tiny in " << r->body;
  return 0;
}

// `--weights mapped`: the same answers as the default packed weights (the ORT + Python
// reference within 1e-4), with the MatMul weights read from the file instead of copied, so the
// ledger shows fewer weight bytes for the same model.
TEST(ServeTaggerWeights, MappedWeightsGiveTheSameTagsWithLessWeightMemory) {
  const std::string image = "exact_448x300.jpg";
  const json want = expected_record(image);
  uint64_t bytes[2] = {0, 0};
  int i = 0;
  for (const char* mode : {"packed", "mapped"}) {
    SCOPED_TRACE(mode);
    seer::test::TempDir tmp("seer-serve-weights");
    seer::test::copy_fixture_model("tagger-tiny", tmp.path() / "models", "tagger-tiny");
    seer::test::ServeProcess serve;
    ASSERT_TRUE(serve.start(tmp.path(), {"--models-dir", (tmp.path() / "models").string(), "--weights", mode}))
        << serve.log();
    httplib::Client c = serve.client(15);
    auto r = c.Post("/v1/tag", json{{"image", seer::test::fixture_image_b64(image)}, {"model", "tagger-tiny"}}.dump(),
                    "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body << "\n" << serve.log();
    expect_record_matches(json::parse(r->body), want, mode);
    bytes[i++] = weight_bytes_of(c);
    EXPECT_EQ(serve.stop(SIGTERM), 0);
  }
  EXPECT_GT(bytes[1], 0u);
  EXPECT_LT(bytes[1], bytes[0]) << "mapped " << bytes[1] << " vs packed " << bytes[0];
}

}  // namespace

