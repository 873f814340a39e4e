// End to end under load: the real `seer serve` with the tiny WD14 tagger.
// - 64 concurrent clients × 20 requests each: every answer equals the answer the same image got
//   alone (batching must not change a result), /metrics shows batches larger than 1, and
//   nothing is rejected while the queue limit is not reached.
// - A small --max-queue with a long batch window: the requests above the limit get 503 with
//   Retry-After and code Unavailable, and /metrics counts exactly those rejections.
// - 96 keep-alive clients x 8 requests in lockstep: all 200 on their own connections, all 96
//   connections served at once.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <barrier>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util/serve_process.h"
#include "test_util/temp_dir.h"

namespace {

using nlohmann::json;
using seer::test::fixture_image_b64;
using seer::test::metric_value;

const char* const kImages[] = {"exact_448x300.jpg", "odd_449x301.png", "palette_alpha.png", "small_97x61.png"};

// Same tags in the same order, scores equal to 1e-5 (a batch may take another GEMM path).
void expect_same_record(const json& got, const json& want, const std::string& what) {
  ASSERT_EQ(got.at("text"), want.at("text")) << what;
  for (const char* block : {"general", "character"}) {
    ASSERT_EQ(got.at(block).size(), want.at(block).size()) << what << " " << block;
    for (size_t i = 0; i < want.at(block).size(); ++i) {
      EXPECT_EQ(got.at(block)[i].at("tag"), want.at(block)[i].at("tag")) << what;
      EXPECT_NEAR(got.at(block)[i].at("score").get<double>(), want.at(block)[i].at("score").get<double>(), 1e-5)
          << what;
    }
  }
  for (auto& [name, score] : want.at("rating").items()) {
    EXPECT_NEAR(got.at("rating").at(name).get<double>(), score.get<double>(), 1e-5) << what << " " << name;
  }
}

class ServeLoad : public ::testing::Test {
 protected:
  void SetUp() override { seer::test::copy_fixture_model("tagger-tiny", models(), "tagger-tiny"); }
  std::filesystem::path models() const { return tmp_.path() / "models"; }

  seer::test::TempDir tmp_{"seer-serve-load"};
  seer::test::ServeProcess serve_;
};

TEST_F(ServeLoad, SixtyFourClientsGetTheSingleAnswersInBatches) {
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--max-queue", "4096",
                                         "--batch-delay-ms", "5"}))
      << serve_.log();
  std::vector<std::string> bodies;
  std::vector<json> single;
  {
    httplib::Client c = serve_.client();
    for (const char* name : kImages) {
      bodies.push_back(json{{"image", fixture_image_b64(name)}, {"model", "tagger-tiny"}}.dump());
      auto r = c.Post("/v1/tag", bodies.back(), "application/json");
      ASSERT_TRUE(r) << httplib::to_string(r.error());
      ASSERT_EQ(r->status, 200) << r->body;
      single.push_back(json::parse(r->body));
    }
  }

  constexpr int kClients = 64, kPerClient = 20;
  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::string> transport_errors;
  std::vector<std::string> mismatches;
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c = serve_.client(60);
      for (int i = 0; i < kPerClient; ++i) {
        const size_t k = static_cast<size_t>(t + i) % bodies.size();
        auto r = c.Post("/v1/tag", bodies[k], "application/json");
        std::lock_guard lock(mu);
        if (!r) {
          transport_errors.push_back(httplib::to_string(r.error()));
          continue;
        }
        statuses[r->status]++;
        if (r->status != 200) continue;
        json got = json::parse(r->body);
        if (got.at("text") != single[k].at("text")) mismatches.push_back(kImages[k]);
        else if (mismatches.empty()) expect_same_record(got, single[k], kImages[k]);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(transport_errors.empty()) << transport_errors.size() << " transport errors, e.g. "
                                        << (transport_errors.empty() ? "" : transport_errors[0]);
  EXPECT_EQ(statuses[200], kClients * kPerClient) << "statuses other than 200 seen";
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " answers differ from the single answer, e.g. "
                                  << (mismatches.empty() ? "" : mismatches[0]);

  auto m = serve_.client().Get("/metrics");
  ASSERT_TRUE(m);
  const std::string& text = m->body;
  const double batches = metric_value(text, "seer_batch_size_count{model=\"tagger-tiny\"}");
  const double batches_of_one = metric_value(text, "seer_batch_size_bucket{model=\"tagger-tiny\",le=\"1\"}");
  const double items = metric_value(text, "seer_batch_size_sum{model=\"tagger-tiny\"}");
  ASSERT_GT(batches, 0) << text;
  EXPECT_GT(batches - batches_of_one, 0) << "no batch larger than 1:\n" << text;
  const double answered = metric_value(text, "seer_requests_total{route=\"/v1/tag\",model=\"tagger-tiny\",code=\"200\"}");
  EXPECT_GE(answered, kClients * kPerClient + static_cast<double>(bodies.size())) << text;
  EXPECT_EQ(items, answered) << "every answered request ran exactly once";
  EXPECT_EQ(metric_value(text, "seer_rejections_total"), 0) << text;
  std::printf("[load] %d requests in %.0f batches (%.0f of size 1); mean batch %.2f\n", kClients * kPerClient,
              batches, batches_of_one, items / batches);
}

