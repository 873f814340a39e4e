// End to end: the real `seer serve` binary classifying images over POST /v1/classify with
// - the nsfwjs MobileNetV2 TF.js folder (written by `make models`, i.e. tools/nsfwjs/setup.sh, into
//   $SEER_MODELS_DIR, else $XDG_DATA_HOME/seer/models, else ~/.local/share/seer/models), the
//   default classifier: answers vs tests/fixtures/nsfw/expected.json "fixture" (nsfwjs 4.4.0 on
//   tfjs 4.22.0, CPU) within 1e-3. The fixture PNGs are already 224x224, so nsfwjs does not
//   resize them and seer's tf alignCorners resize at equal size is the identity (src = r exactly):
//   both feed x / 255 to the network, so only the engine's float32 arithmetic differs;
// - the tiny HF ViT classifier (tests/fixtures/models/vit-classifier-tiny): answers vs
//   tests/fixtures/classifier/vit-classifier-tiny.json (Pillow + ONNX Runtime + softmax), 1e-4.
// Also: /v1/models lists both as kind "classifier" (format tfjs / onnx), a request with no
// "model" gets the seer.json default, a batch of 24 in one call equals the singles, a bad image
// is a 4xx and the next request is served, an unknown model is a 404.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/base64.h"
#include "test_util/serve_process.h"
#include "test_util/temp_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;
using seer::test::kSeerBinary;
using seer::test::kSeerSource;
using seer::test::read_file;

namespace {

const char* const kNsfwId = "nsfwjs/mobilenet_v2";
const char* const kVitId = "vit-classifier-tiny";
constexpr double kNsfwTol = 1e-3;  // tfjs vs seer's engine, same input tensor (FORMAT.md, README)
constexpr double kVitTol = 1e-4;

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// Where `make models` put the nsfwjs folders (the Makefile exports SEER_MODELS_DIR to ctest).
fs::path nsfwjs_models_dir() {
  if (const char* d = std::getenv("SEER_MODELS_DIR"); d && *d) return fs::path(d) / "nsfwjs";
  if (const char* d = std::getenv("XDG_DATA_HOME"); d && *d) return fs::path(d) / "seer/models/nsfwjs";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".local/share/seer/models/nsfwjs";
}

// {"label", "score", "predictions"} against per-class `want` (label order `labels`).
void expect_classification(const json& got, const json& labels, const json& want, double tol,
                           const std::string& what) {
  ASSERT_TRUE(got.contains("predictions")) << what << ": " << got.dump();
  const json& preds = got.at("predictions");
  ASSERT_EQ(preds.size(), labels.size()) << what << ": every class";
  double max_err = 0;
  for (size_t i = 0; i < preds.size(); ++i) {
    if (i > 0) {
      EXPECT_GE(preds[i - 1].at("score").get<double>(), preds[i].at("score").get<double>()) << what;
    }
    const std::string label = preds[i].at("label");
    const auto it = std::find(labels.begin(), labels.end(), label);
    ASSERT_NE(it, labels.end()) << what << ": label " << label;
    const double w = want.at(static_cast<size_t>(it - labels.begin())).get<double>();
    max_err = std::max(max_err, std::fabs(preds[i].at("score").get<double>() - w));
  }
  EXPECT_LT(max_err, tol) << what << ": got " << preds.dump() << " want " << want.dump();
  EXPECT_EQ(got.at("label"), preds[0].at("label")) << what;
  EXPECT_EQ(got.at("score"), preds[0].at("score")) << what;
  // The expected top class is the answer's (when it is not a near tie).
  std::vector<double> w = want.get<std::vector<double>>();
  const size_t top = std::max_element(w.begin(), w.end()) - w.begin();
  std::sort(w.begin(), w.end());
  if (w[w.size() - 1] - w[w.size() - 2] > 2 * tol) {
    EXPECT_EQ(got.at("label"), labels[top]) << what;
  }
}

class ServeClassify : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kSeerBinary)) << kSeerBinary;
    const fs::path nsfw_src = nsfwjs_models_dir() / "mobilenet_v2";
    ASSERT_TRUE(fs::exists(nsfw_src / "model.json") && fs::exists(nsfw_src / "seer.json"))
        << nsfw_src << " is missing: run `make models` (tools/nsfwjs/setup.sh) or set SEER_MODELS_DIR";
    // The catalog does not follow symlinked folders, so the folder is real and its files link to
    // the installed ones (2.6 MB not copied); the HF fixture is copied.
    const fs::path models = tmp_.path() / "models";
    const fs::path nsfw = models / kNsfwId;
    fs::create_directories(nsfw);
    for (const auto& e : fs::directory_iterator(nsfw_src)) fs::create_symlink(e.path(), nsfw / e.path().filename());
    const fs::path vit = models / kVitId;
    fs::create_directories(vit);
    for (const char* f : {"model.onnx", "config.json", "preprocessor_config.json"}) {
      fs::copy_file(kSeerSource / "tests/fixtures/models/vit-classifier-tiny" / f, vit / f);
    }
    ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models.string()}, std::chrono::seconds(15)))
        << "seer serve did not come up; log:\n" << serve_.log();
  }

  httplib::Result get(const std::string& path) { return serve_.client(120).Get(path); }
  httplib::Result post(const json& body) {
    return serve_.client(120).Post("/v1/classify", body.dump(), "application/json");
  }
  std::string b64(const fs::path& rel) { return seer::base64_encode(read_file(kSeerSource / "tests/fixtures" / rel)); }
  std::string log() { return serve_.log(); }

  seer::test::TempDir tmp_{"seer-serve-classify"};
  seer::test::ServeProcess serve_;  // declared after tmp_: the server is killed before its folder goes
};

