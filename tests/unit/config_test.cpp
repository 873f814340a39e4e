#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/units.h"

namespace seer {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsWhenNothingIsGiven) {
  ConfigSources src;
  src.file = write_temp("seer_empty.json", "{}");
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  EXPECT_EQ(cfg->host, "127.0.0.1");
  EXPECT_EQ(cfg->port, 2020);
  EXPECT_EQ(cfg->keep_alive_s, 300);
  EXPECT_EQ(cfg->batch_delay_ms, 2);
  EXPECT_EQ(cfg->models_dir, default_models_dir());
}

TEST(Config, PrecedenceDefaultsFileEnvFlags) {
  ConfigSources src;
  src.file = write_temp("seer_prec.json",
                        R"({"port": 3000, "max_queue": 7, "keep_alive": "10m", "memory_budget": "2GiB", "host": "0.0.0.0"})");
  // file only
  auto a = load_config(src);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->port, 3000);
  EXPECT_EQ(a->max_queue, 7);
  EXPECT_EQ(a->keep_alive_s, 600);
  EXPECT_EQ(a->memory_budget, 2ull << 30);
  EXPECT_EQ(a->batch_delay_ms, 2);  // default survives

  // env beats file
  src.env = {{"SEER_PORT", "4000"}, {"SEER_KEEP_ALIVE", "-1"}, {"HOME_UNRELATED", "x"}};
  auto b = load_config(src);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(b->port, 4000);
  EXPECT_EQ(b->keep_alive_s, -1);
  EXPECT_EQ(b->max_queue, 7);  // file value where env is silent

  // flags beat env
  src.flags = {{"port", "5000"}, {"memory_budget", "512MiB"}};
  auto c = load_config(src);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->port, 5000);
  EXPECT_EQ(c->memory_budget, 512ull << 20);
  EXPECT_EQ(c->keep_alive_s, -1);
  EXPECT_EQ(c->host, "0.0.0.0");
}

TEST(Config, SeerConfigEnvNamesTheFile) {
  ConfigSources src;
  src.env = {{"SEER_CONFIG", write_temp("seer_envfile.json", R"({"threads": 3})")}};
  auto cfg = load_config(src);
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  EXPECT_EQ(cfg->threads, 3);
}

TEST(Config, ErrorsNameTheSource) {
  ConfigSources src;
  src.file = write_temp("seer_bad_key.json", R"({"prot": 1})");
  auto a = load_config(src);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("unknown setting 'prot'"), std::string::npos);

  src.file = write_temp("seer_ok.json", "{}");
  src.env = {{"SEER_PORT", "70000"}};
  auto b = load_config(src);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("SEER_PORT"), std::string::npos) << b.status().message();

  src.env.clear();
  src.flags = {{"precision", "fp8"}};
  auto c = load_config(src);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--precision"), std::string::npos) << c.status().message();

  src.flags.clear();
  src.file = write_temp("seer_not_json.json", "port = 3");
  EXPECT_EQ(load_config(src).status().code(), StatusCode::kInvalidArgument);
  src.file = ::testing::TempDir() + "/does/not/exist.json";
  EXPECT_EQ(load_config(src).status().code(), StatusCode::kNotFound);
}

TEST(Units, Bytes) {
  EXPECT_EQ(parse_bytes("4096").value(), 4096u);
  EXPECT_EQ(parse_bytes("12GiB").value(), 12ull << 30);
  EXPECT_EQ(parse_bytes("12gb").value(), 12ull << 30);
  EXPECT_EQ(parse_bytes("1.5G").value(), 3ull << 29);
  EXPECT_EQ(parse_bytes(" 512 MiB ").value(), 512ull << 20);
  EXPECT_EQ(parse_bytes("8k").value(), 8192u);
  EXPECT_FALSE(parse_bytes("lots").ok());
  EXPECT_FALSE(parse_bytes("12 parsecs").ok());
  EXPECT_FALSE(parse_bytes("-1G").ok());
}

TEST(Units, Durations) {
  EXPECT_EQ(parse_duration_seconds("5m").value(), 300);
  EXPECT_EQ(parse_duration_seconds("90s").value(), 90);
  EXPECT_EQ(parse_duration_seconds("90").value(), 90);
  EXPECT_EQ(parse_duration_seconds("2h").value(), 7200);
  EXPECT_EQ(parse_duration_seconds("250ms").value(), 1);
  EXPECT_EQ(parse_duration_seconds("0").value(), 0);
  EXPECT_EQ(parse_duration_seconds("-1").value(), -1);
  EXPECT_FALSE(parse_duration_seconds("5 fortnights").ok());
  EXPECT_FALSE(parse_duration_seconds("").ok());
}

}  // namespace
}  // namespace seer
