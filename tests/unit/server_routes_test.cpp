// The HTTP routes in-process: a real HttpServer on a free loopback port with fake models,
// spoken to with cpp-httplib's client.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/base64.h"
#include "runtime/testing/fake_backend.h"
#include "runtime_test_util.h"
#include "server/http_server.h"

namespace seer {
namespace {

using nlohmann::json;
using testing::TempModelsDir;
constexpr uint64_t kMiB = 1 << 20;
const DeviceId kSim{DeviceKind::kSimulated, 1};

ManagerOptions manager_options(DeviceId device) {
  ManagerOptions o;
  o.device = device;
  o.reaper_thread = false;
  return o;
}
HttpOptions http_options(const std::string& host, const std::string& key) {
  HttpOptions o;
  o.host = host;
  o.port = 0;
  o.api_key = key;
  return o;
}

struct ServerFixture {
  TempModelsDir dir;
  MemoryLedger ledger;
  std::shared_ptr<FakeStats> stats = std::make_shared<FakeStats>();
  ModelFamilyRegistry families = default_family_registry();
  std::unique_ptr<ModelCatalog> catalog;
  std::unique_ptr<ModelManager> manager;
  std::unique_ptr<Scheduler> scheduler;
  Metrics metrics;
  std::unique_ptr<ServerContext> ctx;
  std::unique_ptr<HttpServer> server;
  std::thread thread;

  void start(HttpOptions http = {}, SchedulerOptions sched = {}, uint64_t budget = 64 * kMiB) {
    ledger.add_device(Device::simulated(1, budget), budget);
    families.add(fake_family(ModelKind::kTagger, FakeSpec{}, stats));
    families.add(fake_family(ModelKind::kClassifier, FakeSpec{}, stats, "fake.classifier"));
    auto c = ModelCatalog::open(testing::catalog_options(dir.models()), families);
    ASSERT_TRUE(c.ok());
    catalog = std::move(c).value();
    manager = std::make_unique<ModelManager>(ledger, *catalog, families,
                                             manager_options(kSim));
    scheduler = std::make_unique<Scheduler>(sched);
    scheduler->set_batch_observer([this](const BatchEvent& e) { metrics.observe_batch(e.model, e.size, e.run_ms); });
    ctx = std::make_unique<ServerContext>(ServerContext{ledger, *catalog, *manager, *scheduler, metrics, {}});
    http.port = 0;
    server = std::make_unique<HttpServer>(*ctx, http);
    ASSERT_TRUE(server->bind().ok());
    thread = std::thread([this] { server->run(); });
    while (!server->running()) std::this_thread::yield();
  }
  ~ServerFixture() {
    if (server) server->stop();
    if (thread.joinable()) thread.join();
    if (scheduler) scheduler->drain();
    if (manager) manager->shutdown();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(30);
    return c;
  }
};

json body_of(const httplib::Result& r) { return json::parse(r->body); }

void expect_memory_headers(const httplib::Result& r) {
  for (const char* h : {"X-VRAM-Used", "X-VRAM-Total", "X-RAM-Used", "X-RAM-Total"}) {
    EXPECT_TRUE(r->has_header(h)) << h;
  }
}

TEST(ServerRoutes, HealthAndMemoryHeaders) {
  ServerFixture f;
  f.start();
  auto r = f.client().Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_of(r)["status"], "ok");
  expect_memory_headers(r);
  EXPECT_EQ(r->get_header_value("X-VRAM-Total"), "64");  // the (simulated) device budget, MB
}

TEST(ServerRoutes, ModelsListsTheCatalogWithState) {
  ServerFixture f;
  f.dir.add_fake("taggers/a", "weights=2MiB");
  f.dir.write("nsfw/fake.classifier", "weights=1MiB");
  f.start();
  auto r = f.client().Get("/v1/models");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json models = body_of(r)["models"];
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0]["id"], "nsfw");  // sorted by id
  EXPECT_EQ(models[0]["kind"], "classifier");
  EXPECT_EQ(models[1]["id"], "taggers/a");
  EXPECT_EQ(models[1]["kind"], "tagger");
  EXPECT_EQ(models[1]["state"], "unloaded");
  EXPECT_EQ(models[1]["loadable"], true);
  EXPECT_EQ(models[1]["keep_alive"], 300);
  expect_memory_headers(r);
  const uint64_t scans = f.catalog->scan_count();
  for (int i = 0; i < 50; ++i) ASSERT_EQ(f.client().Get("/v1/models")->status, 200);
  EXPECT_EQ(f.catalog->scan_count(), scans);
}