// More keep-alive clients than cpp-httplib 0.11's defaults serve, each sending more requests than
// its 5 per connection, in lockstep rounds: every request is answered 200 on the connection it
// was sent on (no "Connection: close", no transport error), and the server served all the
// connections at once (one thread each). With httplib's defaults the server closed each
// connection after its 5th request, a fixed pool of 64 threads left the other connections
// accepted but unread until a connection closed, and a listen backlog of 5 dropped the SYNs of
// the burst (1 s retransmits).
TEST_F(ServeLoad, NinetySixKeepAliveClientsAreServedAtOnceOnTheirConnections) {
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--max-queue", "4096",
                                         "--batch-delay-ms", "5"}))
      << serve_.log();
  const std::string body = json{{"image", fixture_image_b64("small_97x61.png")}, {"model", "tagger-tiny"}}.dump();
  std::string want_text;
  {
    auto r = serve_.client().Post("/v1/tag", body, "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    want_text = json::parse(r->body).at("text");
  }

  constexpr int kClients = 96, kRounds = 8;
  std::barrier round_end(kClients);
  std::mutex mu;
  std::vector<std::string> problems;
  int ok = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&] {
      httplib::Client c = serve_.client(120);
      c.set_keep_alive(true);
      for (int i = 0; i < kRounds; ++i) {
        auto r = c.Post("/v1/tag", body, "application/json");
        {
          std::lock_guard lock(mu);
          if (!r) problems.push_back("round " + std::to_string(i) + ": " + httplib::to_string(r.error()));
          else if (r->status != 200) problems.push_back("round " + std::to_string(i) + ": status " + std::to_string(r->status));
          else if (r->get_header_value("Connection") == "close") problems.push_back("round " + std::to_string(i) + ": Connection: close");
          else if (json::parse(r->body).at("text") != want_text) problems.push_back("round " + std::to_string(i) + ": other answer");
          else ok++;
        }
        round_end.arrive_and_wait();  // every client waits for all: the connections stay open together
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, e.g. " << (problems.empty() ? "" : problems[0]);
  EXPECT_EQ(ok, kClients * kRounds);

  auto st = serve_.client().Get("/v1/status");
  ASSERT_TRUE(st);
  const json http = json::parse(st->body).at("http");
  EXPECT_GE(http.at("peak_connection_threads").get<int>(), kClients) << http.dump();
  EXPECT_GE(http.at("max_connection_threads").get<int>(), kClients) << http.dump();
  auto m = serve_.client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(metric_value(m->body, "seer_rejections_total"), 0);
  std::printf("[keep-alive] %d clients x %d requests; peak connection threads %d\n", kClients, kRounds,
              http.at("peak_connection_threads").get<int>());
}

TEST_F(ServeLoad, AboveTheQueueLimitIs503WithRetryAfter) {
  // Each batch waits up to 400 ms for company, so the first two requests hold the queue (limit
  // 2) while the others arrive: those must be turned away at once, not queued.
  ASSERT_TRUE(serve_.start(tmp_.path(), {"--models-dir", models().string(), "--max-queue", "2", "--max-batch",
                                         "8", "--batch-delay-ms", "400"}))
      << serve_.log();
  const std::string body = json{{"image", fixture_image_b64("small_97x61.png")}, {"model", "tagger-tiny"}}.dump();
  ASSERT_EQ(serve_.client().Post("/v1/models/load", R"({"model": "tagger-tiny"})", "application/json")->status, 200);

  constexpr int kClients = 12;
  std::mutex mu;
  int ok = 0, rejected = 0, other = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&] {
      httplib::Client c = serve_.client();
      auto r = c.Post("/v1/tag", body, "application/json");
      std::lock_guard lock(mu);
      if (r && r->status == 200) {
        ok++;
      } else if (r && r->status == 503) {
        rejected++;
        EXPECT_EQ(r->get_header_value("Retry-After"), "1");
        EXPECT_EQ(json::parse(r->body)["error"]["code"], "Unavailable") << r->body;
      } else {
        other++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other, 0);
  EXPECT_GE(ok, 2) << "the queue's two places were served";
  EXPECT_GT(rejected, 0) << "nothing was refused above the queue limit";
  EXPECT_EQ(ok + rejected, kClients);
  auto m = serve_.client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(metric_value(m->body, "seer_rejections_total"), rejected) << m->body;
  // Rejections cost no one else their answer.
  auto r = serve_.client().Post("/v1/tag", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
