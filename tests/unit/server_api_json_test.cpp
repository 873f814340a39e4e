#include <gtest/gtest.h>

#include "core/base64.h"
#include "server/api_json.h"
#include "server/metrics.h"

namespace seer {
namespace {

using nlohmann::json;

TEST(ServerApiJson, BodyMustBeAJsonObject) {
  EXPECT_TRUE(parse_json_body("").ok());
  EXPECT_EQ(parse_json_body("{").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_json_body("[1]").status().code(), StatusCode::kInvalidArgument);
}

TEST(ServerApiJson, TagCallTakesImageOrImagesAndChecksThresholds) {
  ServerLimits limits;
  auto one = parse_tag_call(json{{"image", base64_encode("abc")}, {"general_threshold", 0.5}, {"mcut", true}}, limits);
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  EXPECT_TRUE(one->single);
  EXPECT_EQ(one->images[0], "abc");
  EXPECT_EQ(*one->params.general_threshold, 0.5);
  EXPECT_TRUE(*one->params.mcut);
  EXPECT_FALSE(one->params.character_threshold.has_value());
  EXPECT_EQ(parse_tag_call(json{{"image", "YQ=="}, {"images", {"YQ=="}}}, limits).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_tag_call(json{{"image", "YQ=="}, {"general_threshold", 2}}, limits).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_tag_call(json{{"image", 5}}, limits).status().code(), StatusCode::kInvalidArgument);
  limits.max_image_bytes = 2;
  EXPECT_EQ(parse_tag_call(json{{"image", base64_encode("abcdefgh")}}, limits).status().code(),
            StatusCode::kPayloadTooLarge);
  limits.max_image_bytes = 1 << 20;
  limits.max_images = 1;
  EXPECT_EQ(parse_tag_call(json{{"images", {"YQ==", "YQ=="}}}, limits).status().code(), StatusCode::kPayloadTooLarge);
}

TEST(ServerApiJson, ChatTakesTheLastUserMessage) {
  json body = {{"messages",
                {{{"role", "user"}, {"content", "old"}},
                 {{"role", "assistant"}, {"content", "x"}},
                 {{"role", "user"},
                  {"content",
                   {{{"type", "text"}, {"text", "what is this"}},
                    {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + base64_encode("img")}}}}}}}}},
               {"stream", true}};
  auto c = parse_chat_call(body, ServerLimits{});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->text, "what is this");
  EXPECT_EQ(*c->image, "img");
  EXPECT_TRUE(c->stream);
  EXPECT_EQ(parse_chat_call(json{{"messages", json::array()}}, ServerLimits{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ServerApiJson, TagRecordKeepsScoreOrder) {
  TagOutput t;
  t.general = {{"zebra", 0.9f}, {"apple", 0.5f}};
  t.text = "zebra, apple";
  const std::string s = tag_record(t).dump();
  EXPECT_LT(s.find("zebra"), s.find("apple"));
  EXPECT_EQ(error_body(Status::not_found("x")).dump(), R"({"error":{"code":"NotFound","message":"x"}})");
  EXPECT_EQ(text_stats("a b  c", 2.0)["tokens"], 3);
}

TEST(ServerMetrics, RendersPrometheusText) {
  Metrics m;
  m.observe_request("/v1/tag", "wd\"14", 200, 0.003);
  m.observe_batch("wd", 4, 10);
  m.observe_batch("wd", 1, 10);
  MetricsGauges g;
  g.queue_depth["wd"] = 3;
  g.ghost_bytes = 42;
  const std::string text = m.render(g);
  EXPECT_NE(text.find("seer_requests_total{route=\"/v1/tag\",model=\"wd\\\"14\",code=\"200\"} 1"), std::string::npos);
  EXPECT_NE(text.find("seer_request_duration_seconds_bucket{route=\"/v1/tag\",model=\"wd\\\"14\",le=\"0.005\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("seer_batch_size_bucket{model=\"wd\",le=\"2\"} 1"), std::string::npos);
  EXPECT_NE(text.find("seer_batch_size_bucket{model=\"wd\",le=\"4\"} 2"), std::string::npos);
  EXPECT_NE(text.find("seer_queue_depth{model=\"wd\"} 3"), std::string::npos);
  EXPECT_NE(text.find("seer_ghost_bytes 42"), std::string::npos);
  EXPECT_EQ(m.batches_at_least("wd", 2), 1u);
}

}  // namespace
}  // namespace seer
