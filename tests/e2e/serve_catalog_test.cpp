// End to end: the model catalog behind GET /v1/models.
// - 1000 polls of an unchanged models dir scan nothing (seer_catalog_scans_total stays put);
// - a model folder created while the server runs appears without POST /v1/models/refresh
//   (inotify), and can be used at once;
// - a restart over the unchanged tree uses the persisted catalog: no scan at all.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "test_util/serve_process.h"
#include "test_util/temp_dir.h"

namespace {

using nlohmann::json;
using seer::test::metric_value;

std::set<std::string> model_ids(httplib::Client& c) {
  auto r = c.Get("/v1/models");
  std::set<std::string> ids;
  if (!r || r->status != 200) {
    ADD_FAILURE() << "GET /v1/models: " << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
    return ids;
  }
  const json body = json::parse(r->body);  // named: a range-for over a temporary's member dangles
  for (const auto& m : body.at("models")) ids.insert(m.at("id").get<std::string>());
  return ids;
}

double scans(httplib::Client& c) {
  auto r = c.Get("/metrics");
  return r ? metric_value(r->body, "seer_catalog_scans_total") : -1;
}

TEST(ServeCatalog, PollsDoNotRescanAndNewFoldersAppearWithoutRefresh) {
  seer::test::TempDir tmp("seer-serve-catalog");
  const auto models = tmp.path() / "models";
  seer::test::copy_fixture_model("tagger-tiny", models, "tagger-a");
  seer::test::ServeProcess serve;
  ASSERT_TRUE(serve.start(tmp.path(), {"--models-dir", models.string()})) << serve.log();
  httplib::Client c = serve.client();
  ASSERT_EQ(model_ids(c), std::set<std::string>{"tagger-a"}) << c.Get("/v1/models")->body << "\n" << serve.log();
  const double before = scans(c);
  ASSERT_GE(before, 0);

  for (int i = 0; i < 1000; ++i) {
    auto r = c.Get("/v1/models");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  EXPECT_EQ(scans(c), before) << "GET /v1/models rescanned an unchanged models dir";

  // A new folder (written into a hidden temp name first, then renamed, as an installer would).
  seer::test::copy_fixture_model("tagger-tiny", models, ".incoming");
  std::filesystem::rename(models / ".incoming", models / "tagger-b");
  std::set<std::string> ids;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    ids = model_ids(c);
    if (ids.count("tagger-b")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ids, (std::set<std::string>{"tagger-b", "tagger-a"})) << "the new folder did not appear";
  EXPECT_GT(scans(c), before) << "the change was noticed by a rescan";
  const double after_change = scans(c);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.Get("/v1/models"));
  EXPECT_EQ(scans(c), after_change) << "one change, one rescan";
  auto r = c.Post("/v1/tag", json{{"image", seer::test::fixture_image_b64("small_97x61.png")}, {"model", "tagger-b"}}.dump(),
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(serve.stop(SIGTERM), 0) << serve.log();

  // Restart over the same tree: the persisted catalog is used, nothing is scanned.
  ASSERT_TRUE(serve.start(tmp.path(), {"--models-dir", models.string()})) << serve.log();
  httplib::Client c2 = serve.client();
  EXPECT_EQ(model_ids(c2), (std::set<std::string>{"tagger-b", "tagger-a"}));
  EXPECT_EQ(scans(c2), 0) << "a restart over an unchanged tree rescanned it";
}

}  // namespace