TEST_F(ServeClassify, NsfwjsAndHfClassifiersAnswerLikeTheirReferences) {
  // The catalog: both folders, kind classifier, their formats.
  auto r = get("/v1/models");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json models = json::parse(r->body);
  const json& list = models.is_array() ? models : models.at(models.contains("models") ? "models" : "data");
  std::map<std::string, json> by_id;
  for (const auto& m : list) by_id[m.at("id").get<std::string>()] = m;
  ASSERT_TRUE(by_id.count(kNsfwId)) << r->body;
  ASSERT_TRUE(by_id.count(kVitId)) << r->body;
  EXPECT_EQ(by_id[kNsfwId].at("kind"), "classifier");
  EXPECT_EQ(by_id[kNsfwId].at("format"), "tfjs");
  EXPECT_EQ(by_id[kVitId].at("kind"), "classifier");
  EXPECT_EQ(by_id[kVitId].at("format"), "onnx");

  // nsfwjs MobileNetV2: all 24 fixture photos in one call (the server batches them), then a few
  // alone, by image_url (data URI), image (raw base64) and with no "model" (the default).
  const json expected = read_json(kSeerSource / "tests/fixtures/nsfw/expected.json");
  const json& labels = expected.at("labels");
  const json& results = expected.at("models").at("mobilenet_v2").at("results");
  std::vector<std::string> ids;
  json images = json::array();
  for (auto it = results.begin(); it != results.end(); ++it) {
    ids.push_back(it.key());
    images.push_back(b64(fs::path("nsfw/224") / (it.key() + ".png")));
  }
  ASSERT_GE(ids.size(), 20u);
  r = post({{"images", images}, {"model", kNsfwId}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body << "\n" << log();
  json batch = json::parse(r->body);
  ASSERT_EQ(batch.at("results").size(), ids.size());
  EXPECT_EQ(batch.at("model"), kNsfwId);
  std::set<std::string> tops;
  for (size_t i = 0; i < ids.size(); ++i) {
    expect_classification(batch["results"][i], labels, results.at(ids[i]).at("fixture"), kNsfwTol, ids[i]);
    tops.insert(batch["results"][i].at("label").get<std::string>());
  }
  for (size_t i = 0; i < 3; ++i) {
    const std::string png = b64(fs::path("nsfw/224") / (ids[i] + ".png"));
    r = post({{"image_url", "data:image/png;base64," + png}, {"model", kNsfwId}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json one = json::parse(r->body);
    expect_classification(one, labels, results.at(ids[i]).at("fixture"), kNsfwTol, ids[i] + " single");
    // Alone or in a batch of 24: the same numbers (rows are independent).
    for (size_t k = 0; k < labels.size(); ++k) {
      EXPECT_NEAR(one["predictions"][k]["score"].get<double>(), batch["results"][i]["predictions"][k]["score"].get<double>(),
                  1e-6);
    }
    r = post({{"image", png}});  // no model: the seer.json default
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json def = json::parse(r->body);
    EXPECT_EQ(r->get_header_value("X-Seer-Model"), kNsfwId);
    EXPECT_EQ(def.count("model"), 0u);  // the single reply is exactly {"label", "score", "predictions"}
    expect_classification(def, labels, results.at(ids[i]).at("fixture"), kNsfwTol, ids[i] + " default");
  }

  // The tiny HF ViT classifier on committed images (one resized from 224, several from photos).
  const json vit = read_json(kSeerSource / "tests/fixtures/classifier/vit-classifier-tiny.json");
  for (const auto& want : vit.at("results")) {
    r = post({{"image_url", b64(want.at("image").get<std::string>())}, {"model", kVitId}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    expect_classification(json::parse(r->body), vit.at("labels"), want.at("probabilities"), kVitTol,
                          want.at("image").get<std::string>());
  }

  // Errors: a corrupt image (JPEG magic, then garbage) is a 4xx and the next request is served;
  // bad base64 400; unknown model 404; two image fields 400.
  std::string corrupt = "\xFF\xD8\xFF\xE0";
  for (int i = 0; i < 500; ++i) corrupt.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
  r = post({{"image_url", seer::base64_encode(corrupt)}, {"model", kNsfwId}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status == 400 || r->status == 415) << r->status << " " << r->body;
  r = post({{"image_url", "***not base64***"}, {"model", kNsfwId}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = post({{"image_url", b64("nsfw/224/" + ids[0] + ".png")}, {"model", "no-such-model"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
  r = post({{"image_url", b64("nsfw/224/" + ids[0] + ".png")}, {"image", "x"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = post({{"image_url", b64("nsfw/224/" + ids[0] + ".png")}, {"model", kNsfwId}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  expect_classification(json::parse(r->body), labels, results.at(ids[0]).at("fixture"), kNsfwTol,
                        ids[0] + " after errors");

  // SIGTERM -> exit 0.
  EXPECT_EQ(serve_.stop(SIGTERM), 0) << log();
}

}  // namespace
