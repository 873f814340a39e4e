// End to end: the status page (web/, embedded in the binary) served by the real `seer serve`
// and rendered by headless Chromium (Debian's `chromium`, deps/debian.txt) with --dump-dom.
// The DOM must show what /v1/status says: the loaded model and its state, its ledger bytes per
// tag (exactly), the ledger total and budget, and the process RSS (within 16 MiB of what the
// kernel reports in /proc/PID/statm, read here). With --api-key, the page itself is public,
// the data routes answer 401 without the key, the page asks for the key, and with the key
// (given as /#key=..., which the page moves to sessionStorage) it shows the models. The Load
// and Unload buttons, clicked through the DevTools protocol, change the server's state.
//
// The page's figures are read from its data-bytes / data-state attributes (exact values; the
// visible text is rounded).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "e2e/headless_chromium.h"
#include "test_util/serve_process.h"
#include "test_util/temp_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using seer::test::kSeerSource;
using seer::test::read_file;
const char* kModel = "tagger-tiny";

// The start tags of a serialized DOM, each as its attribute map (plus "<tag>" = the tag name).
// Enough for the page's own markup, whose attribute values never contain '>'.
using Element = std::map<std::string, std::string>;
std::vector<Element> elements(const std::string& html) {
  static const std::regex tag_re(R"(<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^>]*)?)>)");
  static const std::regex attr_re(R"re(([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?)re");
  std::vector<Element> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag_re);
       it != std::sregex_iterator(); ++it) {
    Element e;
    e["<tag>"] = (*it)[1];
    const std::string attrs = (*it)[2];
    for (auto a = std::sregex_iterator(attrs.begin(), attrs.end(), attr_re);
         a != std::sregex_iterator(); ++a) {
      e[(*a)[1]] = (*a)[2];
    }
    out.push_back(std::move(e));
  }
  return out;
}

// The first element whose attributes include all of `want`.
std::optional<Element> find_element(const std::vector<Element>& all, const Element& want) {
  for (const Element& e : all) {
    bool ok = true;
    for (const auto& [k, v] : want) {
      auto it = e.find(k);
      if (it == e.end() || it->second != v) {
        ok = false;
        break;
      }
    }
    if (ok) return e;
  }
  return std::nullopt;
}

uint64_t bytes_of(const std::optional<Element>& e) {
  if (!e || !e->count("data-bytes")) return UINT64_MAX;
  return std::stoull(e->at("data-bytes"));
}