TEST(ServerRoutes, BadJsonIs400AndTheNextRequestIsServed) {
  ServerFixture f;
  f.dir.add_fake("a");
  f.start();
  auto cli = f.client();
  auto r = cli.Post("/v1/tag", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r)["error"]["code"], "InvalidArgument");
  expect_memory_headers(r);
  r = cli.Post("/v1/tag", R"({"image": "!!!notbase64"})", "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("'image'"), std::string::npos);
  r = cli.Post("/v1/tag", json{{"image", base64_encode("pic")}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_of(r)["text"], "fake:pic");
}

TEST(ServerRoutes, UnknownModelIs404AndUnknownRouteIs404Json) {
  ServerFixture f;
  f.dir.add_fake("a");
  f.start();
  auto cli = f.client();
  auto r = cli.Post("/v1/tag", json{{"image", base64_encode("x")}, {"model", "../../etc"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_of(r)["error"]["code"], "NotFound");
  r = cli.Get("/v1/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_of(r)["error"]["code"], "NotFound");
  expect_memory_headers(r);
}

TEST(ServerRoutes, TagBatchCaptionCaptionAndChatShapes) {
  ServerFixture f;
  f.dir.add_fake("a");
  f.start();
  auto cli = f.client();
  // /v1/tag with a list, one image bad: per-image records, the bad one an error.
  auto r = cli.Post("/v1/tag", json{{"images", {base64_encode("p1"), base64_encode("bad-image")}}, {"model", "a"}}.dump(),
                    "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  json b = body_of(r);
  EXPECT_EQ(b["count"], 2);
  EXPECT_EQ(b["results"][0]["text"], "fake:p1");
  ASSERT_EQ(b["results"][0]["general"].size(), 1u);  // the `seer tag --jsonl` record shape
  EXPECT_EQ(b["results"][0]["general"][0]["tag"], "fake:p1");
  EXPECT_EQ(b["results"][0]["general"][0]["score"], 0.5);
  EXPECT_EQ(b["results"][1]["error"]["code"], "InvalidArgument");
  EXPECT_TRUE(r->has_header("X-Inference-Time"));
  // The original batch-caption shape, data URIs accepted.
  r = cli.Post("/v1/vision/batch-caption",
               json{{"images", {"data:image/png;base64," + base64_encode("q1"), base64_encode("q2")}}, {"model", "a"}}.dump(),
               "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  b = body_of(r);
  EXPECT_EQ(b["count"], 2);
  EXPECT_EQ(b["captions"][0]["text"], "fake:q1");
  EXPECT_EQ(b["captions"][1]["text"], "fake:q2");
  EXPECT_TRUE(b["duration"].is_number());
  // Moondream Station's caption.
  r = cli.Post("/v1/caption", json{{"image_url", "data:image/jpeg;base64," + base64_encode("c")}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_of(r)["caption"], "fake:c");
  EXPECT_EQ(body_of(r)["_stats"]["tokens"], 1);
  // Multipart caption with a file part.
  httplib::MultipartFormDataItems items = {{"image_url", "filebytes", "x.jpg", "image/jpeg"}};
  r = cli.Post("/v1/caption", items);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_of(r)["caption"], "fake:filebytes");
  // OpenAI chat.
  json chat = {{"model", "a"},
               {"messages", {{{"role", "user"},
                              {"content", {{{"type", "text"}, {"text", "tags?"}},
                                           {{"type", "image_url"},
                                            {"image_url", {{"url", "data:image/png;base64," + base64_encode("z")}}}}}}}}}};
  r = cli.Post("/v1/chat/completions", chat.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  b = body_of(r);
  EXPECT_EQ(b["object"], "chat.completion");
  EXPECT_EQ(b["choices"][0]["message"]["content"], "fake:z");
  chat["stream"] = true;
  r = cli.Post("/v1/chat/completions", chat.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_NE(r->body.find("\"content\":\"fake:z\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("data: [DONE]\n\n"), std::string::npos) << r->body;
  // A chat without an image is a 400.
  r = cli.Post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump(),
               "application/json");
  EXPECT_EQ(r->status, 400);
  // A tagger is not a classifier.
  r = cli.Post("/v1/classify", json{{"image", base64_encode("x")}, {"model", "a"}}.dump(), "application/json");
  EXPECT_EQ(r->status, 400);
}

TEST(ServerRoutes, LoadUnloadAndBiggerThanBudgetIs507) {
  ServerFixture f;
  f.dir.add_fake("a", "weights=8MiB arena_per_item=1MiB max_batch=2");
  f.dir.add_fake("huge", "weights=100MiB max_batch=1");
  f.start({}, {}, 64 * kMiB);
  auto cli = f.client();
  auto r = cli.Post("/v1/models/load", json{{"model", "a"}, {"keep_alive", "10m"}, {"pin", true}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  json m = body_of(r)["model"];
  EXPECT_EQ(m["state"], "ready");
  EXPECT_EQ(m["keep_alive"], 600);
  EXPECT_EQ(m["pinned"], true);
  EXPECT_EQ(m["memory"]["weights"], 8 * kMiB);
  EXPECT_EQ(r->get_header_value("X-VRAM-Used"), "10");
  r = cli.Get("/v1/status");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(body_of(r)["ledger"]["a"]["arena"], 2 * kMiB);
  r = cli.Post("/v1/models/load", json{{"model", "huge"}}.dump(), "application/json");
  EXPECT_EQ(r->status, 507);
  EXPECT_EQ(body_of(r)["error"]["code"], "ResourceExhausted");
  r = cli.Post("/v1/models/unload", json{{"model", "a"}}.dump(), "application/json");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(f.ledger.total_bytes(), 0u);
  r = cli.Post("/v1/models/unload", json::object().dump(), "application/json");
  EXPECT_EQ(r->status, 400);
  r = cli.Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("seer_model_load_failures_total 1"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("seer_requests_total{route=\"/v1/models/load\",model=\"huge\",code=\"507\"} 1"),
            std::string::npos);
}

TEST(ServerRoutes, QueueFullIs503WithRetryAfter) {
  ServerFixture f;
  f.dir.add_fake("a", "max_batch=1");
  f.start({}, testing::scheduler_options(1, 0));
  f.stats->gate.close();
  auto tag = [&](std::string s) {
    return f.client().Post("/v1/tag", json{{"image", base64_encode(s)}, {"model", "a"}}.dump(), "application/json");
  };
  std::optional<httplib::Result> r1, r2;
  std::thread t1([&] { r1 = tag("1"); });
  while (f.stats->gate.waiting() == 0) std::this_thread::yield();  // 1 runs
  std::thread t2([&] { r2 = tag("2"); });
  while (f.scheduler->queue_depths()["a"] < 1) std::this_thread::yield();  // 2 waits
  auto r3 = tag("3");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 503);
  EXPECT_EQ(r3->get_header_value("Retry-After"), "1");
  EXPECT_EQ(body_of(r3)["error"]["code"], "Unavailable");
  f.stats->gate.open();
  t1.join();
  t2.join();
  ASSERT_TRUE(*r1 && *r2);
  EXPECT_EQ((*r1)->status, 200);
  EXPECT_EQ((*r2)->status, 200);
  EXPECT_EQ(body_of(*r2)["text"], "fake:2");
}

TEST(ServerRoutes, AClientThatHangsUpWhileQueuedGetsItsJobCancelledNotRun) {
  ServerFixture f;
  f.dir.add_fake("a", "max_batch=1");
  f.start({}, testing::scheduler_options(8, 0));
  f.stats->gate.close();
  std::optional<httplib::Result> r1;
  std::thread t1([&] {
    r1 = f.client().Post("/v1/tag", json{{"image", base64_encode("1")}, {"model", "a"}}.dump(), "application/json");
  });
  while (f.stats->gate.waiting() == 0) std::this_thread::yield();  // 1 holds the compute thread
  // A raw client sends request 2, waits until it is queued, then hangs up.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(f.server->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string body = json{{"image", base64_encode("2")}, {"model", "a"}}.dump();
  const std::string req = "POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  while (f.scheduler->queue_depths()["a"] < 1) std::this_thread::yield();
  ::close(fd);
  // The handler notices within its poll interval and answers 499 (to nobody), counted.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.metrics.render({}).find("code=\"499\"") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(f.metrics.render({}).find("seer_requests_total{route=\"/v1/tag\",model=\"a\",code=\"499\"} 1"),
            std::string::npos)
      << f.metrics.render({});
  f.stats->gate.open();
  t1.join();
  ASSERT_TRUE(*r1);
  EXPECT_EQ((*r1)->status, 200);
  f.scheduler->drain();
  EXPECT_EQ(f.stats->requests.load(), 1) << "the abandoned request ran";
  EXPECT_EQ(f.scheduler->dropped_cancelled(), 1u);
  auto m = f.client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("seer_jobs_cancelled_total 1"), std::string::npos) << m->body;
}

TEST(ServerRoutes, ConcurrentClientsGetTheirOwnAnswersInSharedBatches) {
  ServerFixture f;
  f.dir.add_fake("a", "max_batch=8");
  f.start({}, testing::scheduler_options(256, 0));
  auto tag = [&](const std::string& s) {
    return f.client().Post("/v1/tag", json{{"image", base64_encode(s)}, {"model", "a"}}.dump(), "application/json");
  };
  f.stats->gate.close();
  std::vector<std::optional<httplib::Result>> results(17);
  std::vector<std::thread> clients;
  clients.emplace_back([&] { results[0] = tag("client0"); });
  while (f.stats->gate.waiting() == 0) std::this_thread::yield();  // the first batch runs (held)
  for (int i = 1; i < 17; ++i) clients.emplace_back([&, i] { results[i] = tag("client" + std::to_string(i)); });
  // 16 wait behind it, in the batcher (admission counts a job a moment before it gets there).
  while (f.scheduler->waiting("a") < 16) std::this_thread::yield();
  f.stats->gate.open();
  for (auto& t : clients) t.join();
  for (int i = 0; i < 17; ++i) {
    ASSERT_TRUE(results[i] && *results[i]);
    ASSERT_EQ((*results[i])->status, 200);
    EXPECT_EQ(body_of(*results[i])["text"], "fake:client" + std::to_string(i));
  }
  // 1 + 8 + 8: the queued requests ran in full batches.
  EXPECT_EQ(f.metrics.batches_at_least("a", 8), 2u);
  auto r = f.client().Get("/metrics");
  EXPECT_NE(r->body.find("seer_batch_size_bucket{model=\"a\",le=\"8\"} 3"), std::string::npos);
}

TEST(ServerRoutes, ApiKeyGuardsEverythingButHealth) {
  ServerFixture f;
  f.start(http_options("127.0.0.1", "s3cret"));
  auto cli = f.client();
  EXPECT_EQ(cli.Get("/health")->status, 200);
  auto r = cli.Get("/v1/models");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(body_of(r)["error"]["code"], "Unauthenticated");
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
  EXPECT_EQ(cli.Get("/v1/models", wrong)->status, 401);
  httplib::Headers right = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(cli.Get("/v1/models", right)->status, 200);
}

TEST(ServerRoutes, NonLoopbackBindNeedsAKeyOrInsecure) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.2"));
  ServerFixture f;
  MemoryLedger ledger;
  ModelFamilyRegistry fams;
  auto cat = ModelCatalog::open(testing::catalog_options(f.dir.models()), fams);
  ModelManager manager(ledger, **cat, fams, manager_options(DeviceId{}));
  Scheduler sched({});
  Metrics metrics;
  ServerContext ctx{ledger, **cat, manager, sched, metrics, {}};
  HttpServer open_bind(ctx, http_options("0.0.0.0", ""));
  Status s = open_bind.bind();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--api-key"), std::string::npos);
  HttpServer keyed(ctx, http_options("0.0.0.0", "k"));
  EXPECT_TRUE(keyed.bind().ok());
}

}  // namespace
}  // namespace seer