// A `seer serve` on a free loopback port over a temporary models dir holding the tiny tagger.
class StatusPage : public ::testing::Test {
 protected:
  void start(const std::string& api_key = "") {
    seer::test::copy_fixture_model("tagger-tiny", tmp_.path() / "models", kModel);
    std::vector<std::string> args = {"--models-dir", (tmp_.path() / "models").string()};
    if (!api_key.empty()) args.insert(args.end(), {"--api-key", api_key});
    ASSERT_TRUE(serve_.start(tmp_.path(), args)) << "seer serve did not come up:\n" << serve_.log();
    port_ = serve_.port();
    client_ = std::make_unique<httplib::Client>(serve_.client());
    if (!api_key.empty()) client_->set_bearer_token_auth(api_key);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // The page after Chromium ran its script for 5 s of virtual time (several polls).
  std::string render(const std::string& path) {
    EXPECT_TRUE(seer::test::find_chromium())
        << "no chromium on PATH: install deps/debian.txt (scripts/deps.sh)";
    const fs::path profile = tmp_.path() / ("chrome-" + std::to_string(++renders_));
    const fs::path log = tmp_.path() / "chromium.log";
    auto dom = seer::test::dump_dom(url(path), profile, log);
    EXPECT_TRUE(dom) << "chromium failed; stderr:\n" << read_file(log);
    return dom.value_or("");
  }

  json get_json(const std::string& path) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  // RSS of the server as the kernel reports it (statm's second field, in pages).
  uint64_t kernel_rss_bytes() const {
    std::ifstream in("/proc/" + std::to_string(serve_.pid()) + "/statm");
    uint64_t size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  }

  seer::test::TempDir tmp_{"seer-status-page"};
  seer::test::ServeProcess serve_;
  int port_ = 0;
  int renders_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

void expect_page_headers(const httplib::Result& r, const std::string& type,
                         const std::string& what) {
  ASSERT_TRUE(r) << what;
  EXPECT_EQ(r->status, 200) << what;
  EXPECT_EQ(r->get_header_value("Content-Type"), type) << what;
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache") << what;
  const std::string csp = r->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << what << ": " << csp;
  EXPECT_EQ(csp.find("http"), std::string::npos) << what << ": no other origin allowed: " << csp;
}

TEST_F(StatusPage, ServesEmbeddedFilesAndRendersTheLedger) {
  ASSERT_NO_FATAL_FAILURE(start());

  // The embedded files are byte-identical to web/, with their types and the page headers.
  const std::string index = read_file(kSeerSource / "web/index.html");
  for (const char* path : {"/", "/status"}) {
    auto r = client_->Get(path);
    expect_page_headers(r, "text/html; charset=utf-8", path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, index) << path;
  }
  auto js = client_->Get("/web/status.js");
  expect_page_headers(js, "text/javascript; charset=utf-8", "status.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->body, read_file(kSeerSource / "web/status.js"));
  auto css = client_->Get("/web/status.css");
  expect_page_headers(css, "text/css; charset=utf-8", "status.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->body, read_file(kSeerSource / "web/status.css"));
  auto missing = client_->Get("/web/nope.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  // The page references only its own origin (it must work offline).
  for (const std::string& body : {index, js->body, css->body}) {
    EXPECT_EQ(body.find("http://"), std::string::npos);
    EXPECT_EQ(body.find("https://"), std::string::npos);
  }

  auto load = client_->Post("/v1/models/load", json{{"model", kModel}}.dump(), "application/json");
  ASSERT_TRUE(load);
  ASSERT_EQ(load->status, 200) << load->body;
  const json before = get_json("/v1/status");

  const std::string dom = render("/");
  ASSERT_FALSE(dom.empty());
  const uint64_t rss_after = kernel_rss_bytes();
  const json status = get_json("/v1/status");
  // Idle server: the ledger did not move while the page polled, so the page saw these bytes.
  ASSERT_EQ(before.at("ledger"), status.at("ledger"));

  const auto all = elements(dom);
  const auto body = find_element(all, {{"<tag>", "body"}});
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("data-state"), "ready") << dom;

  // The model, its state, and an unload button.
  const auto row = find_element(all, {{"<tag>", "tr"}, {"data-model", kModel}});
  ASSERT_TRUE(row) << dom;
  EXPECT_EQ(row->at("data-state"), "ready");
  EXPECT_NE(dom.find(std::string("data-field=\"id\">") + kModel + "</td>"), std::string::npos)
      << dom;
  EXPECT_TRUE(
      find_element(all, {{"<tag>", "button"}, {"data-action", "unload"}, {"data-model", kModel}}))
      << dom;

  // Ledger by tag for the model: exactly what /v1/status reports.
  const json& ledger = status.at("ledger").at(kModel);
  ASSERT_FALSE(ledger.empty());
  uint64_t model_total = 0;
  for (const auto& [tag, bytes] : ledger.items()) {
    const auto cell =
        find_element(all, {{"<tag>", "td"}, {"data-owner", kModel}, {"data-tag", tag}});
    EXPECT_EQ(bytes_of(cell), bytes.get<uint64_t>()) << tag;
    model_total += bytes.get<uint64_t>();
  }
  EXPECT_GT(model_total, 0u);
  EXPECT_EQ(
      bytes_of(find_element(all, {{"<tag>", "td"}, {"data-owner", kModel}, {"data-tag", "total"}})),
      model_total);
  EXPECT_EQ(bytes_of(find_element(all, {{"id", "ledger-total"}})),
            status.at("ledger_total_bytes").get<uint64_t>());

  // The device budget.
  const json& dev = status.at("devices").at(0);
  const std::string dev_id = dev.at("id").get<std::string>();
  EXPECT_EQ(bytes_of(find_element(
                all, {{"<tag>", "td"}, {"data-device", dev_id}, {"data-field", "budget"}})),
            dev.at("budget_bytes").get<uint64_t>())
      << dom;

  // RSS: a recent reading of the same process (the kernel's figure moves a little between polls).
  const uint64_t rss_page = bytes_of(find_element(all, {{"id", "rss"}}));
  ASSERT_NE(rss_page, UINT64_MAX) << dom;
  EXPECT_GT(rss_page, model_total / 2);
  const uint64_t diff = rss_page > rss_after ? rss_page - rss_after : rss_after - rss_page;
  EXPECT_LE(diff, 16ull << 20) << "page RSS " << rss_page << " vs /proc " << rss_after;

  // Ghost memory under the threshold: no banner.
  const auto banner = find_element(all, {{"id", "ghost-banner"}});
  ASSERT_TRUE(banner);
  if (status.at("ghost").at("bytes").get<uint64_t>() <=
      status.at("ghost").at("threshold_bytes").get<uint64_t>()) {
    EXPECT_TRUE(banner->count("hidden")) << dom;
  }
}

TEST_F(StatusPage, WithApiKeyThePageIsPublicAndTheDataIsNot) {
  const std::string key = "s3cret-key";
  ASSERT_NO_FATAL_FAILURE(start(key));

  httplib::Client anon("127.0.0.1", port_);
  for (const char* path :
       {"/", "/status", "/web/status.js", "/web/status.css", "/web/favicon.svg"}) {
    auto r = anon.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
  }
  for (const char* path : {"/v1/status", "/v1/models", "/metrics"}) {
    auto r = anon.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
  }
  auto r = anon.Post("/v1/models/load", json{{"model", kModel}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(get_json("/v1/status").at("server"), "seer");  // with the key (client_ sends it)

  // Without a key the page asks for one and shows no data.
  std::string dom = render("/");
  ASSERT_FALSE(dom.empty());
  auto all = elements(dom);
  ASSERT_TRUE(find_element(all, {{"<tag>", "body"}}));
  EXPECT_EQ(find_element(all, {{"<tag>", "body"}})->at("data-state"), "auth") << dom;
  const auto form = find_element(all, {{"id", "auth"}});
  ASSERT_TRUE(form);
  EXPECT_FALSE(form->count("hidden")) << dom;
  EXPECT_FALSE(find_element(all, {{"<tag>", "tr"}, {"data-model", kModel}})) << dom;

  // With the key (fragment -> sessionStorage -> Bearer) it shows the catalog.
  dom = render("/#key=" + key);
  all = elements(dom);
  ASSERT_TRUE(find_element(all, {{"<tag>", "body"}}));
  EXPECT_EQ(find_element(all, {{"<tag>", "body"}})->at("data-state"), "ready") << dom;
  const auto row = find_element(all, {{"<tag>", "tr"}, {"data-model", kModel}});
  ASSERT_TRUE(row) << dom;
  EXPECT_EQ(row->at("data-state"), "unloaded");
  EXPECT_TRUE(
      find_element(all, {{"<tag>", "button"}, {"data-action", "load"}, {"data-model", kModel}}))
      << dom;
  EXPECT_TRUE(find_element(all, {{"id", "auth"}, {"hidden", ""}})) << dom;
}

// The Load and Unload buttons, clicked in a live page (DevTools protocol over a pipe): the
// server's model state follows, and the page shows the new state and the ledger bytes.
TEST_F(StatusPage, LoadAndUnloadButtonsDriveTheServer) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(seer::test::find_chromium())
      << "no chromium on PATH: install deps/debian.txt (scripts/deps.sh)";
  seer::test::CdpSession page;
  ASSERT_TRUE(page.start(url("/"), tmp_.path() / "chrome-cdp", tmp_.path() / "chromium.log"))
      << page.error() << "\n"
      << read_file(tmp_.path() / "chromium.log");

  // Waits (in the page) until `cond` holds, then returns `value`; rejects after 30 s.
  const auto wait_for = [&](const std::string& cond, const std::string& value) {
    return page.evaluate(
        "new Promise((resolve, reject) => { const t0 = Date.now(); (function f() {"
        " try { if (" +
        cond + ") return resolve(" + value +
        "); } catch (e) {}"
        " if (Date.now() - t0 > 30000) return reject(new Error('timed out: ' + " +
        json(cond).dump() + ")); setTimeout(f, 50); })(); })");
  };
  const std::string row =
      std::string("document.querySelector('tr[data-model=\"") + kModel + "\"]')";
  const std::string button =
      std::string("document.querySelector('button[data-model=\"") + kModel + "\"]')";

  auto v = wait_for(
      row + ".dataset.state === 'unloaded' && " + button + ".dataset.action === 'load'", "true");
  ASSERT_TRUE(v) << page.error();
  ASSERT_TRUE(page.evaluate(button + ".click(), true")) << page.error();
  v = wait_for(row + ".dataset.state === 'ready'",
               std::string("Number(document.querySelector('td[data-owner=\"") + kModel +
                   "\"][data-tag=\"total\"]').dataset.bytes)");
  ASSERT_TRUE(v) << page.error();
  json status = get_json("/v1/status");
  ASSERT_EQ(status.at("loaded").size(), 1u) << status.dump();
  EXPECT_EQ(status.at("loaded").at(0).at("id"), kModel);
  uint64_t model_total = 0;
  for (const auto& [tag, bytes] : status.at("ledger").at(kModel).items())
    model_total += bytes.get<uint64_t>();
  EXPECT_EQ(v->get<uint64_t>(), model_total);

  ASSERT_TRUE(wait_for(button + ".dataset.action === 'unload' && !" + button + ".disabled", "true"))
      << page.error();
  ASSERT_TRUE(page.evaluate(button + ".click(), true")) << page.error();
  ASSERT_TRUE(
      wait_for(row + ".dataset.state === 'unloaded' && !document.querySelector('tr[data-owner=\"" +
                   std::string(kModel) + "\"]')",
               "true"))
      << page.error();
  status = get_json("/v1/status");
  EXPECT_TRUE(status.at("loaded").empty()) << status.dump();
  EXPECT_FALSE(status.at("ledger").contains(kModel)) << status.dump();
}

}  // namespace
